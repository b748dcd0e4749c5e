"""One named session on a tmux or container backend (the kstlib.ops facade).

kstlib.ops users write::

    session = SessionManager("astro", backend="tmux")
    session.start("python -m astro.bot")
    session.logs(50); session.stop(); session.attach()

    session = SessionManager.from_config("astro")

The same calls work here, over sesstui's backends, so the sessions show in
the dashboard and follow its rules:

* ``backend`` is a configured backend's name, or a kind as kstlib writes it:
  ``tmux`` or ``container`` (also ``docker`` / ``podman``) means the one
  configured backend of that kind (``socket_name`` picks among tmux servers);
  with none configured, the default tmux server (or that socket), or the
  Docker engine from the environment, as kstlib would use;
* a command string is split into words and never run through a shell unless
  ``shell=True`` (:mod:`core.cmdline`); a list is taken as it is;
* ``from_config(name)`` reads the spec ``sessions.<name>`` of the sesstui
  configuration (kstlib-style specs are read there, see ``core.config``);
* a session found in more than one backend raises
  :class:`~core.errors.AmbiguousSession` naming them
  (:func:`auto_detect_backend`, ``SessionManager(name, backend=None)``).

Errors are :mod:`core.errors` types: :class:`UsageError` for a bad name,
backend or command, :class:`SessionNotFound` for a session that is not there,
:class:`ActionFailed` for a start that fails (already running, program
missing, exited at once).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec.structs import replace

from core.config.records import AppConfig, BackendConfig, SessionSpec
from core.docker.schema import DockerBackendConfig
from core.errors import AmbiguousSession, SessionNotFound, UsageError
from core.model import Session, State
from core.tmux.schema import TmuxBackendConfig

if TYPE_CHECKING:
    from core.backend import Backend

__all__ = ["SessionManager", "auto_detect_backend"]

# kstlib's words for backend kinds
_KINDS = {"tmux": "tmux", "container": "docker", "docker": "docker", "podman": "docker"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _load(config: AppConfig | None) -> AppConfig:
    if config is not None:
        return config
    from core.config import load_config

    return load_config()


def _command(command: str | Sequence[str] | None, shell: bool) -> tuple[str, ...]:
    if command is None:
        return ()
    if isinstance(command, str):
        if not command.strip():
            raise UsageError("the command is empty; write what to run, e.g. 'python -m bot'")
        if shell:
            return (command,)
        from core.cmdline import split_command

        try:
            return tuple(split_command(command))
        except ValueError as e:
            raise UsageError(str(e)) from None
    if shell:
        raise UsageError("with shell=True the command must be one string (a shell command line)")
    words = tuple(command)
    if not words or not all(isinstance(w, str) for w in words):
        raise UsageError(f"the command must be a string or a list of strings, got {command!r}")
    return words


def _backend_config(
    word: str, socket_name: str | None, config: AppConfig
) -> tuple[BackendConfig, bool]:
    """The backend ``word`` means, and whether it is configured (vs made here)."""
    for b in config.backends:
        if b.name == word:
            if b.kind not in ("tmux", "docker"):
                raise UsageError(
                    f"backend '{word}' is a {b.kind} backend; sessions start on tmux or "
                    "docker backends"
                )
            if (
                socket_name is not None
                and isinstance(b, TmuxBackendConfig)
                and b.socket_name != socket_name
            ):
                raise UsageError(
                    f"socket_name '{socket_name}' is not the socket of backend '{word}' "
                    f"({b.socket_name or 'the default server'})"
                )
            return b, True
    kind = _KINDS.get(word)
    if kind is None:
        names = ", ".join(b.name for b in config.backends) or "none"
        raise UsageError(
            f"invalid backend '{word}': give 'tmux', 'container' or a configured backend ({names})"
        )
    found = [b for b in config.backends if b.kind == kind]
    if kind == "tmux" and socket_name is not None:
        found = [
            b for b in found if isinstance(b, TmuxBackendConfig) and b.socket_name == socket_name
        ]
    if len(found) > 1:
        raise UsageError(
            f"backend '{word}' is ambiguous: several {kind} backends are configured "
            f"({', '.join(b.name for b in found)}); name one of them"
        )
    if found:
        return found[0], True
    # nothing configured: what kstlib would use
    if kind == "tmux":
        name = f"tmux-{socket_name}" if socket_name else "tmux"
        return TmuxBackendConfig(name=name, kind="tmux", socket_name=socket_name), False
    return DockerBackendConfig(name="container", kind="docker", scope="all"), False


def auto_detect_backend(
    name: str, *, config: AppConfig | None = None, socket_name: str | None = None
) -> str | None:
    """The configured tmux or docker backend where a session ``name`` exists.

    None when no such backend has it; :class:`AmbiguousSession` naming the
    backends when more than one has it (kstlib's ``SessionAmbiguousError``).
    A backend that cannot be reached is skipped, as kstlib skips a missing
    binary.  ``socket_name`` limits tmux to that server.
    """
    from core.errors import SesstuiError
    from core.registry import build_backend

    app = _load(config)
    found: list[str] = []
    for cfg in app.backends:
        if cfg.kind not in ("tmux", "docker"):
            continue
        if (
            socket_name is not None
            and cfg.kind == "tmux"
            and (not isinstance(cfg, TmuxBackendConfig) or cfg.socket_name != socket_name)
        ):
            continue
        backend = build_backend(cfg, app)
        try:
            backend.get(name)
        except SessionNotFound:
            continue
        except SesstuiError:
            continue  # unreachable or unusable: not where the session is
        finally:
            backend.close()
        found.append(cfg.name)
    if len(found) > 1:
        raise AmbiguousSession(name, found)
    return found[0] if found else None


class SessionManager:
    """kstlib.ops' ``SessionManager(name, backend=...)`` over sesstui's backends.

    Keyword arguments are the spec's fields, as in kstlib: ``command`` (a
    string, split without a shell, or a list), ``shell``, ``working_dir``,
    ``env``, ``image``, ``volumes``, ``ports``, ``log_volume`` (one more
    volume), ``socket_name`` (tmux), ``window_name``, ``stop_timeout``.
    ``config`` is the sesstui configuration (default: the user's, see
    :func:`core.config.load_config`).  ``backend=None`` finds the backend the
    session runs in (:func:`auto_detect_backend`).
    """

    def __init__(
        self,
        name: str,
        *,
        backend: str | None = "tmux",
        config: AppConfig | None = None,
        command: str | Sequence[str] | None = None,
        shell: bool = False,
        working_dir: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        image: str | None = None,
        volumes: Sequence[str] = (),
        ports: Sequence[str] = (),
        log_volume: str | None = None,
        socket_name: str | None = None,
        window_name: str | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UsageError(
                f"invalid session name {name!r}: use 1-64 letters, digits, '_' or '-', "
                "starting with a letter or digit"
            )
        app = _load(config)
        if backend is None:
            found = auto_detect_backend(name, config=app, socket_name=socket_name)
            if found is None:
                raise SessionNotFound(
                    f"no tmux or docker backend has a session named '{name}'; "
                    "give backend='tmux' or 'container' to start one"
                )
            backend = found
        if not isinstance(backend, str):
            raise UsageError(f"backend must be a string, got {backend!r}")
        cfg, self.configured = _backend_config(backend.lower(), socket_name, app)
        if cfg.kind == "tmux" and (image is not None or volumes or ports or log_volume):
            raise UsageError(
                "image, volumes, ports and log_volume are for a container backend, "
                f"not tmux ('{cfg.name}')"
            )
        self._app = app
        self._cfg = cfg
        self._spec = SessionSpec(
            name=name,
            backend=cfg.name,
            command=_command(command, shell),
            shell=shell,
            working_dir=None if working_dir is None else Path(working_dir).expanduser(),
            env=dict(env or {}),
            window_name=window_name,
            stop_timeout=stop_timeout,
            image=image,
            volumes=(*volumes, *([log_volume] if log_volume else [])),
            ports=tuple(ports),
        )
        self._backend: Backend | None = None

    @classmethod
    def from_config(cls, name: str, *, config: AppConfig | None = None) -> SessionManager:
        """The spec ``sessions.<name>`` of the sesstui configuration."""
        app = _load(config)
        spec = app.sessions.get(name)
        if spec is None:
            known = ", ".join(sorted(app.sessions)) or "none (add them under `sessions:`)"
            raise SessionNotFound(f"no session spec named '{name}' in the config; specs: {known}")
        self = cls(name, backend=spec.backend, config=app)
        self._spec = spec
        return self

    # -- what it is ---------------------------------------------------------

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def backend(self) -> str:
        """The backend's name (``tmux`` / ``container`` for one made here)."""
        return self._cfg.name

    @property
    def kind(self) -> str:
        """``tmux`` or ``docker``."""
        return self._cfg.kind

    @property
    def config(self) -> SessionSpec:
        """The spec :meth:`start` starts (kstlib's ``SessionConfig``)."""
        return self._spec

    def _get_backend(self) -> Backend:
        if self._backend is None:
            from core.registry import build_backend

            self._backend = build_backend(self._cfg, self._app)
        return self._backend

    # -- actions ------------------------------------------------------------

    def start(
        self,
        command: str | Sequence[str] | None = None,
        *,
        shell: bool | None = None,
        working_dir: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        image: str | None = None,
        volumes: Sequence[str] | None = None,
        ports: Sequence[str] | None = None,
    ) -> Session:
        """Start the session; what is given replaces the spec's for this start
        (``env`` is added to the spec's), as kstlib's keyword overrides."""
        spec = self._spec
        if command is not None:
            use_shell = spec.shell if shell is None else shell
            spec = replace(spec, command=_command(command, use_shell), shell=use_shell)
        elif shell is not None and shell != spec.shell:
            raise UsageError("shell= goes with a command: start(command, shell=True)")
        if working_dir is not None:
            spec = replace(spec, working_dir=Path(working_dir).expanduser())
        if env:
            spec = replace(spec, env={**spec.env, **env})
        if image is not None:
            spec = replace(spec, image=image)
        if volumes is not None:
            spec = replace(spec, volumes=tuple(volumes))
        if ports is not None:
            spec = replace(spec, ports=tuple(ports))
        return self._get_backend().start(spec)

    def stop(self, *, graceful: bool = True, timeout: float | None = None) -> bool:
        """Stop it: Ctrl+C (tmux) / SIGTERM (container), wait up to ``timeout``
        (default the spec's ``stop_timeout``), then kill; True when done."""
        wait = self._spec.stop_timeout if timeout is None else timeout
        self._get_backend().stop(self.name, graceful=graceful, timeout=wait)
        return True

    def attach_argv(self) -> list[str]:
        """The command line that attaches a terminal to the session."""
        return self._get_backend().attach_argv(self.name)

    def attach(self) -> None:
        """Replace this process with the attach command (never returns), as
        kstlib does; :class:`SessionNotFound` when the session is not there."""
        argv = self.attach_argv()
        os.execvp(argv[0], argv)  # noqa: S606 - an argv core built, no shell

    def status(self) -> Session:
        """The session as the dashboard shows it; SessionNotFound when absent."""
        return self._get_backend().get(self.name)

    def logs(self, lines: int = 100) -> str:
        """The last ``lines`` lines of its output, as one string (a container's
        without the engine's time in front, as kstlib's ``docker logs``)."""
        from core.docker.stream import without_time

        if lines < 1:
            raise UsageError(f"lines must be at least 1, got {lines}")
        backend = self._get_backend()
        timed = backend.kind == "docker"
        stream = backend.tail(self.name, lines=lines, follow=False)
        try:
            return "".join(
                f"{without_time(line.text) if timed else line.text}\n"
                for line in stream
                if not line.notice
            )
        finally:
            stream.close()

    def exists(self) -> bool:
        try:
            self.status()
        except SessionNotFound:
            return False
        return True

    def is_running(self) -> bool:
        try:
            return self.status().state in (State.RUNNING, State.ACTIVE)
        except SessionNotFound:
            return False

    def close(self) -> None:
        """Release the backend's connections (a docker client); idempotent."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionManager({self.name!r}, backend={self.backend!r})"
