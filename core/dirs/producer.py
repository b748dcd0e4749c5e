"""The producer API: what an application uses to run inside a session directory.

Compatible with the vcti-session convention (see ``docs/interop.md``), so the
directories an application makes here are the ones the dashboard lists, and
the other way round::

    from core.dirs.producer import LogConfig, SessionDir, SessionHandler

    handler = SessionHandler(
        SessionDir("/tmp/sessions", max_session_dirs=10),
        LogConfig(file_path="logs/app.log", level="info"),
        change_directory=False,  # threads / asyncio: never chdir
    )
    with handler.session_context() as session:
        (session.path / "result.json").write_text("{}")

* :class:`SessionDir` makes uniquely named directories under a base directory
  and prunes old ones (count rule, then age rule: :mod:`core.dirs.retention`);
  it lives in :mod:`core.dirs.sessiondir`.
* :class:`WorkDir` is a directory the user chose: no naming, no pruning.
* :class:`LogConfig` attaches file / console handlers to the root logger for the
  length of a session and takes them off again (:mod:`core.dirs.logconfig`).
* :class:`SessionHandler` ties them together with optional lifecycle hooks.

Every setting resolves as: constructor argument > environment variable
(``{env_prefix}SESSION_DIR_*`` / ``{env_prefix}SESSION_LOG_*``) > ``.env`` file
> default.  Environment and ``.env`` values are stripped; one that is blank
counts as unset.  A ``.env`` file one object loaded is seen by the objects
built after it in this process (as with vcti-session, which loads it into
``os.environ``), below the real environment and the object's own ``env_file``;
the process environment itself is left alone.  A bad value raises
:class:`~core.errors.ConfigError` naming the argument or variable (and the
``.env`` file and line) and the value.

Settings are resolved by :mod:`core.dirs.envsettings`.  Internal operations log
to the ``core.dirs`` logger.

Process-wide effects, each a documented contract: ``change_directory=True``
(the default, as in vcti-session) changes the process's working directory for
the length of a session; session logging goes through the root logger
(:mod:`core.dirs.logconfig`); ``.env`` values are remembered for the process
(:mod:`core.dirs.envsettings`); open sessions are held from every prune in the
process (:mod:`core.dirs.sessiondir`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, ParamSpec, Self

from core.dirs.envsettings import check_arg, forget_loaded_env_files, parse_dotenv, to_path
from core.dirs.logconfig import (
    DEFAULT_FORMAT,
    DEFAULT_LEVEL,
    LOG_LEVELS,
    MESSAGE_FORMAT_PRESETS,
    LogConfig,
)
from core.dirs.sessiondir import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_SESSION_DIRS, SessionDir
from core.errors import ConfigError, SesstuiError

__all__ = [
    "DEFAULT_FORMAT",
    "DEFAULT_LEVEL",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_SESSION_DIRS",
    "LOG_LEVELS",
    "MESSAGE_FORMAT_PRESETS",
    "ActiveSession",
    "BeforePruneHook",
    "CreatedHook",
    "ErrorHook",
    "ExitHook",
    "LogConfig",
    "SessionDir",
    "SessionHandler",
    "WorkDir",
    "WorkDirMissing",
    "forget_loaded_env_files",
    "parse_dotenv",
]

logger = logging.getLogger("core.dirs")

CreatedHook = Callable[[Path], object]
"""``on_session_created(path)``: after the directory exists and logging is set up."""
ExitHook = Callable[[Path, Exception | None], object]
"""``on_session_exit(path, error)``: when the context exits, before pruning."""
BeforePruneHook = Callable[[list[Path]], object]
"""``on_before_prune(dirs)``: with the directories about to be deleted (never empty)."""
ErrorHook = Callable[[Exception], object]
"""``on_session_error(exc)``: when the body raised; the exception still propagates."""

_P = ParamSpec("_P")


def _enter_directory(path: Path) -> str | None:
    """chdir into ``path``; return the directory to go back to (None: unknown)."""
    try:
        previous: str | None = str(Path.cwd())
    except OSError:
        logger.warning("the current directory no longer exists; it cannot be restored")
        previous = None
    os.chdir(path)
    return previous


def _restore_directory(previous: str | None) -> None:
    if previous is None:
        return
    try:
        os.chdir(previous)
    except OSError as e:
        logger.warning("could not return to %s: %s", previous, e)


def _call_hook(
    name: str, hook: Callable[_P, object] | None, *args: _P.args, **kwargs: _P.kwargs
) -> None:
    """Run a user hook; a hook that fails is logged, never propagated."""
    if hook is None:
        return
    try:
        hook(*args, **kwargs)
    except Exception:
        logger.warning("%s hook %r raised; the session goes on", name, hook, exc_info=True)


class _WithBlock:
    """``with obj:`` over the context manager :meth:`_context` returns, once at a time.

    ``__enter__`` returns the object itself; entering again before the block ends raises
    ``RuntimeError`` with :attr:`_NESTED` (the context methods can be used for nesting).
    """

    _NESTED: ClassVar[str]
    _entered: AbstractContextManager[object] | None

    def _context(self) -> AbstractContextManager[object]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self._entered is not None:
            raise RuntimeError(self._NESTED)
        entered = self._context()
        entered.__enter__()
        self._entered = entered
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        entered, self._entered = self._entered, None
        if entered is None:
            return None
        return entered.__exit__(exc_type, exc, tb)


class WorkDirMissing(ConfigError, FileNotFoundError):
    """A :class:`WorkDir` without ``create_if_missing`` whose directory is not
    there: a ConfigError, and a FileNotFoundError as vcti-session raises."""

    def __init__(self, path: Path) -> None:
        ConfigError.__init__(
            self,
            f"work directory {path} does not exist (pass create_if_missing=True to create it)",
            key="directory",
        )
        self.filename = str(path)


class WorkDir(_WithBlock):
    """A directory the user chose (no generated name, no pruning).

    vcti-session's signature: ``WorkDir(directory, log_config=None,
    create_if_missing=True, *, change_directory=True)``.  :attr:`directory` is
    the absolute path (symlinks resolved) fixed when the object is built;
    :attr:`path` is that directory inside ``with work_dir:`` (or
    :meth:`work_context`) and None outside.  A missing directory is created
    (with parents) on entering, unless ``create_if_missing=False``: then
    entering raises :class:`WorkDirMissing`.  ``change_directory=False``
    leaves the process's working directory alone (needed for threaded or async
    programs: ``chdir`` is process-wide).
    """

    _NESTED = "this WorkDir is already entered; 'with work_dir:' does not nest"

    def __init__(
        self,
        directory: str | Path,
        log_config: LogConfig | None = None,
        create_if_missing: bool = True,
        *,
        change_directory: bool = True,
    ) -> None:
        self.directory: Path = check_arg(directory, "directory", to_path).resolve()
        self.log_config = log_config
        self.create_if_missing = create_if_missing
        self.change_directory = change_directory
        self._active: Path | None = None
        self._entered = None

    def __repr__(self) -> str:
        state = "active" if self._active is not None else "inactive"
        return (
            f"WorkDir({str(self.directory)!r}, create_if_missing={self.create_if_missing}, "
            f"status={state})"
        )

    @property
    def path(self) -> Path | None:
        """The work directory while inside the context, else None."""
        return self._active

    @contextmanager
    def work_context(self) -> Iterator[WorkDir]:
        """Enter the directory: logging applied, cwd changed (optionally).

        On exit, also after an exception, the previous working directory is
        restored, the log handlers are removed and :attr:`path` is None again.
        """
        path = self.directory
        if not path.exists():
            if not self.create_if_missing:
                raise WorkDirMissing(path)
            path.mkdir(parents=True, exist_ok=True)
            logger.debug("created work directory %s", path)
        elif not path.is_dir():
            raise ConfigError(f"{path} exists and is not a directory", key="directory")
        handlers = self.log_config.apply(path) if self.log_config is not None else []
        self._active = path
        try:
            previous = _enter_directory(path) if self.change_directory else None
            try:
                yield self
            finally:
                _restore_directory(previous)
        finally:
            self._active = None
            if self.log_config is not None and handlers:
                self.log_config.remove(handlers)

    def _context(self) -> AbstractContextManager[WorkDir]:
        return self.work_context()


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """What :meth:`SessionHandler.session_context` yields."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name


class SessionHandler(_WithBlock):
    """Runs a block of code in a fresh session directory.

    ``session_context()`` (or ``with handler:``, which yields the handler, as
    vcti-session's does) does, in order: create the directory, apply logging,
    chdir into it (unless ``change_directory=False``), ``on_session_created(path)``,
    run the body; if the body raised an ``Exception``, ``on_session_error(exc)``;
    then ``on_session_exit(path, exc or None)``, restore the working directory,
    and with ``prune_on_exit`` compute the prune plan, ``on_before_prune(dirs)``
    when it is not empty, delete; finally remove the log handlers.  The body's
    exception propagates after all that.

    The prune on exit is vcti-session's: the session that just ran is a
    candidate like the others (it is the newest, so only ``max_session_dirs=0``
    removes it).  Sessions other handlers in this process still have open, and
    sessions whose creating process is alive, are never removed (see
    :mod:`core.dirs.engine`).

    :attr:`path` is the open session's directory (None outside a session);
    :meth:`create_session` and :meth:`prune_old_sessions` are the two halves
    for callers that do not use a ``with`` block.

    Exit steps run however the body ends, including ``KeyboardInterrupt`` and
    ``SystemExit``; those are not errors for the hooks (``on_session_error`` is
    not called and ``on_session_exit`` gets None), since ``sys.exit(0)`` is a
    normal way to end a script.  A hook that raises is logged as a warning on
    ``core.dirs`` and the session goes on; a failing prune is logged likewise.
    With ``log_config=None`` no handler, log file or log directory is made.
    """

    _NESTED = (
        "this SessionHandler is already in a session; 'with handler:' does not nest "
        "(use session_context() for nested or threaded sessions)"
    )

    def __init__(
        self,
        session_dir: SessionDir,
        log_config: LogConfig | None = None,
        *,
        change_directory: bool = True,
        prune_on_exit: bool = True,
        on_session_created: CreatedHook | None = None,
        on_session_exit: ExitHook | None = None,
        on_before_prune: BeforePruneHook | None = None,
        on_session_error: ErrorHook | None = None,
    ) -> None:
        if not isinstance(session_dir, SessionDir):
            raise TypeError(f"session_dir must be a SessionDir, got {type(session_dir).__name__}")
        if log_config is not None and not isinstance(log_config, LogConfig):
            raise TypeError(
                f"log_config must be a LogConfig or None, got {type(log_config).__name__}"
            )
        self.session_dir = session_dir
        self.log_config = log_config
        self.change_directory = change_directory
        self.prune_on_exit = prune_on_exit
        self.on_session_created = on_session_created
        self.on_session_exit = on_session_exit
        self.on_before_prune = on_before_prune
        self.on_session_error = on_session_error
        self._path: Path | None = None
        # the session create_session() opened outside a with block, and its handlers
        self._standalone: Path | None = None
        self._handlers: list[logging.Handler] = []
        self._entered = None

    def __repr__(self) -> str:
        return f"SessionHandler({self.session_dir!r}, {self.log_config!r})"

    @property
    def path(self) -> Path | None:
        """The directory of the session this handler has open, else None."""
        return self._path

    def create_session(self) -> Path:
        """Create a session directory and apply logging to it; return its path.

        The session stays open (:attr:`path`, protected from every prune) until
        the next :meth:`create_session` or the end of the ``with`` block; log
        handlers of a previous session made this way are removed first.
        """
        self._close_session()
        path, self._handlers = self._open_session()
        self._standalone = path
        return path

    def _open_session(self) -> tuple[Path, list[logging.Handler]]:
        sd = self.session_dir
        path = sd.create()
        sd._hold(path)
        try:
            handlers = self.log_config.apply(path) if self.log_config is not None else []
        except BaseException:
            sd._release(path)
            raise
        self._path = path
        return path, handlers

    def _close_session(self) -> None:
        """Release the session :meth:`create_session` opened, and its log handlers."""
        path, self._standalone = self._standalone, None
        handlers, self._handlers = self._handlers, []
        if path is not None:
            if self._path == path:
                self._path = None
            self.session_dir._release(path)
        if self.log_config is not None and handlers:
            self.log_config.remove(handlers)

    def prune_old_sessions(self) -> list[Path]:
        """Prune by the session dir's rules now: ``on_before_prune(dirs)`` when
        there is something to delete, then delete that plan; return what went.

        Failures are logged as warnings (as on exit), never raised.
        """
        try:
            plan = self.session_dir._plan([])
        except Exception:
            logger.warning("prune: cannot list %s", self.session_dir.base_directory, exc_info=True)
            return []
        if not plan:
            return []
        _call_hook("on_before_prune", self.on_before_prune, [p for p, _ in plan])
        try:
            # the plan shown to the hook is the one executed (not a fresh scan)
            return self.session_dir._remove(plan)
        except SesstuiError as e:  # the base was refused when deleting
            logger.warning("prune: %s", e.message)
        except Exception:
            logger.warning("prune: failed", exc_info=True)
        return []

    @contextmanager
    def session_context(self) -> Iterator[ActiveSession]:
        """Create a session directory and run the body in it (see the class doc)."""
        path, handlers = self._open_session()
        try:
            previous = _enter_directory(path) if self.change_directory else None
            try:
                _call_hook("on_session_created", self.on_session_created, path)
                error: Exception | None = None
                try:
                    yield ActiveSession(path)
                except Exception as exc:
                    error = exc
                    _call_hook("on_session_error", self.on_session_error, exc)
                    raise
                finally:
                    _call_hook("on_session_exit", self.on_session_exit, path, error)
                    error = None  # no reference cycle through the traceback
            finally:
                _restore_directory(previous)
            # prune sits in the outer finally so it also runs after an error
        finally:
            try:
                # the session has ended: released first, so it is a candidate
                # like any other (vcti-session prunes after clearing its path)
                if self._path == path:
                    self._path = None
                self.session_dir._release(path)
                if self.prune_on_exit:
                    self.prune_old_sessions()
            finally:
                if self.log_config is not None and handlers:
                    self.log_config.remove(handlers)

    def _context(self) -> AbstractContextManager[ActiveSession]:
        return self.session_context()
