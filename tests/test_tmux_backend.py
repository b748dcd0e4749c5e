"""The tmux backend against real tmux servers on private sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from core.backend import LineStream
from core.config.records import Origin, SessionSpec
from core.dirs.backend import DirsBackend
from core.dirs.naming import parse_name
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    UsageError,
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
from tests.helpers import dirs_config, unique, wait_for
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _idle_tmux_fixture,
    _tmux_server_fixture,
)

PY = sys.executable


def spec(name: str, *command: str, **kwargs: Any) -> SessionSpec:
    return replace(SessionSpec(name=name, backend="tm", command=command), **kwargs)


def sleeper(name: str, **kwargs: Any) -> SessionSpec:
    return spec(name, "sleep", "600", **kwargs)


def read_until(stream: LineStream, text: str, timeout: float = 15.0) -> list[str]:
    """Lines read from ``stream`` until one contains ``text``."""
    seen: list[str] = []

    def found() -> bool:
        seen.extend(line.text for line in stream.read_available(0.2))
        return any(text in s for s in seen)

    wait_for(found, timeout, f"{text!r} in the stream (got {seen[-5:]})")
    return seen


# ----------------------------------------------------------------- pure parts


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


# ------------------------------------------------------------ missing binary


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


# -------------------------------------------------------------- real servers


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
def test_shell_false_passes_arguments_verbatim(tmux_server: TmuxServer, tmp_path: Path) -> None:
    out = tmp_path / "argv.txt"
    code = (
        "import json, os, sys, time\n"
        "open(sys.argv[1], 'w').write(json.dumps([sys.argv[2:], os.environ['GREETING']]))\n"
        "time.sleep(600)"
    )
    args = ("$HOME and spaces", "ends;", "back\\;", ";", "#{pane_pid}", "*")
    backend = tmux_server.backend()
    backend.start(spec("verbatim", PY, "-c", code, str(out), *args, env={"GREETING": "hi $HOME;"}))
    wait_for(out.exists, what="the program's output")
    assert json.loads(out.read_text()) == [list(args), "hi $HOME;"]


@pytest.mark.tmux
def test_single_argument_runs_without_a_shell(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "my prog $HOME"
    script.write_text(f"#!/bin/sh\necho ok > '{marker}'\nexec sleep 600\n")
    script.chmod(0o755)
    backend = tmux_server.backend()
    backend.start(spec("one-arg", str(script)))
    wait_for(marker.exists, what="the script to run")


@pytest.mark.tmux
def test_shell_true_runs_through_the_shell(tmux_server: TmuxServer, tmp_path: Path) -> None:
    out = tmp_path / "home.txt"
    backend = tmux_server.backend()
    backend.start(spec("shelled", f"echo $HOME > '{out}'; sleep 600", shell=True))
    wait_for(lambda: out.exists() and out.read_text().strip() != "", what="the shell's output")
    assert out.read_text().strip() not in ("", "$HOME")
    with pytest.raises(UsageError, match="one string"):
        backend.start(spec("two", "echo", "x", shell=True))


@pytest.mark.tmux
@pytest.mark.parametrize("name", ["a.b", "a:b", "-x", "", "x" * 65, "tab\there"])
def test_bad_names_are_refused_before_tmux(tmux_server: TmuxServer, name: str) -> None:
    backend = tmux_server.backend()
    before = backend.spawns
    with pytest.raises(UsageError, match="cannot start tmux session"):
        backend.start(sleeper(name))
    assert backend.spawns == before
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_bad_name_from_config_names_the_file(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    origin = Origin("sesstui.yml", 12, "sessions.a.b")
    with pytest.raises(ConfigError) as info:
        backend.start(sleeper("a.b", origin=origin))
    assert info.value.message.startswith("sesstui.yml:12: sessions.a.b: ")
    assert "'.' or ':'" in info.value.message


@pytest.mark.tmux
def test_lookups_never_reach_other_targets(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("a"))
    tmux_server.run("new-window", "-d", "-t", "=a:", "-n", "b", "sleep 600")
    for ref in ("a:b", "a.0", "a:", ""):
        with pytest.raises(SessionNotFound, match="not a tmux session name"):
            backend.get(ref)
        with pytest.raises(SessionNotFound):
            backend.stop(ref)
    assert tmux_server.has("a")


@pytest.mark.tmux
def test_exact_names_never_match_prefixes(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("foo-10"))
    with pytest.raises(SessionNotFound):
        backend.get("foo")
    with pytest.raises(SessionNotFound):
        backend.stop("foo", graceful=False)
    with pytest.raises(SessionNotFound):
        backend.attach_argv("foo")
    with pytest.raises(SessionNotFound):
        backend.tail("foo")
    assert tmux_server.has("foo-10")

    backend.start(sleeper("foo"))
    backend.stop("foo", graceful=False)
    assert not tmux_server.has("foo")
    assert tmux_server.has("foo-10")
    assert [s.name for s in backend.list_sessions()] == ["foo-10"]


class _VanishFirst(TmuxRunner):
    """The backend's runner, except that ``foo`` ends (through the test's own
    tmux) just before the backend's first ``command``: the moment between a
    lookup and the command that acts on it."""

    def __init__(self, backend: TmuxBackend, server: TmuxServer, command: str) -> None:
        inner = backend.runner
        super().__init__(inner.tmux, socket_name=inner.socket_name, timeout=inner.timeout)
        self.server = server
        self.command = command
        self.vanished = False

    def run(self, *args: str, timeout: float | None = None) -> Any:
        if args and args[0] == self.command and not self.vanished:
            self.vanished = True
            self.server.run("kill-session", "-t", "=foo")
        return super().run(*args, timeout=timeout)


@pytest.mark.tmux
def test_a_stop_racing_the_end_of_the_session_spares_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    racing = _VanishFirst(backend, tmux_server, "kill-session")
    backend.runner = racing
    backend.stop("foo", graceful=False)  # foo ended on its own: done, not an error
    assert racing.vanished
    assert not tmux_server.has("foo")
    assert tmux_server.has("foobar")  # `kill-session -t foo` would have killed foobar


@pytest.mark.tmux
def test_a_graceful_stop_sees_its_session_end_not_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """C-c ends ``foo`` (its only pane exits); the stop must notice that at
    once rather than watch ``foobar``'s panes until the timeout."""
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            backend.stop("foo", graceful=True, timeout=600)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    worker = threading.Thread(target=stop, daemon=True)
    worker.start()
    wait_for(lambda: not worker.is_alive(), 30, "the stop to see foo gone")
    assert not errors, errors
    assert not tmux_server.has("foo")
    assert tmux_server.has("foobar")


@pytest.mark.tmux
def test_attach_argv_of_a_session_that_ended_never_attaches_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """The argv runs later (after the app suspends); by then ``foo`` may be gone."""
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    argv = backend.attach_argv("foo", env={})
    tmux_server.run("kill-session", "-t", "=foo")
    # no terminal here: tmux reaches "not a terminal" only after it found a target
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    proc = subprocess.run(
        argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert "can't find session" in proc.stderr, proc.stderr
    assert tmux_server.has("foobar")


@pytest.mark.tmux
def test_switch_argv_of_a_session_that_ended_never_switches_to_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """Inside the server the argv is switch-client: a client on ``bar`` must
    stay there when ``foo`` ended meanwhile, not move to ``foobar``."""
    backend = tmux_server.backend()
    for name in ("bar", "foobar", "foo"):
        backend.start(sleeper(name))
    argv = backend.attach_argv("foo", env={"TMUX": f"{tmux_server.socket_file()},1,0"})
    assert "switch-client" in argv
    tmux_server.run("kill-session", "-t", "=foo")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    with tmux_server.control_client("bar"):
        wait_for(lambda: tmux_server.run("list-clients", "-F", "#{client_session}") != "", 10)
        # from outside any pane tmux picks the attached client as the current one
        proc = subprocess.run(
            argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
        )
        assert proc.returncode != 0
        assert "can't find session" in proc.stderr, proc.stderr
        assert tmux_server.run("list-clients", "-F", "#{client_session}").split() == ["bar"]


@pytest.mark.tmux
def test_starting_a_running_session_is_refused(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("twice"))
    with pytest.raises(ActionFailed, match="already running") as info:
        backend.start(sleeper("twice"))
    assert info.value.title == "Already running"
    assert len(backend.list_sessions()) == 1


@pytest.mark.tmux
def test_missing_command_is_reported_and_leaves_nothing(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    with pytest.raises(ActionFailed, match="'sesstui-no-such-cmd' was not found") as info:
        backend.start(spec("ghost", "sesstui-no-such-cmd", "--flag"))
    assert info.value.title == "Command not found"
    with pytest.raises(ActionFailed, match="not an executable file"):
        backend.start(spec("ghost", "/nonexistent/bin/thing"))
    assert not tmux_server.has("ghost")
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_missing_command_in_a_shell_is_reported_and_leaves_nothing(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    with pytest.raises(ActionFailed, match="status 127: command not found") as info:
        backend.start(spec("ghost", "sesstui-no-such-cmd --flag", shell=True))
    assert "sesstui-no-such-cmd" in info.value.message
    assert not tmux_server.has("ghost")
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_command_that_dies_at_once_is_reported_with_its_output(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    code = (
        "import sys, time\n"
        "print('bad config: port missing', flush=True)\n"
        "time.sleep(0.05)\n"
        "sys.exit(3)"
    )
    with pytest.raises(ActionFailed, match="exited at once with status 3") as info:
        backend.start(spec("crash", PY, "-c", code))
    assert "bad config: port missing" in info.value.message
    assert not tmux_server.has("crash")
    with pytest.raises(ActionFailed, match="exited at once on signal 15"):
        backend.start(spec("killed", "sh", "-c", "kill -TERM $$"))
    assert not tmux_server.has("killed")
    # the pane of a started session closes normally again when it exits later
    backend.start(spec("later", PY, "-c", "import time; time.sleep(1.5)"))
    wait_for(lambda: not tmux_server.has("later"), what="the session to end by itself")


@pytest.mark.tmux
def test_bad_working_dir_and_env_are_usage_errors(tmux_server: TmuxServer, tmp_path: Path) -> None:
    backend = tmux_server.backend()
    with pytest.raises(UsageError, match="working_dir"):
        backend.start(sleeper("wd", working_dir=tmp_path / "missing"))
    with pytest.raises(UsageError, match="env name"):
        backend.start(sleeper("wd", env={"A=B": "1"}))
    assert backend.list_sessions() == []


def _signal_program(marker: Path, *, ignore: bool) -> tuple[str, ...]:
    handler = (
        "signal.signal(signal.SIGINT, signal.SIG_IGN)"
        if ignore
        else "signal.signal(signal.SIGINT, lambda *a: (marker.write_text('stopped'), sys.exit(0)))"
    )
    code = (
        "import pathlib, signal, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        f"{handler}\n"
        "marker.with_suffix('.ready').write_text('1')\n"
        "while True: time.sleep(0.1)\n"
    )
    return (PY, "-c", code)


@pytest.mark.tmux
def test_graceful_stop_lets_the_program_exit(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("polite", *_signal_program(marker, ignore=False)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("polite", timeout=30)
    assert marker.read_text() == "stopped"
    assert not tmux_server.has("polite")


@pytest.mark.tmux
def test_graceful_stop_kills_after_the_timeout(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("stubborn", *_signal_program(marker, ignore=True)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("stubborn", timeout=0.5)
    assert not tmux_server.has("stubborn")
    assert not marker.exists()


@pytest.mark.tmux
def test_forced_stop_kills_at_once(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("victim", *_signal_program(marker, ignore=False)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("victim", graceful=False)
    assert not tmux_server.has("victim")
    assert not marker.exists()
    with pytest.raises(SessionNotFound, match="no tmux session 'victim'"):
        backend.stop("victim")


@pytest.mark.tmux
def test_attach_argv_against_the_real_socket(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("bot"))
    real_socket = tmux_server.socket_file()
    inside = backend.attach_argv("bot", env={"TMUX": f"{real_socket},1,0"})
    assert inside[1:] == ["-L", tmux_server.socket, "switch-client", "-t", "=bot"]
    outside = backend.attach_argv("bot", env={})
    assert outside[1:] == ["-L", tmux_server.socket, "attach-session", "-t", "=bot"]
    assert Path(outside[0]).name == "tmux"
    elsewhere = backend.attach_argv("bot", env={"TMUX": "/tmp/tmux-0/other,1,0"})
    assert elsewhere[3] == "attach-session"


@pytest.mark.tmux
def test_tail_shows_the_scrollback(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    code = "import time\nfor i in range(50): print(f'line {i}')\ntime.sleep(600)"
    backend.start(spec("printer", PY, "-c", code))
    tmux_server.wait_screen("=printer:", "line 49")
    assert [s.name for s in backend.logs("printer")] == ["pane"]
    stream = backend.tail("printer", lines=10)
    assert [line.text for line in stream] == [f"line {i}" for i in range(40, 50)]
    assert stream.read_available(0) == []


@pytest.mark.tmux
def test_follow_shows_new_output_and_stops_piping(
    tmux_server: TmuxServer, isolated_home: Path
) -> None:
    backend = tmux_server.backend()
    backend.start(spec("echoer", "cat"))
    tmux_server.run("send-keys", "-t", "=echoer:", "before-follow", "Enter")
    tmux_server.wait_screen("=echoer:", "before-follow")
    stream = backend.tail("echoer", lines=20, follow=True)
    try:
        first = [line.text for line in stream.read_available(0)]
        assert "before-follow" in first
        assert tmux_server.value("=echoer:", "#{pane_pipe}") == "1"
        tmux_server.run("send-keys", "-t", "=echoer:", "hello \x1b[31mfollow", "Enter")
        # cat's copy of the line: its escape sequence stripped from the raw pipe
        read_until(stream, "hello follow")
    finally:
        stream.close()
    assert stream.closed
    assert stream.read_available(0) == []
    assert tmux_server.value("=echoer:", "#{pane_pipe}") == "0"
    log = isolated_home / ".local/state/sesstui/tmux-logs/tm/echoer.log"
    assert "hello" in log.read_text(errors="replace")


@pytest.mark.tmux
def test_two_followers_share_one_pipe(tmux_server: TmuxServer, tmp_path: Path) -> None:
    backend = tmux_server.backend(log_dir=tmp_path / "pipes")
    backend.start(spec("shared", "cat"))
    one = backend.tail("shared", follow=True)
    two = backend.tail("shared", follow=True)
    one.read_available(0)
    two.read_available(0)
    one.close()
    assert tmux_server.value("=shared:", "#{pane_pipe}") == "1"
    tmux_server.run("send-keys", "-t", "=shared:", "still-here", "Enter")
    read_until(two, "still-here")
    backend.close()  # closes the second stream and its pipe
    assert two.closed
    assert tmux_server.value("=shared:", "#{pane_pipe}") == "0"
    assert (tmp_path / "pipes" / "shared.log").exists()


@pytest.mark.tmux
def test_session_dir_log_outlives_the_session(tmux_server: TmuxServer, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    backend = tmux_server.backend(session_dirs={"runs": runs})
    code = (
        "import sys\n"
        "print('first line', flush=True)\n"
        "for line in sys.stdin: print('got', line.strip(), flush=True)"
    )
    started = backend.start(spec("logged", PY, "-c", code, session_dir="runs"))
    (session_dir,) = runs.iterdir()
    parsed = parse_name(session_dir.name)
    assert parsed is not None and parsed.pid == started.pid
    log = session_dir / "logs" / "tmux.log"
    assert started.metadata["log"] == str(log)
    wait_for(lambda: "first line" in log.read_text(), what="the pipe to write the log")

    # the dirs backend sees an active session while the pane runs
    dirs = DirsBackend(dirs_config(runs))
    (row,) = dirs.list_sessions()
    assert row.state is State.ACTIVE
    assert [s.name for s in dirs.logs(row.id)] == ["logs/tmux.log"]

    sources = {s.name: s for s in backend.logs("logged")}
    assert sources["pipe"].path == log
    stream = backend.tail("logged", follow=True)
    try:
        assert "first line" in [line.text for line in stream.read_available(0)]
        tmux_server.run("send-keys", "-t", "=logged:", "ping", "Enter")
        read_until(stream, "got ping")
    finally:
        stream.close()
    pipe_lines = [line.text for line in backend.tail("logged", source="pipe", lines=50)]
    assert "first line" in pipe_lines and "got ping" in pipe_lines

    backend.stop("logged", graceful=False)
    assert not tmux_server.has("logged")
    text = log.read_text()
    assert "first line" in text and "got ping" in text
    wait_for(lambda: dirs.list_sessions()[0].state is State.IDLE, what="the dir to go idle")


@pytest.mark.tmux
def test_unknown_session_dir_is_refused(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend(session_dirs={})
    with pytest.raises(UsageError, match="session_dir 'runs'"):
        backend.start(sleeper("x", session_dir="runs"))
    assert backend.list_sessions() == []


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


@pytest.mark.tmux
def test_too_old_tmux_is_refused_before_starting(tmux_server: TmuxServer, tmp_path: Path) -> None:
    # An old tmux cannot be installed next to the real one here, so a wrapper
    # reports version 2.9 for `-V` and runs the real tmux for everything else.
    old = tmp_path / "tmux-2.9"
    old.write_text(
        "#!/bin/sh\n"
        '[ "$1" = -V ] && { echo "tmux 2.9"; exit 0; }\n'
        f'exec {tmux_server.tmux} "$@"\n'
    )
    old.chmod(0o755)
    cfg = replace(tmux_server.config(), tmux=str(old))
    backend = TmuxBackend(cfg)
    with pytest.raises(ActionFailed, match=r"tmux 2\.9 is too old .* 3\.0 or newer"):
        backend.start(sleeper("ancient"))
    assert not tmux_server.has("ancient")
    assert backend.list_sessions() == []  # listing still works on the old binary


@pytest.mark.tmux
def test_start_works_when_stdout_has_no_encoding(
    tmux_server: TmuxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the dashboard, Textual replaces sys.stdout with an object that has
    no ``encoding``; starting a session (and its version check) must not care."""

    class Capture:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            return None

    monkeypatch.setattr(sys, "stdout", Capture())
    backend = tmux_server.backend()
    backend.start(sleeper("captured"))
    assert tmux_server.has("captured")
