"""JSON-file session records: the store contract, the manager, and the dashboard backend.

Real files, real threads, real forked processes; nothing mocked.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import core.jsonstore.removal as removal_mod
from core.errors import BackendUnavailable, SessionNotFound
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import (
    CorruptRecord,
    FileSessionStore,
    InMemorySessionStore,
    InvalidSessionId,
    SessionExists,
    SessionRecord,
    SessionStore,
)
from core.model import Capability, PruneReason, State
from core.registry import build_backend

StoreFactory = Callable[[Path], SessionStore]

STORES: dict[str, StoreFactory] = {
    "file": FileSessionStore,
    "memory": lambda base: InMemorySessionStore(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    factory: StoreFactory = STORES[request.param]
    return factory(tmp_path / "sessions")


def make_backend(base: Path, **kw: object) -> JsonBackend:
    return JsonBackend(JsonBackendConfig(name="js", kind="json", base=base, **kw))  # type: ignore[arg-type]


def record(sid: str, ws: str | None = None, **kw: object) -> SessionRecord:
    now = "2026-01-02T03:04:05+00:00"
    return SessionRecord(sid, ws, "agent-a", now, now, **kw)  # type: ignore[arg-type]


# -- the store contract (file and memory) -------------------------------------------


def test_store_roundtrip_list_delete(store: SessionStore) -> None:
    assert store.list_sessions() == []
    assert store.load_session("nope") is None
    r1 = record("s1", metadata={"k": 1}, turns=({"turn_id": "t1", "prompt": "hi"},))
    r2 = record("s2", "ws1")
    r3 = record("s3", "ws2")
    for r in (r1, r2, r3):
        store.save_session(r)
    assert store.load_session("s1") == r1
    assert store.load_session("s2") == r2
    assert store.load_session("s2", "ws1") == r2
    assert store.load_session("s2", "ws2") is None
    assert store.list_sessions() == ["s1", "s2", "s3"]
    assert store.list_sessions("ws1") == ["s2"]
    assert store.list_sessions("nope") == []
    assert store.delete_session("s2") is True
    assert store.delete_session("s2") is False
    assert store.list_sessions() == ["s1", "s3"]


def test_store_create_refuses_existing_and_update_persists(store: SessionStore) -> None:
    store.create_session(record("s1"))
    with pytest.raises(SessionExists):
        store.create_session(record("s1"))
    new = store.update_session("s1", lambda r: replace(r, agent_id="b"))
    assert new.agent_id == "b"
    loaded = store.load_session("s1")
    assert loaded is not None and loaded.agent_id == "b"
    with pytest.raises(SessionNotFound):
        store.update_session("missing", lambda r: r)


@pytest.mark.parametrize(
    "bad", ["", "..", ".", "../x", "a/b", "a\\b", "a\0b", "/etc/passwd", ".hidden", "x" * 129]
)
def test_ids_that_are_not_plain_names_are_refused(store: SessionStore, bad: str) -> None:
    with pytest.raises(InvalidSessionId):
        store.save_session(record(bad))
    with pytest.raises(InvalidSessionId):
        store.save_session(record("ok", bad))
    with pytest.raises(InvalidSessionId):
        store.load_session(bad)
    manager = SessionManager(store)
    with pytest.raises(InvalidSessionId):
        manager.start_session(workspace_id=bad, agent_id="a")
    with pytest.raises(InvalidSessionId):
        manager.start_session(session_id=bad, agent_id="a")
    assert store.list_sessions() == []


def test_traversal_writes_nothing_outside_base(tmp_path: Path) -> None:
    base = tmp_path / "base"
    manager = SessionManager(FileSessionStore(base))
    for bad in ("../escape", "/tmp/escape"):
        with pytest.raises(InvalidSessionId):
            manager.start_session(session_id=bad)
    assert not (tmp_path / "escape.json").exists()
    assert list(tmp_path.rglob("*.json")) == []


# -- the manager ------------------------------------------------------------------


def test_manager_lifecycle_and_updated_at(store: SessionStore) -> None:
    ticks = iter(datetime(2026, 1, 1, 0, 0, i, tzinfo=UTC) for i in range(10))
    manager = SessionManager(store, clock=lambda: next(ticks))
    rec = manager.start_session("ws", agent_id="planner", metadata={"user": "u1"})
    assert rec.created_at == rec.updated_at == "2026-01-01T00:00:00+00:00"
    manager.record_turn(rec.session_id, prompt="hello")
    manager.record_turn(rec.session_id, {"turn_id": "t2", "response_content": "hi", "tokens": 3})
    manager.record_agent_transition(rec.session_id, "planner", "coder", reason="handoff")
    manager.end_session(rec.session_id)
    got = manager.get_session(rec.session_id)
    assert got is not None
    assert got.updated_at == "2026-01-01T00:00:04+00:00"
    assert got.ended and got.metadata == {"user": "u1", "ended": True}
    assert got.ended_at is None and got.ended_time == "2026-01-01T00:00:04+00:00"
    assert got.agent_id == "planner" and got.current_agent == "coder"
    assert [t["prompt"] for t in got.turns] == ["hello", ""]
    assert got.turns[0]["started_at"] == "2026-01-01T00:00:01+00:00"
    assert got.turns[0]["agent_id"] == "planner"
    assert got.turns[1]["turn_id"] == "t2" and got.turns[1]["tokens"] == 3
    assert got.agent_transitions == (
        {
            "from_agent": "planner",
            "to_agent": "coder",
            "reason": "handoff",
            "turn_id": "",
            "timestamp": "2026-01-01T00:00:03+00:00",
        },
    )
    assert manager.list_sessions("ws") == [rec.session_id]
    with pytest.raises(SessionNotFound):
        manager.record_turn("missing", prompt="x")


def test_file_layout_and_field_names(tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(tmp_path))
    flat = manager.start_session(agent_id="a", session_id="flat1")
    inws = manager.start_session("team", agent_id="a", session_id="ws1", metadata={"m": 1})
    manager.record_turn("ws1", prompt="q")
    manager.end_session("ws1")
    assert (tmp_path / "flat1.json").is_file()
    assert (tmp_path / "team" / "ws1.json").is_file()
    flat_data = json.loads((tmp_path / "flat1.json").read_text())
    assert flat_data["workspace_id"] is None
    assert "ended_at" not in flat_data
    data = json.loads((tmp_path / "team" / "ws1.json").read_text())
    assert set(data) == {
        "session_id",
        "workspace_id",
        "agent_id",
        "created_at",
        "updated_at",
        "turns",
        "agent_transitions",
        "metadata",
    }
    assert data["session_id"] == "ws1" and data["workspace_id"] == "team"
    assert data["metadata"] == {"m": 1, "ended": True}
    assert set(data["turns"][0]) == {
        "turn_id",
        "agent_id",
        "prompt",
        "response_content",
        "tool_calls",
        "started_at",
        "ended_at",
        "status",
        "error",
        "audit_event_ids",
        "metadata",
    }
    assert data["turns"][0]["prompt"] == "q" and data["turns"][0]["status"] == "success"
    for key in ("created_at", "updated_at"):
        assert datetime.fromisoformat(data[key]).tzinfo is not None
    assert flat.workspace_id is None and inws.workspace_id == "team"
    # no lock or temp files among the records
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "flat1.json",
        "team",
    ]


def test_unknown_keys_survive_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    data = record("s").to_json() | {"calute_version": "9"}
    path.write_text(json.dumps(data))
    SessionManager(FileSessionStore(tmp_path)).record_turn("s", prompt="x")
    assert json.loads(path.read_text())["calute_version"] == "9"


# -- concurrency: threads and processes -----------------------------------------------


def test_threads_lose_no_turns(store: SessionStore) -> None:
    manager = SessionManager(store)
    rec = manager.start_session("ws", agent_id="a")
    threads, per = 8, 15

    def work(n: int) -> None:
        for i in range(per):
            manager.record_turn(rec.session_id, agent_id=f"t{n}", prompt=str(i))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    got = manager.get_session(rec.session_id)
    assert got is not None
    assert len(got.turns) == threads * per
    for n in range(threads):  # each writer's turns are all there, in its order
        mine = [t["prompt"] for t in got.turns if t["agent_id"] == f"t{n}"]
        assert mine == [str(i) for i in range(per)]


def _child_turns(base: str, sid: str, n: int, per: int) -> None:
    manager = SessionManager(FileSessionStore(base))
    for i in range(per):
        manager.record_turn(sid, agent_id=f"p{n}", prompt=str(i))


def test_processes_lose_no_turns(tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(tmp_path))
    rec = manager.start_session("ws", agent_id="a", session_id="shared")
    ctx = multiprocessing.get_context("fork")
    procs, per = 6, 25
    children = [
        ctx.Process(target=_child_turns, args=(str(tmp_path), "shared", n, per))
        for n in range(procs)
    ]
    for c in children:
        c.start()
    for c in children:
        c.join(timeout=30)
        assert c.exitcode == 0
    got = manager.get_session(rec.session_id)
    assert got is not None
    assert len(got.turns) == procs * per
    assert {t["agent_id"] for t in got.turns} == {f"p{n}" for n in range(procs)}


# -- corruption and crashes -----------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b'{"session_id": "c", "turns": [', b"\xff\xfe", b"[1,2]"])
def test_corrupt_record_is_reported_and_never_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    store = FileSessionStore(tmp_path)
    manager = SessionManager(store)
    with pytest.raises(CorruptRecord) as info:
        store.load_session("c")
    assert info.value.path == path
    with pytest.raises(CorruptRecord):
        manager.record_turn("c", prompt="x")
    with pytest.raises(CorruptRecord):
        manager.end_session("c")
    with pytest.raises(CorruptRecord):
        store.save_session(record("c"))
    assert path.read_bytes() == content
    rows = make_backend(tmp_path).list_sessions()
    assert [(r.id, r.state) for r in rows] == [("c", State.CORRUPT)]
    assert rows[0].info.startswith("corrupt: ")
    store.save_session(record("c"), force=True)  # explicitly forced: replaced
    assert store.load_session("c") == record("c")


def test_leftover_temp_is_ignored_and_original_kept(tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(tmp_path))
    manager.start_session("ws", agent_id="a", session_id="s1")
    manager.record_turn("s1", prompt="one")
    original = (tmp_path / "ws" / "s1.json").read_bytes()
    (tmp_path / "ws" / ".s1.json.999.deadbeef.tmp").write_bytes(original[:20])
    (tmp_path / ".s2.json.999.deadbeef.tmp").write_bytes(b"{")
    assert manager.list_sessions() == ["s1"]
    rows = make_backend(tmp_path).list_sessions()
    assert [(r.id, r.state) for r in rows] == [("ws/s1", State.ACTIVE)]
    got = manager.get_session("s1")
    assert got is not None and len(got.turns) == 1


def _crash_before_replace(base: str) -> None:
    def die(*_: object) -> None:
        os._exit(7)  # the process dies after the temp is written, before the rename

    os.replace = die  # type: ignore[assignment]
    SessionManager(FileSessionStore(base)).record_turn("s1", prompt="lost")


def test_crash_between_write_and_replace_keeps_the_original(tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(tmp_path))
    manager.start_session(agent_id="a", session_id="s1")
    manager.record_turn("s1", prompt="kept")
    before = (tmp_path / "s1.json").read_bytes()
    child = multiprocessing.get_context("fork").Process(
        target=_crash_before_replace, args=(str(tmp_path),)
    )
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 7
    assert (tmp_path / "s1.json").read_bytes() == before
    temps = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1  # the crashed write's temp is there, full of the new turn
    assert b"lost" in (tmp_path / temps[0]).read_bytes()
    assert manager.list_sessions() == ["s1"]
    assert [r.id for r in make_backend(tmp_path).list_sessions()] == ["s1"]
    # the lock died with the child: the next write goes through
    manager.record_turn("s1", prompt="after")
    got = manager.get_session("s1")
    assert got is not None and [t["prompt"] for t in got.turns] == ["kept", "after"]


# -- the dashboard backend ---------------------------------------------------------------


def _write(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def populated(tmp_path: Path) -> Iterator[Path]:
    manager = SessionManager(FileSessionStore(tmp_path))
    manager.start_session(agent_id="solo", session_id="s1", metadata={"user": "ann", "n": 2})
    manager.record_turn("s1", prompt="line one\nline two")
    manager.record_turn("s1", response="ok")
    manager.start_session("wa", agent_id="x", session_id="dup")
    with pytest.raises(SessionExists):  # the store keeps ids unique across workspaces
        manager.store.save_session(record("dup", "wb"))
    _write(tmp_path / "wb" / "dup.json", record("dup", "wb").to_json())  # another producer's
    manager.end_session("dup")
    yield tmp_path


def test_backend_rows(populated: Path) -> None:
    backend = make_backend(populated)
    rows = {r.id: r for r in backend.list_sessions()}
    assert set(rows) == {"s1", "wa/dup", "wb/dup"}
    s1 = rows["s1"]
    assert s1.ref.backend == "js" and s1.name == "s1" and s1.kind == "json"
    assert s1.state is State.ACTIVE
    assert s1.info == "agent solo · 2 turns"
    assert s1.metadata["meta.user"] == "ann" and s1.metadata["meta.n"] == "2"
    assert s1.metadata["turns"] == "2" and s1.metadata["agent"] == "solo"
    assert s1.path == str(populated / "s1.json")
    assert s1.size is not None and s1.size.apparent == (populated / "s1.json").stat().st_size
    assert s1.created is not None and s1.last_active is not None
    assert s1.last_active >= s1.created
    assert rows["wa/dup"].state is State.ENDED  # end_session found the flat-first, then wa
    assert rows["wb/dup"].state is State.ACTIVE
    assert rows["wa/dup"].info == "agent x · 0 turns · ws wa"
    assert backend.get("wa/dup").name == "dup"
    assert backend.health().sessions == 3
    assert Capability.SIZES not in backend.capabilities


def test_backend_turns_tail_and_record_text(populated: Path) -> None:
    backend = make_backend(populated)
    assert [s.name for s in backend.logs("s1")] == ["turns"]
    stream = backend.tail("s1", lines=10)
    assert [line.text for line in stream] == ["user: line one ⏎ line two", "solo: ok"]
    assert [line.text for line in backend.tail("s1", lines=1).read_available(0)] == ["solo: ok"]
    text = backend.record_text("s1")
    assert json.loads(text)["session_id"] == "s1" and "\n  " in text


def test_backend_turns_are_a_fact(populated: Path) -> None:
    backend = make_backend(populated)
    rows = {r.id: r for r in backend.list_sessions()}
    assert rows["s1"].facts.turns == 2 and rows["wa/dup"].facts.turns == 0
    assert [(s.name, s.size) for s in backend.logs("s1")] == [("turns", 2)]
    (populated / "broken.json").write_bytes(b"{")
    assert make_backend(populated).get("broken").facts.turns is None


def test_backend_ignores_dotfiles_locks_and_other_files(populated: Path) -> None:
    (populated / "notes.txt").write_text("x")
    (populated / ".hidden.json").write_text("{}")
    (populated / ".locks").mkdir(exist_ok=True)
    (populated / ".locks" / "x.json").write_text("{}")
    (populated / "wa" / "deeper").mkdir()
    _write(populated / "wa" / "deeper" / "too-deep.json", record("too-deep").to_json())
    ids = {r.id for r in make_backend(populated).list_sessions()}
    assert ids == {"s1", "wa/dup", "wb/dup"}


def test_symlinks_out_of_base_are_not_followed(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    _write(outside / "secret.json", record("secret").to_json())
    _write(outside / "ws" / "inner.json", record("inner", "ws").to_json())
    _write(base / "real.json", record("real").to_json())
    (base / "link.json").symlink_to(outside / "secret.json")
    (base / "linkws").symlink_to(outside / "ws")
    backend = make_backend(base)
    assert [r.id for r in backend.list_sessions()] == ["real"]
    with pytest.raises(SessionNotFound):
        backend.get("linkws/inner")
    with pytest.raises(SessionNotFound):
        backend.get("link")
    with pytest.raises(SessionNotFound):
        backend.plan_delete(["linkws/inner"])
    assert (outside / "secret.json").exists() and (outside / "ws" / "inner.json").exists()


def test_missing_base_is_unavailable_unless_create_base(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="create it, or set create_base: true"):
        make_backend(tmp_path / "nope").list_sessions()
    assert make_backend(tmp_path / "made", create_base=True).list_sessions() == []
    assert (tmp_path / "made").is_dir()


def test_registry_builds_json_backend(tmp_path: Path) -> None:
    backend = build_backend(JsonBackendConfig(name="j", kind="json", base=tmp_path))
    assert isinstance(backend, JsonBackend)


def _iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def test_prune_plan_selects_only_old_ended_sessions(tmp_path: Path) -> None:
    def rec(sid: str, ws: str | None, ended: float | None) -> dict[str, object]:
        r = record(sid, ws, ended_at=_iso(ended) if ended is not None else None)
        return r.to_json()

    _write(tmp_path / "old.json", rec("old", None, 40))
    _write(tmp_path / "ws" / "oldws.json", rec("oldws", "ws", 31))
    _write(tmp_path / "recent.json", rec("recent", None, 5))
    _write(tmp_path / "active.json", rec("active", None, None))
    (tmp_path / "broken.json").write_text("{")
    backend = make_backend(tmp_path, prune_after_days=30)
    plan = backend.plan_prune()
    assert [e.id for e in plan.entries] == ["old", "ws/oldws"]  # oldest first
    assert all(e.reason is PruneReason.AGE for e in plan.entries)
    assert plan.entries[0].bytes == (tmp_path / "old.json").stat().st_size
    result = backend.prune(plan)
    assert result.ok and len(result.removed) == 2
    assert not (tmp_path / "old.json").exists() and not (tmp_path / "ws" / "oldws.json").exists()
    assert (tmp_path / "ws").is_dir()  # workspace dirs stay
    left = {r.id for r in backend.list_sessions()}
    assert left == {"recent", "active", "broken"}


def test_delete_via_plan_rechecks_each_entry(populated: Path) -> None:
    backend = make_backend(populated)
    plan = backend.plan_delete(["s1", "wa/dup"])
    details = {e.id: e.detail for e in plan.entries}
    assert details == {"s1": "active", "wa/dup": ""}
    (populated / "wa" / "dup.json").unlink()  # gone between plan and prune
    result = backend.prune(plan)
    assert [e.id for e in result.removed] == ["s1"]
    assert [r.entry.id for r in result.failed] == ["wa/dup"]
    assert "gone" in result.failed[0].error
    assert not (populated / "s1.json").exists()
    assert (populated / "wb" / "dup.json").exists()


def test_prune_refuses_a_file_swapped_for_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("keep")
    base = tmp_path / "base"
    _write(base / "s.json", record("s", ended_at=_iso(100)).to_json())
    backend = make_backend(base)
    plan = backend.plan_delete(["s"])
    (base / "s.json").unlink()
    (base / "s.json").symlink_to(outside)
    result = backend.prune(plan)
    assert not result.ok and "symlink" in result.failed[0].error
    assert outside.read_text() == "keep" and (base / "s.json").is_symlink()


def test_prune_waits_for_a_producer_write_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(removal_mod, "SESSION_LOCK_WAIT", 0.2)
    manager = SessionManager(FileSessionStore(tmp_path))
    manager.start_session("ws", agent_id="a", session_id="busy")
    backend = make_backend(tmp_path)
    plan = backend.plan_delete(["ws/busy"])
    # hold the same per-session lock a producer's read-modify-write holds
    fd = os.open(tmp_path / ".locks" / "busy.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = backend.prune(plan)
    finally:
        os.close(fd)
    assert not result.ok and "already running" in result.failed[0].error
    assert (tmp_path / "ws" / "busy.json").exists()
    assert backend.prune(plan).ok  # lock released: now it goes
    assert not (tmp_path / "ws" / "busy.json").exists()
    with pytest.raises(SessionNotFound):
        manager.record_turn("busy", prompt="late")


def test_turns_and_text_never_read_through_a_linked_workspace(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    _write(outside / "in.json", record("in", "ws").to_json())
    base.mkdir()
    (base / "ws").symlink_to(outside)
    backend = make_backend(base)
    with pytest.raises(SessionNotFound):
        backend.tail("ws/in")
    with pytest.raises(SessionNotFound):
        backend.record_text("ws/in")
