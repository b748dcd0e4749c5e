"""Running the tmux client against one server, counted and with a timeout.

Every tmux process the backend starts goes through :meth:`TmuxRunner.run`,
which counts it in :attr:`TmuxRunner.spawns` (the inventory budget is one
process per refresh, and tests and the benchmark check it).

The client runs with ``-u`` so its output is never sanitised for a non-UTF-8
locale (it would replace bytes and break the listing's length framing), and
without ``$TMUX``: tmux would otherwise talk to the server named there instead
of the default one when sesstui itself runs inside tmux.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import BackendUnavailable

# Variables that redirect a tmux client to another server; never inherited.
_REDIRECTS = ("TMUX", "TMUX_PANE")


class Outcome(enum.Enum):
    """What a failed tmux command means, from its error text."""

    OK = "ok"
    NO_SERVER = "no-server"  # nothing listens on the socket
    LOST_SERVER = "lost-server"  # the server went away while answering
    NOT_FOUND = "not-found"  # the session, window or pane does not exist
    DUPLICATE = "duplicate"  # new-session: the name is taken
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TmuxResult:
    """Exit status, raw stdout and decoded stderr of one tmux process."""

    returncode: int
    stdout: bytes
    stderr: str
    outcome: Outcome

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def message(self) -> str:
        """tmux's own error text, one line."""
        return " ".join(self.stderr.split()) or f"tmux exited with status {self.returncode}"


def classify(returncode: int, stderr: str) -> Outcome:
    if returncode == 0:
        return Outcome.OK
    text = stderr.lower()
    # tmux 3.x: "no server running on PATH" (refused / stale socket) and
    # "error connecting to PATH (No such file or directory)" (no socket).
    if "no server running" in text or (
        "error connecting to" in text and "no such file or directory" in text
    ):
        return Outcome.NO_SERVER
    if "server exited" in text or "lost server" in text:
        return Outcome.LOST_SERVER
    if "duplicate session" in text:
        return Outcome.DUPLICATE
    if (
        "can't find" in text
        or "session not found" in text
        or "no such session" in text
        or "no current target" in text  # list-panes -a on a server with no sessions
    ):
        return Outcome.NOT_FOUND
    return Outcome.FAILED


class TmuxRunner:
    """The tmux binary plus the server flags of one backend."""

    def __init__(
        self,
        tmux: str = "tmux",
        *,
        socket_name: str | None = None,
        socket_path: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        if socket_name is not None and socket_path is not None:
            raise ValueError("give socket_name or socket_path, not both")
        self.tmux = tmux
        self.socket_name = socket_name
        self.socket_path = (
            Path(os.path.expanduser(socket_path)) if socket_path is not None else None  # noqa: PTH111
        )
        self.timeout = timeout
        self._count_lock = threading.Lock()
        self._spawns = 0

    # -- identity -------------------------------------------------------------

    @property
    def spawns(self) -> int:
        """How many tmux processes this runner has started."""
        return self._spawns

    @property
    def server_args(self) -> list[str]:
        if self.socket_path is not None:
            return ["-S", str(self.socket_path)]
        if self.socket_name is not None:
            return ["-L", self.socket_name]
        return []

    def describe(self) -> str:
        """The server, as a person would name it: ``default``, ``-L x``, ``-S p``."""
        args = self.server_args
        return " ".join(args) if args else "default"

    def socket_file(self, env: Mapping[str, str] | None = None) -> Path:
        """Where this server's socket is, resolved the way tmux resolves it:
        ``-S`` as given, else ``${TMUX_TMPDIR:-/tmp}/tmux-UID/<name|default>``."""
        if self.socket_path is not None:
            return self.socket_path
        environ = os.environ if env is None else env
        base = environ.get("TMUX_TMPDIR") or "/tmp"  # tmux's own default
        return Path(base) / f"tmux-{os.getuid()}" / (self.socket_name or "default")

    # -- running --------------------------------------------------------------

    def not_installed(self) -> str:
        where = f"'{self.tmux}' on PATH" if os.sep not in self.tmux else f"'{self.tmux}'"
        return f"tmux is not installed (looked for {where}); install it or set `tmux:` to its path"

    def binary(self) -> str:
        """The tmux executable's path; :class:`BackendUnavailable` when missing."""
        found = shutil.which(self.tmux)
        if found is None:
            raise BackendUnavailable(self.not_installed(), title="tmux not found")
        return found

    def run(self, *args: str, timeout: float | None = None) -> TmuxResult:
        """Run ``tmux [-u] [-L|-S ...] args...`` once; never raises for a
        failed tmux command (see :attr:`TmuxResult.outcome`), only for a
        missing binary or a server that does not answer in time."""
        binary = self.binary()
        argv = [binary, "-u", *self.server_args, *args]
        env = {k: v for k, v in os.environ.items() if k not in _REDIRECTS}
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                close_fds=True,
            )
        except FileNotFoundError as e:  # removed between which() and exec
            raise BackendUnavailable(self.not_installed(), title="tmux not found") from e
        except OSError as e:
            raise BackendUnavailable(
                f"cannot run {binary}: {e.strerror or e}; check that it is an executable tmux"
            ) from e
        with self._count_lock:
            self._spawns += 1
        limit = self.timeout if timeout is None else timeout
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.communicate()
            raise BackendUnavailable(
                f"tmux server {self.describe()} did not answer `{args[0]}` within {limit:g}s; "
                "it may be stuck (check it with `tmux "
                f"{' '.join(self.server_args)} info`)"
            ) from e
        stderr = err.decode("utf-8", errors="replace")
        return TmuxResult(proc.returncode, out, stderr, classify(proc.returncode, stderr))
