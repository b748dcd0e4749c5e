"""The ``tmux`` backend: the sessions of one tmux server.

Listing costs exactly one tmux process (``list-panes -a``, see
:mod:`core.tmux.listing`); :attr:`TmuxBackend.spawns` counts every tmux
process the backend starts.  Sessions are always targeted by exact name
(``=NAME``), so ``foo`` never reaches ``foo-10``.

Health: a missing tmux binary makes the backend UNAVAILABLE with a message
saying what to install or configure; a server that is not running is OK with
no sessions ("no server running"); a server that dies while answering is
DEGRADED for that refresh.

Starting a session (:meth:`TmuxBackend.start`):

* ``shell: false`` (the default) never involves a shell: tmux executes a
  command of two or more arguments directly, and a one-argument command is
  run as ``/bin/sh -c 'exec "$0"' ARG``, which passes ``ARG`` untouched (tmux
  itself would hand a single argument to the shell for parsing).
  ``shell: true`` hands the one command string to the user's shell.
* The program is looked up first on the PATH the pane will get (the spec's
  ``PATH``, else the tmux server's global one), so a missing program is
  reported before anything starts.  Then the window keeps its pane when the
  program exits (``remain-on-exit``, set in the same tmux call, before the
  program can have exited) for ``start_check`` seconds: a pane that died by
  then is reported with its exit status and last output, and the session is
  removed.
* ``session_dir`` names a dirs backend (``session_dirs`` maps names to bases):
  the pane's output is piped (``pipe-pane``) from its first byte into
  ``<base>/<session dir named after the pane pid>/logs/tmux.log``, so it
  outlives the session; the path is kept in the session option
  ``@sesstui_log``.

Logs: ``pane`` is the pane's scrollback and, when following, its output from
then on (piped into ``<log_dir>/<session>.log`` only while someone follows);
``pipe`` is the session-dir log, when there is one.  Followed output is raw
terminal output cleaned of escape sequences (see :mod:`core.tmux.stream`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

from core.backend import BaseBackend, LineStream
from core.config.records import BackendConfig, SessionSpec
from core.dirs.naming import DEFAULT_PREFIX, DEFAULT_TIMESTAMP_FORMAT, make_name
from core.dirs.schema import DirsBackendConfig
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    SesstuiError,
    UsageError,
)
from core.logtail import FileTail
from core.model import (
    BackendHealth,
    Capability,
    HealthStatus,
    LogLine,
    LogSource,
    Session,
    SessionRef,
    State,
    StopDescription,
)
from core.paths import state_dir
from core.tmux.attach import attach_command
from core.tmux.command import Outcome, TmuxResult, TmuxRunner
from core.tmux.listing import FORMAT, LOG_OPTION, PaneRow, parse_panes
from core.tmux.schema import TmuxBackendConfig
from core.tmux.stream import PaneStream
from core.tmux.syntax import (
    literal,
    lookup_name_problem,
    new_name_problem,
    no_format,
    session_target,
    window_target,
)

if TYPE_CHECKING:
    from core.inspection import Section
    from core.stats import SessionStats

# libtmux reads sys.stdout.encoding when imported, which fails under Textual's
# stdout capture: import it with this module (the registry loads it before any
# UI starts), and never let it stop the backend.
try:
    from libtmux import common as _libtmux_common
except Exception:  # noqa: BLE001 - only the advisory version check needs it
    _libtmux_common = None  # type: ignore[assignment]

# new-session -e (per-session environment) arrived in tmux 3.0
MIN_START_VERSION = "3.0"
PANE_SOURCE = "pane"
PIPE_SOURCE = "pipe"

_GONE = (Outcome.NOT_FOUND, Outcome.NO_SERVER, Outcome.LOST_SERVER)
# stands for the pane pid in paths until tmux expands it to #{pane_pid}
_PID_MARK = "SESSTUIPANEPID"
_POLL = 0.05
_LOG_WAIT = 5.0
_STATUS_WAIT = 0.5
_ALREADY_PIPED = (
    "— this pane's output is already piped elsewhere (pipe-pane); "
    "showing its scrollback only, live follow is unavailable —"
)


def _local(ts: int) -> datetime | None:
    return datetime.fromtimestamp(ts).astimezone() if ts > 0 else None


def _active(rows: list[PaneRow]) -> PaneRow:
    """The pane a person sees: the active pane of the session's current window."""
    return next((r for r in rows if r.window_active and r.pane_active), rows[0])


def _zombie_status(pid: int) -> str:
    """The exit status of ``pid`` if it is a zombie ("3", "signal 15"), else ""."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""  # not Linux, or already reaped
    fields = stat[stat.rfind(")") + 2 :].split()
    # fields[0] is the state (field 3 of proc(5)); exit_code is field 52
    if len(fields) < 50 or fields[0] != "Z":
        return ""
    code = int(fields[49])
    if os.WIFSIGNALED(code):
        return f"signal {os.WTERMSIG(code)}"
    return str(os.WEXITSTATUS(code)) if os.WIFEXITED(code) else ""


def _status_words(status: str) -> str:
    if status.startswith("signal"):
        return f" on {status}"
    return f" with status {status}" if status else ""


def _capture_lines(out: bytes, lines: int) -> list[LogLine]:
    # -J keeps trailing spaces and the visible screen ends in blank rows
    texts = [t.rstrip() for t in out.decode("utf-8", errors="replace").split("\n")]
    while texts and not texts[-1]:
        texts.pop()
    return [LogLine(t) for t in texts[-lines:]] if lines > 0 else []


@dataclass(frozen=True, slots=True)
class _LogPlan:
    """Where a session-dir log goes, with ``_PID_MARK`` for the pane pid."""

    template: str

    def path(self, pane_pid: int) -> Path:
        return Path(self.template.replace(_PID_MARK, str(pane_pid)))

    def pipe_command(self) -> str:
        logs = os.path.dirname(self.template)  # noqa: PTH120 - a template, not a path yet
        sh = f"mkdir -p -- {shlex.quote(logs)} && exec cat >> {shlex.quote(self.template)}"
        return literal(no_format(sh).replace(_PID_MARK, "#{pane_pid}"))

    def option_value(self) -> str:
        return literal(no_format(self.template).replace(_PID_MARK, "#{pane_pid}"))


def tmux_stop_description(timeout: float) -> StopDescription:
    """What a tmux backend's stop does (graceful, kill, and for a bulk stop)."""
    return StopDescription(
        f"Stop interrupts what runs in it (Ctrl+C) and waits up to {timeout:g}s "
        "before it kills the session.",
        "Kill now ends it at once.",
        f"Ctrl+C, then up to {timeout:g}s before a kill",
    )


class TmuxBackend(BaseBackend):
    """The sessions of one tmux server.

    ``session_dirs`` maps dirs-backend names to their base (a path, or the
    backend's :class:`DirsBackendConfig` to follow its prefix and timestamp
    format) for specs that name a ``session_dir``.  ``start_check`` is how long
    :meth:`start` watches a new session for a program that exits at once.
    """

    kind = "tmux"
    capabilities = (
        Capability.LIST | Capability.LOGS | Capability.START | Capability.STOP | Capability.ATTACH
    )

    def __init__(
        self,
        config: BackendConfig,
        *,
        session_dirs: Mapping[str, Path | DirsBackendConfig] | None = None,
        start_check: float = 0.5,
    ) -> None:
        if not isinstance(config, TmuxBackendConfig):
            raise TypeError("TmuxBackend needs a TmuxBackendConfig")
        super().__init__(config.name)
        self.config = config
        try:
            self.runner = TmuxRunner(
                config.tmux,
                socket_name=config.socket_name,
                socket_path=config.socket_path,
                timeout=max(10.0, config.timeout),
            )
        except ValueError as e:
            raise ConfigError(
                f"backend '{config.name}': {e}",
                file=config.origin.file,
                line=config.origin.line,
                key=config.origin.key,
            ) from e
        self.session_dirs = dict(session_dirs or {})
        self.start_check = start_check
        self._health: BackendHealth | None = None
        self._follow_lock = threading.Lock()
        self._followers: dict[str, int] = {}  # pane id -> open follow streams
        self._streams: weakref.WeakSet[PaneStream] = weakref.WeakSet()

    # -- identity -------------------------------------------------------------

    @property
    def spawns(self) -> int:
        """tmux processes started so far (one per :meth:`list_sessions`)."""
        return self.runner.spawns

    @property
    def socket(self) -> str:
        """The server: ``default``, ``-L name`` or ``-S path``."""
        return self.runner.describe()

    @property
    def log_dir(self) -> Path:
        """Where followed panes are piped (read each time: tests move XDG dirs)."""
        if self.config.log_dir is not None:
            return Path(os.path.expanduser(self.config.log_dir))  # noqa: PTH111
        return state_dir() / "tmux-logs" / self.name

    # -- listing --------------------------------------------------------------

    def health(self) -> BackendHealth:
        if self._health is not None:
            return self._health
        try:
            self.runner.binary()
        except BackendUnavailable as e:
            return self._make_health(HealthStatus.UNAVAILABLE, e.message)
        return self._make_health(HealthStatus.OK)

    def _make_health(
        self, status: HealthStatus, reason: str = "", sessions: int = 0
    ) -> BackendHealth:
        return BackendHealth(self.name, self.kind, status, reason, sessions, endpoint=self.socket)

    def _set_health(self, status: HealthStatus, reason: str = "", sessions: int = 0) -> None:
        self._health = self._make_health(status, reason, sessions)

    def list_sessions(self) -> list[Session]:
        """Every session of the server, newest first, from one tmux process.

        A server that is not running means no sessions (health OK, "no server
        running"); a missing binary or an unusable socket raises
        :class:`BackendUnavailable`.
        """
        try:
            result = self.runner.run("list-panes", "-a", "-F", FORMAT)
        except BackendUnavailable as e:
            self._set_health(HealthStatus.UNAVAILABLE, e.message)
            raise
        if result.outcome is Outcome.NO_SERVER:
            self._set_health(HealthStatus.OK, "no server running")
            return []
        if result.outcome is Outcome.NOT_FOUND:  # a server kept up with no sessions
            self._set_health(HealthStatus.OK)
            return []
        if result.outcome is Outcome.LOST_SERVER:
            self._set_health(HealthStatus.DEGRADED, "the tmux server exited while listing")
            return []
        if not result.ok:
            error = self._server_error(result)
            self._set_health(HealthStatus.UNAVAILABLE, error.message)
            raise error
        rows, garbled = parse_panes(result.stdout)
        sessions = self._sessions(rows)
        if garbled:
            self._set_health(
                HealthStatus.DEGRADED, f"{garbled} panes could not be read", len(sessions)
            )
        else:
            self._set_health(HealthStatus.OK, "", len(sessions))
        return sessions

    def _server_error(self, result: TmuxResult) -> BackendUnavailable:
        hint = ""
        if "permission denied" in result.stderr.lower():
            hint = "; the socket belongs to another user or its mode forbids access"
        return BackendUnavailable(f"tmux server {self.socket}: {result.message}{hint}")

    def _sessions(self, rows: list[PaneRow]) -> list[Session]:
        grouped: dict[str, list[PaneRow]] = {}
        for row in rows:
            grouped.setdefault(row.session_id, []).append(row)
        sessions = [self._session(group) for group in grouped.values()]
        sessions.sort(key=lambda s: s.name)
        sessions.sort(key=lambda s: s.created.timestamp() if s.created else 0.0, reverse=True)
        return sessions

    def _session(self, rows: list[PaneRow]) -> Session:
        first = rows[0]
        active = _active(rows)
        windows = len({r.window_id for r in rows})
        clients = first.session_attached
        dead = all(r.pane_dead for r in rows)
        info = f"{windows} win"
        if clients == 1:
            info += " · attached"
        elif clients > 1:
            info += f" · {clients} attached"
        if dead:
            info += " · exited"
        metadata = {
            "windows": str(windows),
            "panes": str(len(rows)),
            "clients": str(clients),
            "command": active.command,
            "cwd": active.cwd,
            "pids": " ".join(str(r.pane_pid) for r in rows),
            "socket": self.socket,
        }
        if first.log:
            metadata["log"] = first.log
        last = max([first.session_activity, *(r.window_activity for r in rows)])
        return Session(
            ref=SessionRef(self.name, first.session_name),
            name=first.session_name,
            kind=self.kind,
            state=State.STOPPED if dead else State.RUNNING,
            created=_local(first.session_created),
            last_active=_local(last),
            path=active.cwd or None,
            attachable=True,
            info=info,
            pid=active.pane_pid or None,
            metadata=metadata,
        )

    def _checked(self, session_id: str) -> str:
        problem = lookup_name_problem(session_id)
        if problem is not None:
            raise SessionNotFound(
                f"{session_id!r} is not a tmux session name ({problem}); "
                f"see `sesstui ls --backend {self.name}`"
            )
        return session_id

    def _not_found(self, name: str, result: TmuxResult | None = None) -> SessionNotFound:
        why = " (no server running)" if result and result.outcome is Outcome.NO_SERVER else ""
        return SessionNotFound(
            f"no tmux session {name!r} on server {self.socket}{why}; "
            f"see `sesstui ls --backend {self.name}`"
        )

    def _rows(self, name: str) -> list[PaneRow]:
        """The panes of session ``name`` (exact match), one tmux process."""
        result = self.runner.run("list-panes", "-s", "-t", window_target(name), "-F", FORMAT)
        if result.outcome in _GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise self._server_error(result)
        rows = [r for r in parse_panes(result.stdout)[0] if r.session_name == name]
        if not rows:
            raise self._not_found(name)
        return rows

    def get(self, session_id: str) -> Session:
        return self._session(self._rows(self._checked(session_id)))

    # -- start ----------------------------------------------------------------

    def start(self, spec: SessionSpec) -> Session:
        """Start ``spec`` as a detached session and return it, running.

        Raises :class:`UsageError` (or :class:`ConfigError` naming the file and
        key, for specs from config) for a bad name, command, working_dir or
        env; :class:`ActionFailed` when the session exists already, the
        program is missing, or it exits within ``start_check`` seconds (the
        session is removed then).
        """
        name = spec.name
        problem = new_name_problem(name)
        if problem is not None:
            raise self._spec_error(spec, f"cannot start tmux session {name!r}: {problem}")
        argv = self._argv(spec)
        cwd = self._working_dir(spec)
        env = self._env(spec)
        plan = self._log_plan(spec)
        self._check_version()
        if spec.command and not spec.shell:
            self._check_program(spec, cwd)

        args = ["new-session", "-d", "-s", literal(no_format(name)), "-P", "-F", "#{pane_pid}"]
        if spec.window_name:
            args += ["-n", literal(no_format(spec.window_name))]
        if cwd is not None:
            args += ["-c", literal(no_format(str(cwd)))]
        for item in env:
            args += ["-e", literal(item)]
        if argv:
            args += ["--", *(literal(a) for a in argv)]
        target = window_target(name)
        # keep a pane whose program exits: set in the same call, so before the
        # server can notice the exit; unset again once the start is confirmed
        args += [";", "set-option", "-w", "-t", target, "remain-on-exit", "on"]
        if plan is not None:
            args += [";", "pipe-pane", "-t", target, plan.pipe_command()]
            args += [";", "set-option", "-F", "-t", target, LOG_OPTION, plan.option_value()]
        result = self.runner.run(*args)
        if result.outcome is Outcome.DUPLICATE:
            raise ActionFailed(
                f"tmux session {name!r} is already running on server {self.socket}; "
                f"stop it first (sesstui stop {self.name}:{name}) or attach to it",
                title="Already running",
            )
        if not result.ok:
            raise ActionFailed(
                f"tmux could not start session {name!r} on server {self.socket}: {result.message}",
                title="Start failed",
            )
        try:
            pane_pid = int(result.text.split()[0])
        except (IndexError, ValueError):
            pane_pid = 0
        log = plan.path(pane_pid) if plan is not None and pane_pid else None
        return self._confirm_start(spec, log)

    def _spec_error(self, spec: SessionSpec, message: str) -> SesstuiError:
        if spec.origin.file is not None:
            return ConfigError(
                message, file=spec.origin.file, line=spec.origin.line, key=spec.origin.key
            )
        return UsageError(message)

    def _argv(self, spec: SessionSpec) -> list[str]:
        command = list(spec.command)
        if any("\0" in part for part in command):
            raise self._spec_error(spec, f"session {spec.name!r}: command contains a NUL byte")
        if spec.shell:
            if len(command) != 1:
                raise self._spec_error(
                    spec,
                    f"session {spec.name!r}: with shell: true the command must be one string "
                    f"(a shell command line), not {len(command)} items",
                )
            return command  # tmux runs a single argument through default-shell -c
        if len(command) == 1:
            # tmux would hand a lone argument to the shell to parse; this fixed
            # script execs it as one word instead ("$0" is never re-parsed)
            return ["/bin/sh", "-c", 'exec "$0"', command[0]]
        return command

    def _working_dir(self, spec: SessionSpec) -> Path | None:
        if spec.working_dir is None:
            return None
        path = Path(os.path.expanduser(spec.working_dir)).absolute()  # noqa: PTH111
        if not path.is_dir():
            raise self._spec_error(
                spec,
                f"session {spec.name!r}: working_dir {path} does not exist or is not a directory",
            )
        return path

    def _env(self, spec: SessionSpec) -> list[str]:
        items = []
        for key, value in spec.env.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise self._spec_error(
                    spec,
                    f"session {spec.name!r}: env name {key!r} is invalid "
                    "(it must be non-empty, without '=' or NUL)",
                )
            items.append(f"{key}={value}")
        return items

    def _server_path(self) -> str:
        """The PATH a new pane gets from the server's global environment."""
        result = self.runner.run("show-environment", "-g", "PATH")
        line = result.text.strip()
        if result.ok and line.startswith("PATH="):
            return line[len("PATH=") :]
        if result.ok:  # "-PATH": removed; exec falls back to the default path
            return os.defpath
        # no server yet: new-session starts one with this process's environment
        return os.environ.get("PATH", os.defpath)

    _version_ok: bool = False

    def _check_version(self) -> None:
        """Refuse a tmux older than 3.0 (no ``new-session -e``) with a clear
        message, before anything is started.  libtmux reads and compares the
        version (``tmux -V``, once per backend, never on the refresh path)."""
        binary = self.runner.binary()
        if self._version_ok:
            return
        if _libtmux_common is None:
            return  # libtmux could not be imported: the check is advisory
        try:
            version = _libtmux_common.get_version(tmux_bin=binary)
            too_old = version < type(version)(MIN_START_VERSION)
        except Exception:  # noqa: BLE001 - an odd -V output must not block starting
            return
        if too_old:
            raise ActionFailed(
                f"tmux {version} is too old to start sessions with their environment; "
                f"install tmux {MIN_START_VERSION} or newer",
                title="tmux too old",
            )
        self._version_ok = True

    def _check_program(self, spec: SessionSpec, cwd: Path | None) -> None:
        program = spec.command[0]
        if os.sep in program:
            path = Path(program) if os.path.isabs(program) else (cwd or Path.cwd()) / program  # noqa: PTH117
            if not path.is_file() or not os.access(path, os.X_OK):
                raise ActionFailed(
                    f"cannot start tmux session {spec.name!r}: command {program!r} "
                    f"({path}) is not an executable file",
                    title="Command not found",
                )
            return
        search = spec.env.get("PATH") or self._server_path()
        if shutil.which(program, path=search) is None:
            shown = search if len(search) <= 100 else search[:99] + "…"
            raise ActionFailed(
                f"cannot start tmux session {spec.name!r}: command {program!r} was not found "
                f"on the PATH the session would get ({shown}); install it, give its full "
                "path, or set shell: true to run a shell command line",
                title="Command not found",
            )

    def _log_plan(self, spec: SessionSpec) -> _LogPlan | None:
        if not spec.session_dir:
            return None
        target = self.session_dirs.get(spec.session_dir)
        if target is None:
            known = ", ".join(sorted(self.session_dirs)) or "none"
            raise self._spec_error(
                spec,
                f"session {spec.name!r}: session_dir {spec.session_dir!r} is not a dirs "
                f"backend known to tmux backend '{self.name}' (known: {known})",
            )
        if isinstance(target, DirsBackendConfig):
            base = Path(os.path.expanduser(target.base))  # noqa: PTH111
            prefix, stamp = target.prefix, target.timestamp_format
            if target.create_base:
                base.mkdir(parents=True, exist_ok=True)
        else:
            base = Path(os.path.expanduser(target))  # noqa: PTH111
            prefix, stamp = DEFAULT_PREFIX, DEFAULT_TIMESTAMP_FORMAT
        base = base.absolute()
        if not base.is_dir():
            raise ActionFailed(
                f"cannot start tmux session {spec.name!r}: session_dir base {base} "
                f"('{spec.session_dir}') does not exist; create it or set create_base: true",
                title="Start failed",
            )
        if not os.access(base, os.W_OK | os.X_OK):
            raise ActionFailed(
                f"cannot start tmux session {spec.name!r}: session_dir base {base} is not "
                "writable; fix its mode or owner",
                title="Start failed",
            )
        if _PID_MARK in str(base):
            raise ActionFailed(f"session_dir base {base} contains {_PID_MARK}; use another base")
        # make_name decides the naming; only the pid field is left to tmux
        head, _pid, uuid_hex = make_name(prefix, stamp, pid=0).rsplit("_", 2)
        template = str(base / f"{head}_{_PID_MARK}_{uuid_hex}" / "logs" / "tmux.log")
        return _LogPlan(template)

    def _confirm_start(self, spec: SessionSpec, log: Path | None) -> Session:
        """Watch the new session for ``start_check`` s, then make its pane
        close normally on exit again; a program that died is an error."""
        name = spec.name
        target = window_target(name)
        started = time.monotonic()
        while True:
            poll = self.runner.run(
                "list-panes", "-t", target, "-F", "#{pane_dead} #{pane_id} #{pane_pid}"
            )
            if not poll.ok:
                raise ActionFailed(
                    f"tmux session {name!r} vanished right after it started: {poll.message}",
                    title="Start failed",
                )
            dead = poll.text.startswith("1")
            waited = time.monotonic() - started
            log_ready = log is None or log.exists()
            if dead or (waited >= self.start_check and log_ready):
                break
            if waited >= max(self.start_check, _LOG_WAIT):
                self._discard(name)
                raise ActionFailed(
                    f"cannot log tmux session {name!r}: {log} did not appear; check that "
                    "the session_dir base is writable and /bin/sh works",
                    title="Start failed",
                )
            time.sleep(_POLL)
        if dead:  # report while remain-on-exit still holds the pane and its status
            _, pane_id, pid = poll.text.split()
            self._fail_start(spec, pane_id, int(pid), log)
        # unset and look in one call: a pane that dies after this closes as usual
        final = self.runner.run(
            "set-option", "-w", "-u", "-t", target, "remain-on-exit", ";",
            "list-panes", "-s", "-t", target, "-F", FORMAT,
        )  # fmt: skip
        rows = [r for r in parse_panes(final.stdout)[0] if r.session_name == name]
        if not final.ok or not rows:
            raise ActionFailed(
                f"tmux session {name!r} vanished right after it started: {final.message}",
                title="Start failed",
            )
        if all(r.pane_dead for r in rows):  # died in the moment before the unset
            pane = _active(rows)
            self._fail_start(spec, pane.pane_id, pane.pane_pid, log)
        return self._session(rows)

    def _fail_start(self, spec: SessionSpec, pane_id: str, pid: int, log: Path | None) -> NoReturn:
        message = self._death_report(spec, pane_id, pid, log)
        self._discard(spec.name)
        raise ActionFailed(message, title="Start failed")

    def _death_report(self, spec: SessionSpec, pane_id: str, pid: int, log: Path | None) -> str:
        # tmux marks the pane dead when its terminal closes and learns the
        # exit status a moment later, when it reaps the process
        status = ""
        deadline = time.monotonic() + _STATUS_WAIT
        while not status and time.monotonic() < deadline:
            probe = self.runner.run(
                "display-message", "-p", "-t", pane_id,
                "#{pane_dead_status}#{?pane_dead_signal,signal #{pane_dead_signal},}",
            )  # fmt: skip
            status = probe.text.strip() if probe.ok else "?"
            if not status:
                time.sleep(_POLL)
        if status in ("", "?"):
            # tmux 3.3 now and then leaves the child unreaped for a long while;
            # the kernel knows the status of the zombie
            status = _zombie_status(pid)
        capture = self.runner.run("capture-pane", "-p", "-J", "-t", pane_id, "-S", "-50")
        output = [
            line.text
            for line in _capture_lines(capture.stdout, 50)
            if line.text and not line.text.startswith("Pane is dead")
        ][-5:]
        what = spec.command[0] if spec.shell else shlex.join(spec.command) or "the default shell"
        if len(what) > 80:
            what = what[:79] + "…"
        hint = ""
        if status == "127":
            hint = ": command not found"
        elif status == "126":
            hint = ": not executable"
        elif status == "1" and not output and not spec.shell:
            hint = ": tmux could not execute it, or it failed at once"
        text = (
            f"tmux session {spec.name!r}: command {what!r} exited at once"
            f"{_status_words(status)}{hint}; the session was removed"
        )
        if output:
            text += "; its last output:\n  " + "\n  ".join(output)
        if log is not None and log.exists():
            text += f"\n(output kept in {log})"
        return text

    def _discard(self, name: str) -> None:
        self.runner.run("kill-session", "-t", session_target(name))

    def resume(self, session_id: str) -> Session:
        """Run the command of every exited pane again (``respawn-pane``: the
        same command, directory and environment), so a session whose panes
        all exited (kept by ``remain-on-exit``) runs again.  Raises
        :class:`ActionFailed` when no pane has exited."""
        name = self._checked(session_id)
        dead = [r for r in self._rows(name) if r.pane_dead]
        if not dead:
            raise ActionFailed(
                f"tmux session {name!r} is running on server {self.socket}; nothing to start "
                f"(stop it first: sesstui stop {self.name}:{name})",
                title="Already running",
            )
        for pane in dead:
            result = self.runner.run("respawn-pane", "-t", pane.pane_id)
            if not result.ok and result.outcome not in _GONE:
                raise ActionFailed(
                    f"tmux could not restart pane {pane.pane_id} of session {name!r}: "
                    f"{result.message}",
                    title="Start failed",
                )
        return self.get(name)

    # -- inspect --------------------------------------------------------------

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The session, each window with its panes, and each pane's process
        tree from ``/proc`` (pid, state, RSS, command line): one tmux process
        and one scan of ``/proc``."""
        from core.inspection import Section, size_text
        from core.procs import children_map, read_processes, tree

        name = self._checked(session_id)
        fixed = [
            "window_index", "window_id", "window_active", "window_panes", "window_layout",
            "pane_index", "pane_id", "pane_active", "pane_pid", "pane_dead",
            "pane_dead_status", "pane_width", "pane_height", "session_attached",
            "session_created", "session_windows",
        ]  # fmt: skip
        texts = ["window_name", "pane_current_command", "pane_title", "pane_current_path"]
        fmt = "\x1f".join(f"#{{{f}}}" for f in fixed + texts)
        result = self.runner.run("list-panes", "-s", "-t", window_target(name), "-F", fmt)
        if result.outcome in _GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise self._server_error(result)
        rows = []
        for line in result.stdout.split(b"\n"):
            parts = line.split(b"\x1f", len(fixed) + len(texts) - 1)
            if len(parts) == len(fixed) + len(texts):
                keys = fixed + texts
                rows.append({k: os.fsdecode(v) for k, v in zip(keys, parts, strict=True)})
        if not rows:
            raise self._not_found(name)
        procs = read_processes()
        kids = children_map(procs)
        first = rows[0]
        session = Section.make(
            "tmux session",
            {
                "name": name,
                "server": self.socket,
                "created": _local(int(first["session_created"] or 0)),
                "windows": first["session_windows"],
                "attached clients": first["session_attached"],
            },
        )
        windows: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            windows.setdefault(row["window_id"], []).append(row)
        sections = [session]
        for panes in windows.values():
            w = panes[0]
            pane_sections = []
            for pane in panes:
                pid = int(pane["pane_pid"] or 0)
                lines = [
                    f"{'  ' * depth}{p.pid} {p.state} {size_text(p.rss_bytes):>10}  {p.label}"
                    for depth, p in tree([pid], procs, kids)
                ]
                dead = pane["pane_dead"] == "1"
                pane_sections.append(
                    Section.make(
                        f"pane {pane['pane_index']} ({pane['pane_id']})"
                        + (" · active" if pane["pane_active"] == "1" else ""),
                        {
                            "pid": pid,
                            "command": pane["pane_current_command"],
                            "cwd": pane["pane_current_path"],
                            "size": f"{pane['pane_width']}x{pane['pane_height']}",
                            "title": pane["pane_title"],
                            "state": (
                                f"exited (status {pane['pane_dead_status'] or '?'})"
                                if dead
                                else "running"
                            ),
                        },
                        ["processes (pid state rss command):", *lines] if lines else [],
                    )
                )
            sections.append(
                Section.make(
                    f"window {w['window_index']}: {w['window_name']}"
                    + (" · active" if w["window_active"] == "1" else ""),
                    {
                        "id": w["window_id"],
                        "panes": w["window_panes"],
                        "layout": w["window_layout"],
                    },
                    children=pane_sections,
                )
            )
        return sections

    # -- stats ----------------------------------------------------------------

    two_readings = True

    def stats_reading(self, sessions: Sequence[Session]) -> object:
        """One scan of ``/proc`` (the panes' pids are in the sessions)."""
        from core.procs import read_processes

        return read_processes(cmdlines=False)

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]:
        """Per session: CPU% of the process trees under its panes between
        the two readings, their RSS and count at the second."""
        from core.procs import clock_ticks, ticks_used, usage
        from core.stats import SessionStats, cpu_percent

        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        out: dict[str, SessionStats] = {}
        for s in sessions:
            roots = [int(p) for p in s.metadata.get("pids", "").split() if p.isdigit()]
            tree = usage(roots, new)
            if not tree.processes:
                out[s.id] = SessionStats(s.ref, self.kind, note="no live process in its panes")
                continue
            used = ticks_used(tree.pids, old, new)
            out[s.id] = SessionStats(
                s.ref,
                self.kind,
                cpu_percent=cpu_percent(0, used, clock_ticks(), elapsed),
                memory_bytes=tree.rss_bytes,
                processes=tree.processes,
            )
        return out

    # -- stop / attach --------------------------------------------------------

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription:
        """What :meth:`stop` does."""
        return tmux_stop_description(timeout)

    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """End a session.  Graceful: leave any copy mode and press C-c in each
        pane (the program sees SIGINT, as from a person at the keyboard), wait
        up to ``timeout`` s for the session to end or all its panes to exit,
        then kill the session.  ``graceful=False`` kills it at once."""
        name = self._checked(session_id)
        rows = self._rows(name)
        if graceful:
            for pane in (r for r in rows if not r.pane_dead):
                keys = self.runner.run(
                    "copy-mode",
                    "-q",
                    "-t",
                    pane.pane_id,
                    ";",
                    "send-keys",
                    "-t",
                    pane.pane_id,
                    "C-c",
                )
                if not keys.ok and keys.outcome not in _GONE:  # a tmux without copy-mode -q
                    self.runner.run("send-keys", "-t", pane.pane_id, "C-c")
            deadline = time.monotonic() + max(0.0, timeout)
            while time.monotonic() < deadline:
                poll = self.runner.run(
                    "list-panes", "-s", "-t", window_target(name), "-F", "#{pane_dead}"
                )
                if poll.outcome in _GONE:
                    return
                if poll.ok and all(v == "1" for v in poll.text.split()):
                    break  # all exited, kept by remain-on-exit
                time.sleep(0.1)
        result = self.runner.run("kill-session", "-t", session_target(name))
        if result.ok or result.outcome in _GONE:
            return
        raise ActionFailed(f"could not kill tmux session {name!r}: {result.message}")

    def attach_argv(self, session_id: str, *, env: Mapping[str, str] | None = None) -> list[str]:
        """The argv that attaches the terminal to the session (see
        :func:`attach_command`); ``env`` defaults to this process's."""
        name = self._checked(session_id)
        self._rows(name)  # a clear SessionNotFound now, not after the UI suspends
        environ = os.environ if env is None else env
        return attach_command(
            self.runner.binary(),
            self.runner.server_args,
            self.runner.socket_file(environ),
            name,
            environ,
        )

    # -- logs -----------------------------------------------------------------

    def logs(self, session_id: str) -> list[LogSource]:
        """``pane`` always; ``pipe`` when the session logs into a session dir."""
        rows = self._rows(self._checked(session_id))
        sources = [LogSource(PANE_SOURCE)]
        if rows[0].log:
            log = Path(rows[0].log)
            try:
                st = log.stat()
                sources.append(LogSource(PIPE_SOURCE, log, st.st_size, st.st_mtime))
            except OSError:
                sources.append(LogSource(PIPE_SOURCE, log))
        return sources

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        """The last ``lines`` lines of the pane (its scrollback), then, when
        ``follow``, what it prints from now on until the stream is closed.
        ``source="pipe"`` reads the session-dir log file instead."""
        name = self._checked(session_id)
        if source not in (None, PANE_SOURCE, PIPE_SOURCE):
            raise SessionNotFound(
                f"no log {source!r} for tmux session {name!r}; "
                f"sources are '{PANE_SOURCE}' and '{PIPE_SOURCE}' (with a session_dir)"
            )
        rows = self._rows(name)
        pane = _active(rows)
        log = rows[0].log
        if source == PIPE_SOURCE:
            if not log:
                raise SessionNotFound(
                    f"tmux session {name!r} has no '{PIPE_SOURCE}' log; only sessions started "
                    "with a session_dir have one"
                )
            return self._track(PaneStream([], FileTail(log, lines=lines, follow=follow)))
        if not follow:
            return PaneStream(self._capture(name, pane.pane_id, lines))
        if log:
            # the session-dir pipe copies everything already; opening the tail
            # first means nothing printed during the capture is missed
            tail = FileTail(log, lines=0, follow=True)
            try:
                initial = self._capture(name, pane.pane_id, lines)
            except BaseException:
                tail.close()
                raise
            return self._track(PaneStream(initial, tail))
        return self._follow_pane(name, pane, lines)

    def _capture(self, name: str, pane_id: str, lines: int) -> list[LogLine]:
        if lines <= 0:
            return []
        result = self.runner.run("capture-pane", "-p", "-J", "-t", pane_id, "-S", f"-{lines}")
        if result.outcome in _GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise ActionFailed(f"cannot read the pane of tmux session {name!r}: {result.message}")
        return _capture_lines(result.stdout, lines)

    def _follow_file(self, name: str) -> Path:
        return self.log_dir / f"{quote(name, safe='')}.log"

    def _follow_pane(self, name: str, pane: PaneRow, lines: int) -> LineStream:
        """Pipe the pane into a file while followed; the first follower starts
        the pipe and takes the scrollback in the same tmux call, so no line
        falls between them; the last one to close stops it."""
        pane_id = pane.pane_id
        with self._follow_lock:
            count = self._followers.get(pane_id, 0)
            if count == 0 and pane.pane_pipe:
                # tmux allows one pipe per pane, and this one is not ours
                initial = self._capture(name, pane_id, lines)
                return PaneStream([*initial, LogLine(_ALREADY_PIPED, notice=True)])
            path = self._follow_file(name)
            if count == 0:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(b"")  # holds only what was seen while followed
                except OSError as e:
                    raise ActionFailed(
                        f"cannot follow tmux session {name!r}: cannot write {path}: "
                        f"{e.strerror or e}; set log_dir for backend '{self.name}'",
                        title="Cannot follow",
                    ) from e
            tail = FileTail(path, lines=0, follow=True)
            try:
                if count == 0:
                    initial = self._start_pipe(name, pane_id, path, lines)
                else:
                    initial = self._capture(name, pane_id, lines)
            except BaseException:
                tail.close()
                raise
            self._followers[pane_id] = count + 1
        stream = PaneStream(initial, tail, on_close=lambda: self._unfollow(pane_id))
        return self._track(stream)

    def _start_pipe(self, name: str, pane_id: str, path: Path, lines: int) -> list[LogLine]:
        """Start piping the pane into ``path`` and capture its scrollback, in
        one tmux call (the server runs both before it reads more output)."""
        pipe = literal(no_format(f"exec cat >> {shlex.quote(str(path))}"))
        args = ["pipe-pane", "-o", "-t", pane_id, pipe]
        if lines > 0:
            args += [";", "capture-pane", "-p", "-J", "-t", pane_id, "-S", f"-{lines}"]
        result = self.runner.run(*args)
        if result.outcome in _GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise ActionFailed(
                f"cannot follow tmux session {name!r}: {result.message}", title="Cannot follow"
            )
        return _capture_lines(result.stdout, lines)

    def _unfollow(self, pane_id: str) -> None:
        with self._follow_lock:
            count = self._followers.get(pane_id, 0) - 1
            if count > 0:
                self._followers[pane_id] = count
                return
            self._followers.pop(pane_id, None)
            self._stop_pipe(pane_id)

    def _stop_pipe(self, pane_id: str) -> None:
        try:
            self.runner.run("pipe-pane", "-t", pane_id)  # no command: close the pipe
        except SesstuiError:
            pass  # the server or the binary is gone: so is the pipe

    def _track(self, stream: PaneStream) -> PaneStream:
        self._streams.add(stream)
        return stream

    def close(self) -> None:
        """Close every stream still open (which stops their pipes)."""
        for stream in list(self._streams):
            stream.close()
        with self._follow_lock:
            panes, self._followers = list(self._followers), {}
        for pane_id in panes:
            self._stop_pipe(pane_id)
