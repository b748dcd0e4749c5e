"""The core every part of :class:`core.tmux.backend.TmuxBackend` builds on:
its state, the tmux runner, health, the listing (one ``list-panes -a``) and
the exact-name lookups every action makes (:meth:`TmuxBase._rows`).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path

from core.backend import BaseBackend
from core.config.records import BackendConfig, SessionSpec
from core.dirs.schema import DirsBackendConfig
from core.errors import BackendUnavailable, ConfigError, SessionNotFound, SesstuiError, UsageError
from core.model import BackendHealth, HealthStatus, Session
from core.paths import state_dir
from core.tmux.command import Outcome, TmuxResult, TmuxRunner
from core.tmux.listing import FORMAT, PaneRow, parse_panes, session_of
from core.tmux.objects import RunnerServer
from core.tmux.schema import TmuxBackendConfig
from core.tmux.stream import PaneStream
from core.tmux.syntax import lookup_name_problem, window_target

GONE = (Outcome.NOT_FOUND, Outcome.NO_SERVER, Outcome.LOST_SERVER)


class TmuxBase(BaseBackend):
    """State, runner, health, listing and lookups of one server's backend."""

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
        # libtmux's object API for the pane and session actions, over self.runner
        self.libtmux_server = RunnerServer(lambda: self.runner)

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
        return session_of(rows, self.name, self.socket)

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
        if result.outcome in GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise self._server_error(result)
        rows = [r for r in parse_panes(result.stdout)[0] if r.session_name == name]
        if not rows:
            raise self._not_found(name)
        return rows

    def get(self, session_id: str) -> Session:
        return self._session(self._rows(self._checked(session_id)))

    def _spec_error(self, spec: SessionSpec, message: str) -> SesstuiError:
        if spec.origin.file is not None:
            return ConfigError(
                message, file=spec.origin.file, line=spec.origin.line, key=spec.origin.key
            )
        return UsageError(message)
