"""End to end in a real terminal: the demo under tmux, driven by keystrokes."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmux_fixtures import Terminal, need_tmux

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.tmux


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(need_tmux(), "sesstui-e2e")
    yield t
    t.kill()


def _demo_dirs(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("sesstui-demo-*"))


def test_demo_filter_follow_quit_leaves_nothing(terminal: Terminal, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    done = tmp_path / "exit-code"
    # no Docker engine (so the count is the same everywhere); the user's state
    # dir must stay untouched: the demo keeps its own inside the sandbox
    users_state = tmp_path / "state"
    env = (
        f"TMPDIR={tmpdir} PYTHONPATH={ROOT} TERM=xterm-256color "
        f"DOCKER_HOST=unix://{tmp_path}/no-docker.sock XDG_STATE_HOME={users_state}"
    )
    terminal.start(f"cd {ROOT} && env {env} {sys.executable} -m tui.cli demo; echo $? > {done}")
    # 12 sandbox dirs + the live one, 6 in-memory KV sessions, 3 JSON records,
    # 2 tmux sessions on the demo's private server
    terminal.wait_for("Sessions 24")
    (sandbox,) = _demo_dirs(tmpdir)
    tmux_socket = sandbox / "tmux.sock"
    assert tmux_socket.is_socket()
    # the live session is the newest: select it (top row) and see its log grow
    terminal.keys("g")
    assert "following" in terminal.wait_for("demo.wor")
    terminal.keys("z")  # full-width log: whole lines at 80 columns
    terminal.wait_for("processed batch 3")
    terminal.keys("z")
    terminal.wait_for("Backend")  # back from the zoom: the table is there again
    # filter: the live session's process and the two tmux sessions are running
    terminal.keys("/", "r", "u", "n", "n", "i", "n", "g")  # one burst, as over SSH
    screen = terminal.wait_for("Sessions 3/24")
    table = screen.split("Log ·")[0]  # at 80 columns the log is under the table
    assert "active" in table and "build" in table and "idle" not in table
    terminal.keys("Escape")
    terminal.wait_for("Sessions 24")
    # search the log, typed in one burst behind "/": every key lands in the
    # search box ("d" is never the dashboard's delete)
    terminal.keys("g", "l")
    terminal.wait_for("Search")  # the log pane has the focus: its keys in the footer
    terminal.keys("/", "d", "e", "m", "o", "Enter")
    screen = terminal.wait_for("match ")
    assert "plan" not in screen
    terminal.keys("Escape")  # clears the search
    # a key right behind ESC would read as alt+key: give the terminal a beat
    time.sleep(0.5)
    terminal.keys("q")
    deadline = time.monotonic() + 20
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done.read_text().strip() == "0"
    assert _demo_dirs(tmpdir) == []  # the sandbox is gone
    workers = subprocess.run(
        ["pgrep", "-f", f"tui.demo worker {tmpdir}"], capture_output=True, check=False
    )
    assert workers.stdout == b""
    # the demo's tmux server is gone with its socket; no Docker, so no containers
    server = subprocess.run(
        [terminal.tmux, "-S", str(tmux_socket), "list-sessions"], capture_output=True, check=False
    )
    assert server.returncode != 0 and not tmux_socket.exists()
    assert not users_state.exists()


@pytest.fixture
def inner(terminal: Terminal) -> Iterator[str]:
    """A second tmux server with one session that printed a marker."""
    sock = f"sesstui-e2e-inner-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [terminal.tmux, "-L", sock, "new-session", "-d", "-s", "job", "-x", "80", "-y", "24",
         "echo INNER-MARKER; sleep 600"],
        check=True,
    )  # fmt: skip
    yield sock
    subprocess.run([terminal.tmux, "-L", sock, "kill-server"], capture_output=True, check=False)


def _detach_all(terminal: Terminal, sock: str) -> None:
    # detach from the inner server's side: the outer terminal's prefix key
    # would otherwise catch the keystroke meant for the inner tmux
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        clients = subprocess.run(
            [terminal.tmux, "-L", sock, "list-clients"], capture_output=True, text=True, check=False
        ).stdout
        if clients.strip():
            subprocess.run([terminal.tmux, "-L", sock, "detach-client", "-s", "job"], check=True)
            return
        time.sleep(0.1)
    raise AssertionError("no client ever attached to the inner session")


def test_attach_from_the_dashboard_and_come_back(
    terminal: Terminal, inner: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: work, kind: tmux, socket_name: {inner}}}\n")
    env = f"PYTHONPATH={ROOT} TERM=xterm-256color"
    terminal.start(f"cd {tmp_path} && env {env} {sys.executable} -m tui.cli --config {cfg}")
    terminal.wait_for("running")  # the tmux row
    terminal.keys("a")
    terminal.wait_for("INNER-MARKER")  # the app suspended; the inner session is on screen
    _detach_all(terminal, inner)
    screen = terminal.wait_for("Sessions 1")  # back in the dashboard, refreshed
    assert "work" in screen
    terminal.keys("q")


def test_cli_attach_from_a_plain_shell(terminal: Terminal, inner: str, tmp_path: Path) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: work, kind: tmux, socket_name: {inner}}}\n")
    done = tmp_path / "rc"
    env = f"PYTHONPATH={ROOT} TERM=xterm-256color"
    terminal.start(
        f"cd {tmp_path} && env -u TMUX {env} {sys.executable} -m tui.cli --config {cfg} "
        f"attach job; echo $? > {done}; sleep 30"
    )
    terminal.wait_for("INNER-MARKER")
    _detach_all(terminal, inner)
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done.read_text().strip() == "0"


def test_the_command_line_filters_by_kind_with_completion(
    terminal: Terminal, tmp_path: Path
) -> None:
    """``:`` in a real terminal: keys sent in one burst behind it land in the
    box (``d`` is never delete), Tab completes, Enter shows the view in the
    header, an unknown word is refused, ``:all`` shows everything again."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = (
        f"TMPDIR={tmpdir} PYTHONPATH={ROOT} TERM=xterm-256color "
        f"DOCKER_HOST=unix://{tmp_path}/no-docker.sock"
    )
    terminal.start(f"cd {ROOT} && env {env} {sys.executable} -m tui.cli demo")
    terminal.wait_for("Sessions 24")
    terminal.keys(":", "d", "i")  # one burst: "d" is text here, not delete
    screen = terminal.wait_for(":dirs")  # the hint lists the matches
    assert "plan" not in screen
    terminal.keys("Tab")
    terminal.wait_for("▊  dirs")  # completed in the box
    terminal.keys("Enter")
    screen = terminal.wait_for("Sessions 13/24")  # the 13 session directories
    assert " :dirs " in screen.splitlines()[0]  # the view, in the header
    terminal.keys(":", "t", "m", "u", "x", "Enter")
    screen = terminal.wait_for("Sessions 2/24")
    assert " :tmux " in screen.splitlines()[0] and "build" in screen
    terminal.keys(":", "n", "o", "p", "e", "Enter")
    terminal.wait_for("unknown: 'nope'")
    terminal.keys("Escape")
    time.sleep(0.5)  # a key right behind ESC would read as alt+key
    terminal.keys(":", "a", "l", "l", "Enter")
    screen = terminal.wait_for("Sessions 24 ")
    assert ":tmux" not in screen.splitlines()[0]
    terminal.keys("q")


def test_a_filter_with_enter_and_a_key_behind_it_in_one_burst(
    terminal: Terminal, tmp_path: Path
) -> None:
    """``/running<Enter>?`` in one packet (as over SSH): the filter applies, and
    the ``?`` behind Enter is the dashboard's help key, not text in the box
    (it used to land in the box: ``running?``, a query that never applied)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = (
        f"TMPDIR={tmpdir} PYTHONPATH={ROOT} TERM=xterm-256color "
        f"DOCKER_HOST=unix://{tmp_path}/no-docker.sock"
    )
    terminal.start(f"cd {ROOT} && env {env} {sys.executable} -m tui.cli demo")
    terminal.wait_for("Sessions 24")
    terminal.keys("/", *"running", "Enter", "?")  # one send-keys: one burst
    terminal.wait_for("esc to close")  # the help screen
    terminal.keys("Escape")
    screen = terminal.wait_for("Sessions 3/24")
    assert "running?" not in screen and "filter: running" in screen
    # typed slowly, the same: Enter leaves the box, the next key is the table's
    terminal.keys("Escape")
    terminal.wait_for("Sessions 24")
    time.sleep(0.5)  # a key right behind ESC would read as alt+key
    terminal.keys("/", *"running")
    terminal.wait_for("Sessions 3/24")
    terminal.keys("Enter", "?")
    terminal.wait_for("esc to close")
    terminal.keys("Escape")
    assert "running?" not in terminal.wait_for("Sessions 3/24")
    terminal.keys("q")
