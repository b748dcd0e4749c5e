"""The tmux backend against real tmux servers on private sockets: the pane's
scrollback, following it, and the session-dir log."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.dirs.naming import parse_name
from core.errors import (
    UsageError,
)
from core.model import State
from tests.helpers import dirs_config, wait_for
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _tmux_server_fixture,
)
from tests.tmux_helpers import PY, read_until, sleeper, spec


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
    assert started.facts.logs == (str(log),)
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
