"""A real terminal for the live benches: a private tmux server, and /proc readings of a process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Tmux:
    """One private tmux server (its own socket file, no config file)."""

    def __init__(self, socket: Path, env: Mapping[str, str]) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("the live benches need tmux on PATH")
        self.socket = socket
        self.env = dict(env)
        self.env.setdefault("TERM", "xterm-256color")

    def cmd(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        size: tuple[int, int] = (120, 40),
    ) -> int:
        """Start ``argv`` in a new session's pane (exec'd directly, no shell); its pid."""
        extra = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        self.cmd(
            "new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
            "-c", str(cwd), *extra, "--", *argv,
        )  # fmt: skip
        return int(self.cmd("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def server_pid(self) -> int:
        return int(self.cmd("display-message", "-p", "#{pid}").strip())

    def capture(self, name: str, *, escapes: bool = False) -> str:
        return self.cmd("capture-pane", "-p", "-t", name, *(["-e"] if escapes else []))

    def send(self, name: str, *keys: str) -> None:
        self.cmd("send-keys", "-t", name, *keys)

    def kill_session(self, name: str) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-session", "-t", name],
            env=self.env,
            capture_output=True,
            check=False,
        )

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"],
            env=self.env,
            capture_output=True,
            check=False,
        )


def cpu_seconds(pid: int) -> float:
    """CPU time of a process (all threads) and of its children it has waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for(
    check: Callable[[], bool], *, timeout: float, step: float = 0.005, what: str = "a condition"
) -> float:
    """Poll ``check`` until it holds; the ``time.monotonic()`` at which it did."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(step)


def rows_on_screen(screen: str, pattern: str) -> int:
    """How many lines of a capture show a row (a match of ``pattern``)."""
    regex = re.compile(pattern)
    return sum(1 for line in screen.splitlines() if regex.search(line))


def table_lines(screen: str, pattern: str) -> list[str]:
    """The lines of a capture (with escapes) that show rows: what a cursor move changes,
    leaving out clocks and counters elsewhere on the screen."""
    regex = re.compile(pattern)
    return [line for line in screen.splitlines() if regex.search(line)]


def read_mark(path: Path) -> float:
    wait_for(lambda: path.exists() and path.stat().st_size > 0, timeout=600, what=str(path))
    return float(path.read_text())
