"""Throwaway tmux servers on private sockets for the tmux backend tests.

Every server lives on ``-L sesstui-test-<uuid>`` and is killed (socket file
removed) in teardown; the user's default server is never touched.  Servers
boot with ``-f /dev/null`` so no user or system tmux.conf changes behaviour:
``TmuxServer.boot``, the ``socket_name`` fixture (which boots one) and
``tmux_on`` (which passes ``-f /dev/null`` on every call) all do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.dirs.schema import DirsBackendConfig
from core.tmux.backend import TmuxBackend
from core.tmux.schema import TmuxBackendConfig
from tests.helpers import unavailable, wait_for


def need_tmux() -> str:
    """The tmux binary; skip without one, except under CI=true where it fails."""
    tmux = shutil.which("tmux")
    if tmux is None:
        unavailable("tmux is not installed (scripts/test.sh installs it)")
    return tmux


class TmuxServer:
    """A private tmux server, driven directly (not through the backend)."""

    def __init__(self, tmux: str) -> None:
        self.tmux = tmux
        self.socket = f"sesstui-test-{uuid.uuid4().hex[:10]}"

    def run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [self.tmux, "-u", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=False,
            env=_tmux_env(),
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def boot(self) -> None:
        """Start the server with no config; it stays up with no sessions."""
        self.run("-f", "/dev/null", "start-server", ";", "set-option", "-g", "exit-empty", "off")

    def socket_file(self) -> Path:
        return Path(self.run("display-message", "-p", "#{socket_path}").strip())

    def value(self, target: str, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", target, fmt).strip()

    def new_session(self, name: str, cwd: Path, command: str | None = None) -> None:
        """A detached session working in ``cwd``, once tmux reports that cwd.

        Just after a start tmux can report an empty pane path (it reads it from
        /proc through the pane's foreground process group, which the new
        process has not set up yet); a listing then shows no cwd until the next
        refresh.  Tests about what the cwd relates to wait for it first."""
        self.run("new-session", "-d", "-s", name, "-c", str(cwd), *([command] if command else []))
        target = f"={name}:"
        wait_for(lambda: bool(self.value(target, "#{pane_current_path}")), what="the pane's cwd")

    def has(self, name: str) -> bool:
        target = f"={name}"
        if target.endswith(";"):  # tmux reads a final ';' as the end of the command
            target = target[:-1] + "\\;"
        return (
            subprocess.run(
                [self.tmux, "-L", self.socket, "has-session", "-t", target],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    def screen(self, target: str) -> str:
        return self.run("capture-pane", "-p", "-J", "-t", target, "-S", "-200")

    def wait_screen(self, target: str, text: str, timeout: float = 15.0) -> None:
        wait_for(lambda: text in self.screen(target), timeout, f"{text!r} in pane {target}")

    def config(self, name: str = "tm", *, log_dir: Path | None = None) -> TmuxBackendConfig:
        return TmuxBackendConfig(name=name, kind="tmux", socket_name=self.socket, log_dir=log_dir)

    def backend(
        self,
        name: str = "tm",
        *,
        session_dirs: Mapping[str, Path | DirsBackendConfig] | None = None,
        log_dir: Path | None = None,
    ) -> TmuxBackend:
        return TmuxBackend(self.config(name, log_dir=log_dir), session_dirs=session_dirs)

    @contextmanager
    def control_client(self, session: str) -> Iterator[None]:
        """A control-mode client attached to ``session`` (it counts as an
        attached client) until the block ends."""
        client = subprocess.Popen(
            [self.tmux, "-L", self.socket, "-C", "attach-session", "-t", f"={session}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            assert client.stdin is not None
            client.stdin.close()
            client.wait(10)

    def kill(self) -> None:
        self.run("kill-server", check=False)
        sock = Path(f"/tmp/tmux-{os.getuid()}") / self.socket
        if os.environ.get("TMUX_TMPDIR"):
            sock = Path(os.environ["TMUX_TMPDIR"]) / f"tmux-{os.getuid()}" / self.socket
        sock.unlink(missing_ok=True)


@pytest.fixture(name="tmux_server")
def _tmux_server_fixture(isolated_home: Path) -> Iterator[TmuxServer]:
    """A booted private server (HOME isolated, so pane logs go under tmp)."""
    server = TmuxServer(need_tmux())
    server.boot()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(name="idle_tmux")
def _idle_tmux_fixture(isolated_home: Path) -> Iterator[TmuxServer]:
    """A private socket with no server running on it (yet)."""
    server = TmuxServer(need_tmux())
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(name="socket_name")
def _socket_name_fixture() -> Iterator[str]:
    """A fresh ``-L`` socket name with a server already booted on it with
    ``-f /dev/null`` (and no sessions), so whatever starts the first session
    there (``tmux_on`` or the backend) never loads a tmux.conf.  The server is
    killed and its socket file removed after."""
    server = TmuxServer(need_tmux())
    server.boot()
    try:
        yield server.socket
    finally:
        server.kill()


def _tmux_env() -> dict[str, str]:
    """The environment without the caller's own tmux client (TMUX, TMUX_PANE)."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


def tmux_on(socket: str, *args: str) -> str:
    """Run a tmux command on the ``-L socket`` server; its output.  A server it
    has to start boots with ``-f /dev/null`` (no tmux.conf)."""
    return subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        capture_output=True, text=True, check=True, env=_tmux_env(),
    ).stdout  # fmt: skip


def sessions_on(socket: str) -> set[str]:
    """The session names on the ``-L socket`` server (none when it is down)."""
    out = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
        capture_output=True, text=True, check=False, env=_tmux_env(),
    )  # fmt: skip
    return set(out.stdout.split())


class Terminal:
    """A real terminal: a tmux server on a private socket with one 80x24
    window (named ``term``) running a command, read with capture-pane."""

    WINDOW = "term"

    def __init__(self, tmux: str, prefix: str = "sesstui-term") -> None:
        self.tmux = tmux
        self.socket = f"{prefix}-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=check
        )
        return out.stdout

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", self.WINDOW, "-x", "80", "-y", "24", command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.WINDOW, check=False)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.WINDOW, *keys)

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", self.WINDOW, "#{pane_pid}").strip())

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The screen once ``text`` is on it; fails with the screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")

    def kill(self) -> None:
        self.run("kill-server", check=False)
