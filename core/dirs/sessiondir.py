"""Session directories of the producer API: :class:`SessionDir` makes uniquely named
directories under a base directory and prunes old ones by its retention rules (count rule,
then age rule: :mod:`core.dirs.retention`), through the one prune engine and its safety rules
(:mod:`core.dirs.engine`).

Process-wide state: a session a handler has open is *held* in the engine
(:func:`core.dirs.engine.hold`), so no prune in this process deletes it, whichever
:class:`SessionDir` object plans that prune.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.dirs import engine
from core.dirs.envsettings import (
    Sources,
    check_arg,
    plain_name,
    to_days,
    to_limit,
    to_path,
    to_prefix,
    to_str,
)
from core.dirs.naming import (
    DEFAULT_PREFIX,
    DEFAULT_TIMESTAMP_FORMAT,
    ParsedName,
    make_name,
    parse_name,
)
from core.dirs.retention import list_candidates, select_for_prune
from core.dirs.safety import unsafe_base
from core.errors import ConfigError, LockBusy
from core.model import PruneReason

__all__ = ["DEFAULT_MAX_AGE_DAYS", "DEFAULT_MAX_SESSION_DIRS", "PlannedPrune", "SessionDir"]

logger = logging.getLogger("core.dirs")

DEFAULT_MAX_SESSION_DIRS = 20
DEFAULT_MAX_AGE_DAYS = 10.0


def _same_path(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


class SessionDir:
    """Uniquely named session directories under ``base_directory``, with retention.

    Names are ``{prefix}{timestamp}_{pid}_{uuid4hex}`` (:mod:`core.dirs.naming`).
    Settings (argument > ``{env_prefix}SESSION_DIR_*`` environment > ``.env`` >
    default): ``prefix`` (``SESSION_DIR_PREFIX``, default ``session_``),
    ``timestamp_format`` (``SESSION_DIR_TIMESTAMP_FORMAT``, default
    ``%Y-%m-%d-%H-%M-%S``, local time), ``max_session_dirs``
    (``SESSION_DIR_MAX_SESSION_DIRS``, default 20, -1 unlimited) and
    ``max_age_days`` (``SESSION_DIR_MAX_AGE_DAYS``, default 10, -1 unlimited).

    ``base_directory`` is made absolute when the object is built, so a later
    ``chdir`` (into a session) does not move it.

    Retention and protected sessions: a session a :class:`SessionHandler`
    still has open (on this object or another in this process), and, for
    :meth:`plan_prune` / :meth:`prune`, the ``exclude`` argument (by default
    :attr:`path`), *counts* toward ``max_session_dirs`` but is never deleted.
    Counting it keeps the promise "at most N directories on disk" in the usual
    case, where the open session is the newest, and the rule sees the same
    candidates the dashboard's pruner and vcti-session see.  If the rule
    selects a protected session, that one is skipped and nothing else is
    deleted in its place, so more than N may remain: the safe direction when
    in doubt.  vcti-session's :meth:`get_directories_to_prune` /
    :meth:`prune_old_directories` protect only open sessions (so
    ``max_session_dirs=0`` removes what :meth:`create` made, as vcti does).
    """

    def __init__(
        self,
        base_directory: str | Path,
        *,
        prefix: str | None = None,
        timestamp_format: str | None = None,
        max_session_dirs: int | None = None,
        max_age_days: float | None = None,
        env_prefix: str | None = None,
        env_file: str | Path | None = None,
    ) -> None:
        base = check_arg(base_directory, "base_directory", to_path)
        self.base_directory: Path = base.absolute()
        why = unsafe_base(self.base_directory)
        if why:
            # prune deletes children of the base: refuse it before any session exists
            raise ConfigError(f"refusing base directory: {why}", key="base_directory")
        self.env_prefix = env_prefix
        self.env_file = Path(env_file) if env_file is not None else None
        src = Sources(env_prefix, env_file, "SESSION_DIR_")
        self.prefix: str = src.resolve("prefix", prefix, to_prefix, DEFAULT_PREFIX)[0]
        fmt, fmt_where = src.resolve(
            "timestamp_format", timestamp_format, to_str, DEFAULT_TIMESTAMP_FORMAT
        )
        self.timestamp_format: str = fmt
        self.max_session_dirs: int = src.resolve(
            "max_session_dirs", max_session_dirs, to_limit, DEFAULT_MAX_SESSION_DIRS
        )[0]
        self.max_age_days: float = src.resolve(
            "max_age_days", max_age_days, to_days, DEFAULT_MAX_AGE_DAYS
        )[0]
        # a format that nests directories or yields names the observer cannot
        # parse back would make sessions invisible to the dashboard: refuse it
        sample = make_name(self.prefix, fmt)
        if not plain_name(sample) or parse_name(sample, self.prefix, fmt) is None:
            raise fmt_where.error(
                f"timestamp format {fmt!r} gives names like {sample!r}, "
                "which are not plain session directory names"
            )
        self._path: Path | None = None
        # sessions a SessionHandler has open on this object (several when threads
        # share it): all protected from prune, not only the latest
        self._open: set[Path] = set()
        self._open_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SessionDir({str(self.base_directory)!r}, prefix={self.prefix!r}, "
            f"timestamp_format={self.timestamp_format!r}, "
            f"max_session_dirs={self.max_session_dirs}, max_age_days={self.max_age_days})"
        )

    @property
    def path(self) -> Path | None:
        """The session directory made by the last :meth:`create`, or None."""
        return self._path

    def create(self) -> Path:
        """Make the base directory (with parents) and a new session directory in it."""
        self.base_directory.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            path = self.base_directory / make_name(self.prefix, self.timestamp_format)
            try:
                # exist_ok=False: never adopt a directory somebody else made
                path.mkdir()
            except FileExistsError:
                continue  # a uuid4 collision: practically never, but cheap to retry
            self._path = path
            logger.debug("created session directory %s", path)
            return path
        raise FileExistsError(f"could not make a fresh session directory in {self.base_directory}")

    def _hold(self, path: Path) -> None:
        """Protect ``path`` from prune while a handler has it open."""
        with self._open_lock:
            self._open.add(path)
        engine.hold(path)  # also protected from other SessionDir objects' prunes

    def _release(self, path: Path) -> None:
        with self._open_lock:
            self._open.discard(path)
        engine.release(path)

    def plan_prune(self, exclude: Path | None = None) -> PlannedPrune:
        """The directories :meth:`prune` would delete now, oldest first, with the reason.

        Never includes ``exclude`` (default: the current session, :attr:`path`)
        nor a session a :class:`SessionHandler` still has open on this object;
        they still count toward ``max_session_dirs`` (see the class docstring).
        The dashboard's safety rules (:mod:`core.dirs.engine`) apply as well: a
        session whose pid is alive (another program sharing the base), a
        directory on another filesystem or holding a mount point is kept, and
        an unsafe base (a symlink, ``/``, the home directory) raises
        :class:`~core.errors.UnsafeOperation`.
        """
        current = exclude if exclude is not None else self._path
        return self._plan([] if current is None else [current])

    def get_directories_to_prune(self) -> list[Path]:
        """vcti-session's name: what :meth:`prune_old_directories` would delete now.

        As in vcti-session, the directory made by the last :meth:`create` is a
        candidate like any other (with ``max_session_dirs=0`` nothing is
        kept); still never a session a :class:`SessionHandler` has open, one
        whose creating process is alive, nor one the engine's safety rules keep.
        """
        return [path for path, _ in self._plan([])]

    def prune_old_directories(self) -> list[Path]:
        """vcti-session's name: delete :meth:`get_directories_to_prune`; return
        what was removed (vcti returns None)."""
        return self._remove(self._plan([]))

    def _plan(self, protected_paths: Sequence[Path]) -> PlannedPrune:
        candidates = list_candidates(self.base_directory, self.prefix)
        selected = select_for_prune(
            candidates, self.max_session_dirs, self.max_age_days, time.time()
        )
        if not selected:
            return PlannedPrune()
        view = engine.BaseView.take(self.base_directory)
        with self._open_lock:
            protected = [*self._open, *protected_paths]
        plan = PlannedPrune(base=view.identity)
        for candidate, reason in selected:
            if any(_same_path(candidate.path, p) for p in protected):
                logger.debug("prune: keeping current session %s", candidate.path)
                continue
            why = engine.refusal(view, candidate.path, self._parse(candidate.name), force=False)
            if why:
                logger.info("prune: keeping %s: %s", candidate.path, why)
                continue
            plan.append((candidate.path, reason))
        return plan

    def _parse(self, name: str) -> ParsedName | None:
        return parse_name(name, self.prefix, self.timestamp_format)

    def prune(self, exclude: Path | None = None) -> list[Path]:
        """Delete what :meth:`plan_prune` selects; return what was removed.

        A directory that cannot be removed is logged as a warning naming the
        path that blocked it, and left out of the result; symlinks are never
        followed.  A prune already running on this base (the dashboard's, or
        another program's) makes this one a warning that removes nothing.
        """
        return self._remove(self.plan_prune(exclude))

    def _remove(self, plan: Sequence[tuple[Path, PruneReason]]) -> list[Path]:
        """Delete planned directories through the engine; failures become warnings."""
        if not plan:
            return []
        targets = [engine.Target(path, self._parse(path.name)) for path, _ in plan]
        try:
            planned = plan.base if isinstance(plan, PlannedPrune) else None
            outcomes = engine.remove(self.base_directory, targets, planned=planned)
        except LockBusy as e:
            logger.warning("prune skipped: %s", e.message)
            return []
        removed: list[Path] = []
        for (path, reason), outcome in zip(plan, outcomes, strict=True):
            if outcome.ok:
                logger.info("prune: removed %s (%s)", path, reason.value)
                removed.append(path)
            elif outcome.status is engine.Status.GONE:
                logger.debug("prune: %s already gone", path)
            else:
                logger.warning("prune: could not remove %s: %s", path, outcome.message)
        return removed


class PlannedPrune(list[tuple[Path, PruneReason]]):
    """What :meth:`SessionDir.plan_prune` selected: ``(path, reason)`` pairs, plus
    the base as it was when planned, which the delete checks again."""

    def __init__(
        self,
        items: Iterable[tuple[Path, PruneReason]] = (),
        *,
        base: engine.BaseIdentity | None = None,
    ) -> None:
        super().__init__(items)
        self.base = base
