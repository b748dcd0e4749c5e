"""A terminal that goes away ends the app: never an orphan spinning on a dead
terminal (Textual's input thread loops on end-of-file there).

Real terminals: tmux panes whose server is killed.  The app runs under
``setsid``, in a session of its own, so the kernel's SIGHUP goes to the pane's
shell and never reaches it: only the guard's watchdog can see the terminal
go.  Before the guard such a process ran at half a core until SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.tmux_fixtures import Terminal, need_tmux
from tui.hangup import HangupGuard

ROOT = Path(__file__).resolve().parent.parent


def _pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _apps_in(tmp_path: Path) -> list[int]:
    """The sesstui processes started with this test's TMPDIR."""
    marker = f"TMPDIR={tmp_path / 'tmp'}".encode()
    found = []
    for pid in _pids("tui[.]cli"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if argv[:3] == [sys.executable.encode(), b"-m", b"tui.cli"] and marker in env:
                found.append(pid)
        except OSError:
            continue  # gone meanwhile
    return found


def _gone(tmp_path: Path, what: str) -> None:
    """Wait for this test's app to end; a failure kills what is left, so a
    spinning orphan never outlives the test."""
    try:
        wait_for(lambda: not _apps_in(tmp_path), 30, what)
    finally:
        for pid in _apps_in(tmp_path):
            os.kill(pid, signal.SIGKILL)


def _config(tmp_path: Path) -> Path:
    base = tmp_path / "runs"
    (base / "session_2026-01-01-00-00-00_a").mkdir(parents=True)
    config = tmp_path / "hangup-config.yml"
    config.write_text(f"backends:\n  - name: runs\n    kind: dirs\n    base: {base}\n")
    return config


def _start_detached(term: Terminal, tmp_path: Path, args: str) -> None:
    env = (
        f"PYTHONPATH={ROOT} TERM=xterm-256color HOME={tmp_path} "
        f"XDG_STATE_HOME={tmp_path / 'state'} TMPDIR={tmp_path / 'tmp'} "
        f"DOCKER_HOST=unix://{tmp_path}/no-docker.sock"
    )
    (tmp_path / "tmp").mkdir(exist_ok=True)
    # setsid: the app is not in the terminal's session, so no SIGHUP reaches it
    term.start(f"cd {ROOT} && env {env} setsid -w {sys.executable} -m tui.cli {args}")


@pytest.mark.tmux
@pytest.mark.slow
def test_the_dashboard_ends_when_its_terminal_goes_without_a_signal(tmp_path: Path) -> None:
    term = Terminal(need_tmux(), "sesstui-hangup-test")
    config = _config(tmp_path)
    try:
        _start_detached(term, tmp_path, f"--config {config}")
        term.wait_for("Sessions", 30)
        (pid,) = _apps_in(tmp_path)
    finally:
        term.kill()  # the terminal goes: its pty is hung up
    _gone(tmp_path, f"process {pid} to end")


@pytest.mark.tmux
@pytest.mark.slow
def test_the_demo_cleans_up_when_its_terminal_goes_without_a_signal(tmp_path: Path) -> None:
    term = Terminal(need_tmux(), "sesstui-hangup-demo")
    try:
        _start_detached(term, tmp_path, "demo")
        term.wait_for("Sessions", 30)
        (root,) = (tmp_path / "tmp").glob("sesstui-demo-*")
        (pid,) = _apps_in(tmp_path)
    finally:
        term.kill()
    _gone(tmp_path, f"the demo ({pid}) to end")
    assert not root.exists()  # its sandbox went with it
    wait_for(lambda: not _pids(f"tui.demo worker {root}"), 10, "the live worker to stop")


class _App:
    """What the guard asks of an app: ``call_from_thread`` and ``exit``; this
    one never runs, as an app wedged on a dead terminal."""

    def call_from_thread(self, *args: Any) -> None:
        raise RuntimeError("App is not running")

    def exit(self, *args: Any) -> None:
        raise AssertionError("not reached")


def test_an_app_that_does_not_exit_is_ended_after_cleaning_up() -> None:
    done = threading.Event()
    calls: list[str] = []
    tty = {"yes": True}

    def exit_(code: int) -> None:
        calls.append(f"exit {code}")
        done.set()

    guard = HangupGuard(
        _App(),  # type: ignore[arg-type]
        cleanup=lambda: calls.append("cleanup"),
        fd=0,
        interval=0.01,
        grace=0.01,
        signals=(),
        exit=exit_,
        isatty=lambda fd: tty["yes"],
    )
    with guard:
        tty["yes"] = False  # the terminal is hung up
        assert done.wait(30)
    assert calls == ["cleanup", f"exit {128 + signal.SIGHUP}"]
    assert guard.hung_up


def test_a_signal_asks_the_app_to_exit_with_its_code() -> None:
    calls: list[str] = []
    asked = threading.Event()

    class Obedient(_App):
        def call_from_thread(self, *args: Any) -> None:
            asked.set()

    with HangupGuard(
        Obedient(),  # type: ignore[arg-type]
        cleanup=lambda: calls.append("cleanup"),
        fd=0,
        grace=3600,
        signals=(signal.SIGUSR1,),
        exit=lambda code: calls.append(f"exit {code}"),
        isatty=lambda fd: False,  # not a terminal: no watchdog
    ) as guard:
        signal.raise_signal(signal.SIGUSR1)
        assert asked.wait(30)
    assert guard.code == 128 + signal.SIGUSR1
    assert calls == []  # asked, and it returned: nothing cleaned up or ended here
