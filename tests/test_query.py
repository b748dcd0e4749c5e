"""The filter query language (core.query) over real session records: session
directories listed and measured by the dirs backend, JSON records in files, KV
records in the shared memory store, and tmux sessions on a private server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config.records import SessionSpec
from core.dirs.backend import DirsBackend
from core.errors import UsageError
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager as JsonManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager as KvManager
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import Facts, Session, SessionRef, SizeInfo, State
from core.query import FIELDS, Query, QueryError, combine, parse_query, parse_size
from tests.helpers import (
    DEAD_PID,
    ManualClock,
    dirs_config,
    live_process,
    make_session,
    unique,
    wait_for,
)
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture


def now() -> datetime:
    return datetime.now().astimezone()


def names(query: str, sessions: list[Session]) -> list[str]:
    return [s.name for s in parse_query(query).filter(sessions, now())]


def error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    return info.value


def underlined(query: str) -> str:
    """The part of the query the error points at."""
    e = error(query)
    return query[e.position : e.position + e.length]


# --- real records -------------------------------------------------------------------


def dirs_sessions(base: Path) -> dict[str, Session]:
    """Three session dirs, listed and measured by the real backend:
    old (12 days, 3 MiB of logs), fresh (1 hour, small), live (active, pid alive)."""
    old = make_session(
        base,
        age=timedelta(days=12),
        files={"logs/build.log": b"x" * (3 * 1024 * 1024)},
    )
    fresh = make_session(base, age=timedelta(hours=1), files={"logs/app.log": "hi\n"})
    proc = live_process()
    try:
        live = make_session(base, pid=proc.pid)
        backend = DirsBackend(dirs_config(base))
        listed = {s.id: s for s in backend.list_sessions()}
        sizes = dict(backend.measure(list(listed)))
    finally:
        proc.kill()
        proc.wait()
    by_path = {str(old): "old", str(fresh): "fresh", str(live): "live"}
    out: dict[str, Session] = {}
    for sid, s in listed.items():
        assert s.path is not None
        out[by_path[s.path]] = s.with_size(sizes[sid])
    assert out["live"].state is State.ACTIVE and out["old"].state is State.IDLE
    return out


@pytest.fixture
def runs(tmp_path: Path) -> list[Session]:
    found = dirs_sessions(tmp_path / "runs")
    return [found["old"], found["fresh"], found["live"]]


def kv_sessions() -> list[Session]:
    """Two KV records in the memory store: one with 5 minutes to live, one with 2 hours."""
    name = f"web-{unique()}"
    stores = MemoryStores()
    mgr = KvManager("app", provider=stores.provider(name))

    async def fill() -> None:
        await mgr.allocate_session(
            user_id="ann", ttl_hours=5 / 60, custom_metadata={"tier": "free"}
        )
        await mgr.allocate_session(user_id="bob", ttl_hours=2, custom_metadata={"tier": "pro"})

    asyncio.run(fill())
    backend = KvBackend(KvBackendConfig(name=name, kind="kv", provider="memory"), stores=stores)
    return backend.list_sessions()


def json_sessions(base: Path) -> list[Session]:
    store = FileSessionStore(base)
    mgr = JsonManager(store)
    mgr.start_session("alpha", "agent-1", metadata={"topic": "billing"}, session_id="chat-1")
    mgr.start_session(None, "agent-2", metadata={"topic": "my run"}, session_id="chat-2")
    mgr.end_session("chat-2")
    return JsonBackend(JsonBackendConfig(name="agents", kind="json", base=base)).list_sessions()


# --- bare words: today's filter -----------------------------------------------------


def test_empty_query_matches_everything(runs: list[Session]) -> None:
    for text in ("", "   ", "\t"):
        q = parse_query(text)
        assert q.is_empty and q.describe() == "everything"
        assert len(q.filter(runs, now())) == 3
        assert all(q.matches(s, now()) for s in runs)


def test_bare_words_are_case_insensitive_substrings_all_required(runs: list[Session]) -> None:
    old, fresh, live = runs
    assert names("RUNS", runs) == [old.name, fresh.name, live.name]  # backend
    assert names("dirs idle", runs) == [old.name, fresh.name]  # kind + state
    assert names(old.id[-12:], runs) == [old.name]  # id
    assert names(f"{fresh.path}", runs) == [fresh.name]  # path
    assert names("active", runs) == [live.name]
    assert names("-idle", runs) == [live.name]  # negated word
    assert names("!idle", runs) == [live.name]
    assert names("idle nothing-like-this", runs) == []


def test_a_bare_word_never_matches_across_two_fields(runs: list[Session]) -> None:
    # "dirs" ends the kind and a name starts with "session_": no match for both at once
    assert names("dirssession", runs) == []
    assert names('"dirs session"', runs) == []


# --- equality, globs, alternatives, regex --------------------------------------------


def test_equality_alternatives_and_globs(runs: list[Session]) -> None:
    old, fresh, live = runs
    assert names("state:idle", runs) == [old.name, fresh.name]
    assert names("state:IDLE,active", runs) == [old.name, fresh.name, live.name]
    assert names("state=active", runs) == [live.name]
    assert names("state!=active", runs) == [old.name, fresh.name]
    assert names("backend:runs kind:dirs", runs) == [old.name, fresh.name, live.name]
    assert names("backend:run", runs) == []  # equality is the whole value
    assert names("backend:r*", runs) == [old.name, fresh.name, live.name]
    assert names("backend:r?ns", runs) == [old.name, fresh.name, live.name]
    assert names("id:SESSION_*", runs) == [old.name, fresh.name, live.name]
    assert names(f"name:{old.name[:10]}*,{fresh.name}", runs) == [old.name, fresh.name]
    assert names(f"id:{fresh.id.upper()}", runs) == [fresh.name]
    assert names("state:*ed", runs) == []  # globs over states are fine when one matches


def test_regex_terms(runs: list[Session]) -> None:
    old, fresh, live = runs
    pid_part = str(live.pid)
    assert names(f"id~_{pid_part}_", runs) == [live.name]
    assert names("state~^(idle|act)", runs) == [old.name, fresh.name, live.name]
    assert names("state~^ID", runs) == [old.name, fresh.name]  # case-insensitive
    assert names("state!~idle", runs) == [live.name]
    assert names("-state~idle", runs) == [live.name]


def test_negation_prefix_on_any_term(runs: list[Session]) -> None:
    _, fresh, live = runs
    assert names("-state:idle", runs) == [live.name]
    assert names("!age>7d", runs) == [fresh.name, live.name]
    assert names("-size>1M", runs) == [fresh.name, live.name]


# --- numbers: age, active/idle, size, pid --------------------------------------------


def test_age_and_activity(runs: list[Session]) -> None:
    old, fresh, live = runs
    assert names("age>7d", runs) == [old.name]
    assert names("age<2h", runs) == [fresh.name, live.name]
    assert names("age>=30m age<=1d", runs) == [fresh.name]
    assert names("age>1h30m", runs) == [old.name]
    assert names("idle>7d", runs) == [old.name]  # last activity = the newest file's mtime
    assert names("active<2h", runs) == [fresh.name, live.name]


def test_size_with_units(runs: list[Session]) -> None:
    old, fresh, live = runs
    assert names("size>1M", runs) == [old.name]
    assert names("size>2MiB size<4MB", runs) == [old.name]
    assert names("size<=100KiB", runs) == [fresh.name, live.name]
    assert names("size>0.5G", runs) == []


# --- boundaries: >= and <= take the limit itself, > and < do not ---------------------


@pytest.mark.parametrize("micro", [0, 123457], ids=["whole-second", "microseconds"])
def test_time_comparisons_at_the_exact_boundary(micro: int) -> None:
    """A KV record made and listed on the test's clock: its age, idle time and
    TTL are exact, so the query is checked at the limit and one second off."""
    clock = ManualClock(datetime(2026, 11, 21, 12, 0, 0, micro, tzinfo=UTC))
    name = f"edge-{unique()}"
    stores = MemoryStores()
    mgr = KvManager("app", provider=stores.provider(name, clock=clock), clock=clock)
    asyncio.run(mgr.allocate_session("ann", ttl_hours=2))
    backend = KvBackend(
        KvBackendConfig(name=name, kind="kv", provider="memory"), clock=clock, stores=stores
    )
    [s] = backend.list_sessions()
    created = clock.now
    assert s.created == s.last_active == created
    assert s.expires == created + timedelta(hours=2)

    def at(query: str, moment: datetime) -> bool:
        return parse_query(query).matches(s, moment)

    second = timedelta(seconds=1)
    week = created + timedelta(days=7)
    for field in ("age", "idle", "active"):
        assert at(f"{field}>=7d", week) and not at(f"{field}>=7d", week - second)
        assert at(f"{field}<=7d", week) and not at(f"{field}<=7d", week + second)
        assert not at(f"{field}>7d", week) and at(f"{field}>7d", week + second)
        assert not at(f"{field}<7d", week) and at(f"{field}<7d", week - second)
    # ttl counts down: 2h left at `created`
    assert at("ttl>=2h", created) and not at("ttl>=2h", created + second)
    assert at("ttl<=2h", created) and not at("ttl<=2h", created - second)
    assert not at("ttl>2h", created) and at("ttl>2h", created - second)
    assert not at("ttl<2h", created) and at("ttl<2h", created + second)


def test_size_comparisons_at_the_exact_boundary(runs: list[Session]) -> None:
    # records of exactly 1023, 1024 and 1025 bytes on disk: 1K is 1024
    def sized(n: int) -> Session:
        return Session(
            SessionRef("runs", f"s{n}"), f"s{n}", "dirs", State.IDLE, size=SizeInfo(n, n)
        )

    edge = [sized(1023), sized(1024), sized(1025)]
    assert names("size>=1K", edge) == ["s1024", "s1025"]
    assert names("size<=1K", edge) == ["s1023", "s1024"]
    assert names("size>1K", edge) == ["s1025"]
    assert names("size<1K", edge) == ["s1023"]
    assert names("size>=1024 size<=1024", edge) == ["s1024"]
    # and real directories at their measured disk usage
    for s in runs:
        assert s.size is not None
        disk = s.size.disk
        assert s.name in names(f"size>={disk}", runs)
        assert s.name not in names(f"size>={disk + 1}", runs)
        assert s.name in names(f"size<={disk}", runs)
        assert s.name not in names(f"size<={disk - 1}", runs)


def test_unmeasured_or_missing_values_never_match_comparisons(runs: list[Session]) -> None:
    unmeasured = Session(
        SessionRef("runs", "x"), "x", "dirs", State.IDLE, created=None, last_active=None
    )
    for text in ("size>0", "size<1G", "age>0s", "age<100d", "idle>0s", "ttl<1d", "pid>0"):
        assert not parse_query(text).matches(unmeasured, now()), text
        assert parse_query(f"-{text}").matches(unmeasured, now()), text
    assert parse_query("size:none age:none ttl:none").matches(unmeasured, now())
    assert names("ttl:none", runs) == [s.name for s in runs]  # dirs have no TTL
    assert names("-size:none", runs) == [s.name for s in runs]


def test_pid_equality_and_comparison(runs: list[Session]) -> None:
    live = runs[2]
    assert live.pid is not None
    assert names(f"pid:{live.pid}", runs) == [live.name]
    assert names(f"pid:1,{live.pid}", runs) == [live.name]
    # the others carry the (dead) pid of their name
    assert names(f"pid:{DEAD_PID}", runs) == [runs[0].name, runs[1].name]
    assert names(f"pid<{DEAD_PID} pid>={live.pid}", runs) == [live.name]
    assert names("pid<1", runs) == []


def test_parse_size_units_are_binary() -> None:
    assert parse_size("10") == 10
    assert parse_size("10b") == 10
    assert parse_size("10k") == 10 * 1024
    assert parse_size("1.5M") == 1536 * 1024
    assert parse_size("1G") == parse_size("1GB") == parse_size("1GiB") == 1024**3
    assert parse_size("2 GiB") == 2 * 1024**3
    assert parse_size("1T") == 1024**4
    with pytest.raises(UsageError, match="not a size"):
        parse_size("1X")


# --- TTLs and metadata (KV, JSON) ------------------------------------------------------


def test_kv_ttl_and_metadata() -> None:
    sessions = kv_sessions()
    ann = next(s for s in sessions if s.metadata["user"] == "ann")
    bob = next(s for s in sessions if s.metadata["user"] == "bob")
    assert names("kind:kv ttl<10m", sessions) == [ann.name]
    assert names("ttl>1h", sessions) == [bob.name]
    assert sorted(names("-ttl:none", sessions)) == sorted([ann.name, bob.name])
    # custom metadata is stored as "meta.tier"; both spellings find it
    assert names("meta.tier:pro", sessions) == [bob.name]
    assert names("meta.meta.tier:pro", sessions) == [bob.name]
    assert names("label.tier:FREE", sessions) == [ann.name]
    # plain metadata keys of the backend
    assert names("meta.user:ann,bob meta.sandbox:app", sessions) == [s.name for s in sessions]
    assert names("meta.nosuchkey:*", sessions) == []
    assert names("-meta.nosuchkey:*", sessions) == [s.name for s in sessions]


def test_an_expired_ttl_counts_as_below_any_limit() -> None:
    t0 = now()
    gone = Session(
        SessionRef("web", "s"), "s", "kv", State.EXPIRED, expires=t0 - timedelta(minutes=1)
    )
    assert parse_query("ttl<1s").matches(gone, t0)
    assert not parse_query("ttl>0s").matches(gone, t0)


def test_json_metadata_quotes_and_numbers(tmp_path: Path) -> None:
    sessions = json_sessions(tmp_path / "agents")
    assert sorted(names("kind:json", sessions)) == ["chat-1", "chat-2"]
    assert names("meta.workspace:alpha", sessions) == ["chat-1"]
    assert names("meta.topic:billing", sessions) == ["chat-1"]
    assert names('meta.topic:"my run"', sessions) == ["chat-2"]
    assert names("meta.topic:'MY RUN'", sessions) == ["chat-2"]
    assert names('"agent-2"', sessions) == ["chat-2"]  # quoted bare word (info)
    assert names("state:ended", sessions) == ["chat-2"]
    assert sorted(names("meta.turns<1", sessions)) == ["chat-1", "chat-2"]
    assert names("meta.turns>=1", sessions) == []
    assert names("meta.topic>1", sessions) == []  # text never compares as a number


def test_a_quoted_value_keeps_its_commas() -> None:
    s = Session(SessionRef("a", "1"), "1", "json", State.ACTIVE, metadata={"meta.tags": "a,b"})
    assert parse_query('meta.tags:"a,b"').matches(s, now())
    assert not parse_query("meta.tags:a,b").matches(s, now())  # a or b: neither equals "a,b"
    assert parse_query("meta.tags~a,b").matches(s, now())


# --- tmux: attached ---------------------------------------------------------------------


@pytest.mark.tmux
def test_attached_follows_the_tmux_clients(tmux_server: TmuxServer, tmp_path: Path) -> None:
    backend = tmux_server.backend()
    for name in ("watched", "alone"):
        backend.start(SessionSpec(name=name, backend="tm", command=("sleep", "600")))
    dirs = dirs_sessions(tmp_path / "runs")
    with tmux_server.control_client("watched"):
        wait_for(lambda: backend.get("watched").metadata["clients"] == "1", what="a client")
        sessions = [*backend.list_sessions(), dirs["old"]]
        assert names("attached:yes", sessions) == ["watched"]
        assert names("attached:true kind:tmux", sessions) == ["watched"]
        assert sorted(names("attached:no", sessions)) == sorted(["alone", dirs["old"].name])
        assert names("kind:tmux attached:no", sessions) == ["alone"]
        assert names("kind:tmux -attached:yes", sessions) == ["alone"]


def test_attached_reads_the_clients_fact_not_metadata() -> None:
    def pane(name: str, kind: str, **kw: object) -> Session:
        return Session(SessionRef("b", name), name, kind, State.RUNNING, **kw)  # type: ignore[arg-type]

    sessions = [
        pane("two", "tmux", facts=Facts(clients=2)),
        pane("none", "tmux", facts=Facts(clients=0)),
        pane("other-kind", "screen", facts=Facts(clients=1)),
        pane("text-only", "tmux", metadata={"clients": "3"}),  # free text, not a fact
    ]
    assert names("attached:yes", sessions) == ["two", "other-kind"]
    assert names("attached:no", sessions) == ["none", "text-only"]


# --- errors with positions ----------------------------------------------------------------


def test_unknown_field_lists_the_known_ones() -> None:
    e = error("state:idle nam:build")
    assert (e.position, e.length) == (11, 3)
    assert "unknown field 'nam'" in e.message and "did you mean 'name'" in e.message
    for f in ("backend", "kind", "name", "age", "ttl", "size", "attached", "meta.KEY"):
        assert f in e.message
    assert isinstance(e, UsageError) and e.exit_code == 2
    assert set(FIELDS) >= {"backend", "kind", "name", "id", "state", "path", "info", "age"}


def test_error_positions_point_at_the_mistake() -> None:
    assert underlined("state:idel") == "idel"
    assert underlined("state:idle,nope") == "nope"
    assert underlined("state:z*") == "z*"
    assert underlined("kind:kv ttl<10x") == "10x"
    assert underlined("size>1Q") == "1Q"
    assert underlined("age:7d") == ":"  # age compares
    assert underlined("name>3") == ">"  # name is text
    assert underlined("attached:maybe") == "maybe"
    assert underlined("pid:12a") == "12a"
    assert underlined("meta.x>big") == "big"
    assert underlined("x meta.:y") == "meta."
    assert error("state:idle,").position == 11  # the empty alternative
    assert error("name: x").position == 4  # ':' needs the value right after it
    assert error("a -").position == 2
    assert error('name:"open').position == 5  # the quote that is never closed
    assert error('"a"b').position == 3  # text glued to the closing quote


def test_a_time_without_a_unit_is_an_error_that_suggests_one() -> None:
    # `age>7` used to mean seven seconds, silently; now it asks which unit
    for text, number in (("age>7", "7"), ("active<=30", "30"), ("ttl<2.5", "2.5")):
        e = error(text)
        assert f"write e.g. {number}d (days)" in e.message
        assert underlined(text) == number
    assert parse_query("age>7d") is not None and parse_query("ttl<90s") is not None


def test_bad_regex_points_into_the_pattern() -> None:
    e = error("kind:tmux name~ab(c")
    assert e.message.startswith("bad regular expression")
    assert e.position == len("kind:tmux name~ab")
    e = error('name~"x[y"')
    assert e.position == len('name~"x')


def test_caret_line_renders_under_the_position() -> None:
    text = "backend:runs agee>7d"
    e = error(text)
    lines = e.caret_line(indent="  ").splitlines()
    assert lines[0] == "  backend:runs agee>7d"
    assert lines[1].startswith("               ^^^^ unknown field 'agee'")
    assert e.caret_line(with_message=False).splitlines()[1] == "             ^^^^"
    assert e.title == "Bad query" and e.query == text


# --- the Query object ----------------------------------------------------------------


def test_fields_uses_without_and_combine(runs: list[Session]) -> None:
    old = runs[0]
    q = parse_query("state:idle size>1M label.topic:x word")
    assert q.fields == {"state", "size", "meta.topic", ""}
    assert q.uses("size") and not q.uses("age")
    loose = q.without("size", "meta.topic", "")
    assert loose.fields == {"state"} and loose.text == q.text
    both = combine(parse_query("state:idle"), parse_query(""), parse_query("size>1M"))
    assert both.text == "state:idle size>1M"
    assert [t.start for t in both.terms] == [0, 11]
    assert both.filter(runs, now()) == [old]
    assert combine().is_empty
    assert str(both) == both.text


def test_describe_says_it_in_words() -> None:
    q = parse_query("backend:runs state:idle,stopped -name~tmp age>7d foo")
    assert q.describe() == (
        "contains 'foo' and backend is runs and state is idle or stopped and "
        "not (name matches /tmp/) and age > 7d"
    )


def test_ten_thousand_sessions_filter_with_one_compile() -> None:
    base = now()
    sessions = [
        Session(
            SessionRef("runs", f"s{i}"),
            f"build-{i}" if i % 2 else f"test-{i}",
            "dirs",
            State.IDLE if i % 3 else State.ACTIVE,
            created=base - timedelta(hours=i),
        )
        for i in range(10_000)
    ]
    q: Query = parse_query("name:build-* state:idle age>1d -name~7$ run")
    got = q.filter(sessions, base)
    want = [
        s
        for s in sessions
        if s.name.startswith("build-")
        and s.state is State.IDLE
        and s.created is not None
        and base - s.created > timedelta(days=1)
        and not s.name.endswith("7")
    ]
    assert got == want and len(got) > 1000
