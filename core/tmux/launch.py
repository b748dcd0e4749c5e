"""What a start needs before tmux is asked: the spec's argv, working
directory and environment checked, the program looked up on the PATH the pane
will get, the tmux version (libtmux reads it), and where a session-dir log goes.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.config.records import SessionSpec
from core.dirs.naming import DEFAULT_PREFIX, DEFAULT_TIMESTAMP_FORMAT, make_name
from core.dirs.schema import DirsBackendConfig
from core.errors import ActionFailed
from core.tmux.base import TmuxBase
from core.tmux.objects import get_version
from core.tmux.syntax import literal, no_format

# new-session -e (per-session environment) arrived in tmux 3.0
MIN_START_VERSION = "3.0"

# stands for the pane pid in paths until tmux expands it to #{pane_pid}
PID_MARK = "SESSTUIPANEPID"


@dataclass(frozen=True, slots=True)
class LogPlan:
    """Where a session-dir log goes, with ``PID_MARK`` for the pane pid."""

    template: str

    def path(self, pane_pid: int) -> Path:
        return Path(self.template.replace(PID_MARK, str(pane_pid)))

    def pipe_command(self) -> str:
        logs = os.path.dirname(self.template)  # noqa: PTH120 - a template, not a path yet
        sh = f"mkdir -p -- {shlex.quote(logs)} && exec cat >> {shlex.quote(self.template)}"
        return literal(no_format(sh).replace(PID_MARK, "#{pane_pid}"))

    def option_value(self) -> str:
        return literal(no_format(self.template).replace(PID_MARK, "#{pane_pid}"))


class LaunchMixin(TmuxBase):
    """The checks and plans of :meth:`TmuxBackend.start`."""

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
        try:
            version = get_version(tmux_bin=binary)
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

    def _log_plan(self, spec: SessionSpec) -> LogPlan | None:
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
        if PID_MARK in str(base):
            raise ActionFailed(f"session_dir base {base} contains {PID_MARK}; use another base")
        # make_name decides the naming; only the pid field is left to tmux
        head, _pid, uuid_hex = make_name(prefix, stamp, pid=0).rsplit("_", 2)
        template = str(base / f"{head}_{PID_MARK}_{uuid_hex}" / "logs" / "tmux.log")
        return LogPlan(template)
