"""The tmux backend: its pure parts (the listing format, names, errors, attach
argv), a missing binary, and listing real servers on private sockets."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from core.config.records import Origin
from core.errors import (
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
)
from core.inventory import Inventory
from core.model import HealthStatus, LogLine, State
from core.registry import build_backend
from core.tmux.attach import attach_command, inside_server
from core.tmux.backend import TmuxBackend
from core.tmux.command import Outcome, TmuxRunner, classify
from core.tmux.listing import FORMAT, parse_panes
from core.tmux.schema import TmuxBackendConfig
from core.tmux.stream import PaneStream, clean_line
from core.tmux.syntax import literal, new_name_problem, no_format
from tests.helpers import unique, wait_for
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _idle_tmux_fixture,
    _tmux_server_fixture,
)
from tests.tmux_helpers import sleeper


def _record(
    name: bytes,
    cmd: bytes,
    cwd: bytes,
    log: bytes = b"",
    *,
    sid: bytes = b"$1",
    lengths: bool = True,
) -> bytes:
    fixed = [sid, b"100", b"200", b"0", b"@1", b"1", b"300", b"%1", b"1", b"42", b"0", b"0"]
    texts = [name, cmd, cwd, log]
    lens = [str(len(t)).encode() if lengths else b"" for t in texts]
    return b"\x1e" + b"".join(f + b"\x1f" for f in fixed + lens) + b"\x1f".join(texts) + b"\n"


def test_listing_frames_texts_by_length() -> None:
    nasty = b"/tmp/a\nb\x1fc\x1e\xff\xc3\xa9 d"
    out = (
        _record(b"one", b"vim", nasty, b"/logs/x.log")
        + b"garbage line\n"
        + _record(b"two", b"sh\x1fx", b"/home", sid=b"$2")
        + b"\x1e$3\x1fbroken\n"
        + _record(b"three", b"top", b"/srv", sid=b"$4")
    )
    rows, garbled = parse_panes(out)
    assert [r.session_name for r in rows] == ["one", "two", "three"]
    assert garbled == 2
    assert rows[0].cwd.encode("utf-8", "surrogateescape") == nasty
    assert rows[0].log == "/logs/x.log"
    assert rows[1].command == "sh\x1fx"
    assert (rows[0].pane_pid, rows[0].session_created, rows[0].window_activity) == (42, 100, 300)
    assert rows[0].window_active and rows[0].pane_active and not rows[0].pane_dead


def test_a_command_that_changed_while_tmux_printed_it_keeps_its_row() -> None:
    """Just after a start, `sh -c 'sleep 600'` execs into `sleep` between tmux
    reading the command's length and its text: the row was dropped as garbled,
    so the session looked gone (`get` right after a start said not found)."""
    # the lengths: name 5, command 5, path 4, log 0; the command's says 2 ("sh")
    fresh = _record(b"loose", b"sleep", b"/srv")
    stale = fresh.replace(b"\x1f5\x1f5\x1f4\x1f0\x1f", b"\x1f5\x1f2\x1f4\x1f0\x1f", 1)
    assert stale != fresh
    rows, garbled = parse_panes(stale + _record(b"next", b"vim", b"/tmp", sid=b"$2"))
    assert garbled == 0
    assert [(r.session_name, r.command, r.cwd) for r in rows] == [
        ("loose", "sleep", "/srv"),
        ("next", "vim", "/tmp"),
    ]


def test_listing_without_length_modifier_splits_on_separator() -> None:
    rows, garbled = parse_panes(_record(b"old", b"bash", b"/tmp", lengths=False))
    assert garbled == 0
    assert (rows[0].session_name, rows[0].command, rows[0].cwd) == ("old", "bash", "/tmp")


def test_format_asks_for_lengths_of_every_text() -> None:
    for field in ("session_name", "pane_current_command", "pane_current_path", "@sesstui_log"):
        assert f"#{{n:{field}}}" in FORMAT


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("a.b", "'.' or ':'"),
        ("a:b", "'.' or ':'"),
        (".", "'.' or ':'"),
        ("-x", "option"),
        ("a\tb", "control"),
        ("x" * 65, "longer than 64"),
        ("   ", "blank"),
        ("a\\b", "backslash"),
    ],
)
def test_bad_new_names(name: str, why: str) -> None:
    problem = new_name_problem(name)
    assert problem is not None and why in problem


def test_good_names_and_escapes() -> None:
    for name in ("bot", "foo-10", "my bot", "x" * 64, "a#b", "é"):
        assert new_name_problem(name) is None
    assert literal("a;") == "a\\;"
    assert literal("a\\;") == "a\\\\;"
    assert literal("plain") == "plain"
    assert no_format("#{x}##") == "##{x}####"


def test_classify_tmux_errors() -> None:
    assert classify(1, "no server running on /tmp/tmux-0/x") is Outcome.NO_SERVER
    assert (
        classify(1, "error connecting to /tmp/x (No such file or directory)") is Outcome.NO_SERVER
    )
    assert classify(1, "server exited unexpectedly") is Outcome.LOST_SERVER
    assert classify(1, "can't find session: foo") is Outcome.NOT_FOUND
    assert classify(1, "duplicate session: foo") is Outcome.DUPLICATE
    assert classify(1, "error connecting to /x (Permission denied)") is Outcome.FAILED
    assert classify(1, "no current target") is Outcome.NOT_FOUND
    assert classify(0, "") is Outcome.OK


def test_clean_line_strips_terminal_escapes() -> None:
    assert clean_line("\x1b[1;31mred\x1b[0m text") == "red text"
    assert clean_line("\x1b]0;title\x07after") == "after"
    assert clean_line("\x1b[?2004hprompt$ ") == "prompt$ "
    assert clean_line("10%\r50%\r100%") == "100%"
    assert clean_line("a\tb\x07c\x00") == "a\tbc"
    assert clean_line("\x1b(Bplain") == "plain"


def test_pane_stream_without_follow_ends_after_scrollback() -> None:
    stream = PaneStream([LogLine("a"), LogLine("b")])
    assert [line.text for line in stream] == ["a", "b"]
    assert stream.done
    assert stream.read_available(0) == []
    stream.close()
    assert stream.closed


def test_attach_argv_inside_and_outside(tmp_path: Path) -> None:
    sock = tmp_path / "tmux-1000" / "work"
    sock.parent.mkdir()
    sock.touch()
    server = ["-L", "work"]
    inside = {"TMUX": f"{sock},4242,0"}
    assert attach_command("tmux", server, sock, "bot", inside) == [
        "tmux", "-L", "work", "switch-client", "-t", "=bot",
    ]  # fmt: skip
    assert attach_command("tmux", server, sock, "bot", {}) == [
        "tmux", "-L", "work", "attach-session", "-t", "=bot",
    ]  # fmt: skip
    other = {"TMUX": f"{tmp_path / 'other'},1,0"}
    assert attach_command("tmux", server, sock, "bot", other)[3] == "attach-session"
    # a default-server client inside another server must name the default socket
    assert attach_command("tmux", [], sock, "bot", other)[1:3] == ["-S", str(sock)]
    # a socket path with commas, and a symlinked TMUX_TMPDIR, still match
    link = tmp_path / "link"
    link.symlink_to(sock.parent)
    assert inside_server({"TMUX": f"{link / 'work'},1,0"}, sock)
    assert not inside_server({"TMUX": ""}, sock)


def test_socket_file_follows_tmux_tmpdir(tmp_path: Path) -> None:
    runner = TmuxRunner(socket_name="work")
    uid = os.getuid()
    assert runner.socket_file({"TMUX_TMPDIR": str(tmp_path)}) == tmp_path / f"tmux-{uid}" / "work"
    assert runner.socket_file({}) == Path(f"/tmp/tmux-{uid}/work")
    assert TmuxRunner().socket_file({}).name == "default"
    assert TmuxRunner(socket_path=tmp_path / "s").socket_file({}) == tmp_path / "s"


def test_missing_tmux_on_path_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without tmux
    backend = TmuxBackend(TmuxBackendConfig(name="tm", kind="tmux"))
    expected = (
        "tmux is not installed (looked for 'tmux' on PATH); install it or set `tmux:` to its path"
    )
    assert backend.health().status is HealthStatus.UNAVAILABLE
    assert backend.health().reason == expected
    with pytest.raises(BackendUnavailable) as info:
        backend.list_sessions()
    assert info.value.message == expected
    assert backend.health().status is HealthStatus.UNAVAILABLE
    assert backend.spawns == 0


def test_missing_tmux_path_shows_in_inventory() -> None:
    backend = TmuxBackend(TmuxBackendConfig(name="tm", kind="tmux", tmux="/nonexistent/tmux"))
    snap = Inventory([backend]).refresh()
    (health,) = snap.health
    assert health.status is HealthStatus.UNAVAILABLE
    assert "looked for '/nonexistent/tmux'" in health.reason
    assert "set `tmux:` to its path" in health.reason
    with pytest.raises(BackendUnavailable):
        backend.start(sleeper("x"))


def test_registry_builds_tmux_backend() -> None:
    backend = build_backend(TmuxBackendConfig(name="work", kind="tmux", socket_name="w"))
    assert isinstance(backend, TmuxBackend)
    assert backend.socket == "-L w"


def test_socket_name_and_path_together_is_a_config_error(tmp_path: Path) -> None:
    config = TmuxBackendConfig(
        name="tm",
        kind="tmux",
        socket_name="a",
        socket_path=tmp_path / "s",
        origin=Origin("c.yml", 3),
    )
    with pytest.raises(ConfigError, match=r"c\.yml:3"):
        TmuxBackend(config)


@pytest.mark.tmux
def test_no_server_is_ok_with_no_sessions(idle_tmux: TmuxServer) -> None:
    backend = idle_tmux.backend()
    assert backend.list_sessions() == []
    assert backend.spawns == 1
    health = backend.health()
    assert health.status is HealthStatus.OK
    assert health.reason == "no server running"
    assert health.endpoint == f"-L {idle_tmux.socket}"
    with pytest.raises(SessionNotFound, match="no server running"):
        backend.get("bot")


@pytest.mark.tmux
def test_start_brings_up_a_server(idle_tmux: TmuxServer) -> None:
    backend = idle_tmux.backend()
    assert backend.list_sessions() == []
    backend.start(sleeper("first"))
    assert [s.name for s in backend.list_sessions()] == ["first"]
    assert backend.health().reason == ""


@pytest.mark.tmux
def test_names_with_tmux_syntax_round_trip(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    for name in ("semi;", "hash #S #{session_id}", "sp ace", "é"):
        started = backend.start(sleeper(name))
        assert started.name == name
        assert backend.get(name).name == name
        assert backend.attach_argv(name, env={})[-1] == "=" + name.replace(";", "\\;")
        assert tmux_server.has(name)
    assert {s.name for s in backend.list_sessions()} == {
        "semi;", "hash #S #{session_id}", "sp ace", "é",
    }  # fmt: skip
    backend.stop("semi;", graceful=False)
    assert not tmux_server.has("semi;")
    with pytest.raises(SessionNotFound, match="no log 'nope'"):
        backend.tail("sp ace", source="nope")
    with pytest.raises(SessionNotFound, match="has no 'pipe' log"):
        backend.tail("sp ace", source="pipe")


@pytest.mark.tmux
def test_start_and_list_one_process_per_refresh(tmux_server: TmuxServer, tmp_path: Path) -> None:
    backend = tmux_server.backend()
    work = tmp_path / "work dir"
    work.mkdir()
    started = backend.start(sleeper("bot", window_name="main", working_dir=work, env={"A": "1"}))
    assert started.state is State.RUNNING
    assert started.metadata["command"] == "sleep"
    # two more windows, one split: 3 windows, 4 panes
    tmux_server.run("new-window", "-d", "-t", "=bot:", "sleep 600")
    tmux_server.run("new-window", "-d", "-t", "=bot:", "sleep 600")
    tmux_server.run("split-window", "-d", "-t", "=bot:", "sleep 600")
    backend.start(sleeper("other"))

    before = backend.spawns
    sessions = {s.name: s for s in backend.list_sessions()}
    assert backend.spawns - before == 1
    for _ in range(3):
        n = backend.spawns
        backend.list_sessions()
        assert backend.spawns - n == 1

    bot = sessions["bot"]
    assert bot.kind == "tmux"
    assert bot.ref.backend == "tm" and bot.id == "bot"
    assert bot.state is State.RUNNING
    assert bot.attachable
    assert bot.path == str(work)
    assert bot.info == "3 win"
    assert bot.created is not None and bot.last_active is not None
    assert bot.created.tzinfo is not None
    meta = bot.metadata
    assert (meta["windows"], meta["panes"], meta["clients"]) == ("3", "4", "0")
    assert (meta["command"], meta["cwd"]) == ("sleep", str(work))
    assert len(meta["pids"].split()) == 4
    assert bot.pid is not None and str(bot.pid) in meta["pids"].split()
    assert meta["socket"] == f"-L {tmux_server.socket}"
    facts = bot.facts
    assert facts.cwds[0] == str(work), "the active pane's directory comes first"
    assert len(set(facts.cwds)) == len(facts.cwds), "each directory once"
    assert sorted(facts.pids) == sorted(int(p) for p in meta["pids"].split())
    assert facts.clients == 0 and facts.logs == ()
    assert tmux_server.value("=bot:", "#{window_name}") == "main"
    assert sessions["other"].info == "1 win"
    assert backend.health().status is HealthStatus.OK
    assert backend.get("bot").metadata["panes"] == "4"


@pytest.mark.tmux
def test_attached_client_is_counted(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("watched"))
    with tmux_server.control_client("watched"):
        wait_for(lambda: backend.get("watched").metadata["clients"] == "1", what="a client")
        assert backend.get("watched").info == "1 win · attached"
        assert backend.get("watched").facts.clients == 1


@pytest.mark.tmux
def test_text_fields_with_separators_survive_listing(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    odd = tmp_path / "a\nb\x1fc\x1e\té d#{session_id}"
    odd.mkdir()
    backend = tmux_server.backend()
    backend.start(sleeper("odd name #x", working_dir=odd))
    backend.start(sleeper("plain"))
    sessions = {s.name: s for s in backend.list_sessions()}
    assert set(sessions) == {"odd name #x", "plain"}
    assert sessions["odd name #x"].metadata["cwd"] == str(odd)
    assert backend.health().status is HealthStatus.OK


@pytest.mark.tmux
def test_killed_server_between_refreshes(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("bot"))
    assert [s.name for s in backend.list_sessions()] == ["bot"]
    tmux_server.run("kill-server")
    before = backend.spawns
    # the server may still be exiting: that listing sees it die mid-answer
    assert backend.list_sessions() == []
    assert backend.spawns - before == 1
    assert backend.health().status in (HealthStatus.OK, HealthStatus.DEGRADED)
    if backend.health().status is HealthStatus.DEGRADED:
        assert backend.health().reason == "the tmux server exited while listing"
    wait_for(
        lambda: backend.list_sessions() == [] and backend.health().reason == "no server running",
        what="the server to be gone",
    )
    assert backend.health().status is HealthStatus.OK
    snap = Inventory([backend]).refresh()
    assert snap.sessions == () and snap.health[0].ok


@pytest.mark.tmux
def test_server_dying_during_listings_never_raises(tmux_server: TmuxServer) -> None:
    for i in range(10):
        tmux_server.run("new-session", "-d", "-s", f"s{i}", "sleep 600")
    backend = tmux_server.backend()
    counts: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def lister() -> None:
        while not stop.is_set():
            try:
                counts.append(len(backend.list_sessions()))
            except BaseException as e:  # noqa: BLE001 - collected for the assert
                errors.append(e)

    thread = threading.Thread(target=lister)
    thread.start()
    try:
        wait_for(lambda: len(counts) >= 3, what="listings")
        tmux_server.run("kill-server")
        seen = len(counts)
        wait_for(lambda: len(counts) >= seen + 3, what="listings after the kill")
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    assert counts[0] == 10 and counts[-1] == 0
    assert backend.health().status is HealthStatus.OK


@pytest.mark.tmux
def test_inventory_lists_tmux_sessions(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend(name=f"t{unique()}")
    backend.start(sleeper("inv"))
    inventory = Inventory([backend])
    snap = inventory.refresh()
    assert [s.name for s in snap.sessions] == ["inv"]
    assert snap.health[0].endpoint == f"-L {tmux_server.socket}"
    assert inventory.find("inv").kind == "tmux"
    inventory.close()
