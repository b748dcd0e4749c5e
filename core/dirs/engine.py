"""The one prune engine for session directories.

Every caller that deletes session directories goes through here: the CLI and
the dashboard (:class:`core.dirs.backend.DirsBackend`) and the producer API
(:class:`core.dirs.sessiondir.SessionDir` and the session handler's prune on
exit).  *Which* directories a retention rule selects is decided elsewhere
(:mod:`core.dirs.retention`); this module decides whether each one may go and
removes it, with the same rules for every caller:

* the base is checked (not empty, ``/``, the home directory or an ancestor of
  it, a symlink) when planning and again when deleting, and must still be the
  directory that was planned (same device, inode and real path: a base, or a
  parent of it, swapped after planning is refused);
* one pruner per base at a time (the lock file ``.sesstui-prune.lock``);
* only direct children of the base, real directories, never through a symlink;
* never a directory on another filesystem or holding a mount point (checked
  when planning, again right before deleting, and on every directory on the
  way down);
* never an active session (its pid alive and started before the directory)
  unless forced;
* errors are per entry and name the path that blocked the removal.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from core.dirs.naming import PRUNE_LOCK_NAME, ParsedName, pid_alive
from core.dirs.safety import RemovalBlocked, check_base, mount_points_under, remove_tree
from core.errors import ActionFailed, UnsafeOperation
from core.locks import exclusive_lock


def is_live(parsed: ParsedName, mtime: float) -> bool:
    """Is the creating process of a session alive?

    A pid counts only if it started before the directory existed (a recycled
    pid does not).  The name's stamp is local time of the producer, which may
    be another zone, so the later of it and the directory's mtime bounds the
    start time: an error this way errs towards "alive", never towards deleting.
    """
    return pid_alive(parsed.pid, not_after=live_bound(parsed, mtime))


def live_bound(parsed: ParsedName, mtime: float) -> float:
    """The latest start (POSIX time) of a process that counts as the session's creator
    (:func:`is_live`).  Once that is past, a pid found dead stays dead for this mtime: a
    process that takes the pid later starts after it."""
    created = parsed.created.timestamp() if parsed.created is not None else mtime
    return max(created, mtime)


# Process-wide by design (a contract, not an accident): the real paths of the sessions a
# producer in this process has open.  Every prune in the process keeps them, whichever
# SessionDir, backend or CLI call plans it; a session is held from its creation until its
# handler releases it (core.dirs.sessiondir).  Nothing else is kept here.
_open_here: set[str] = set()
_open_lock = threading.Lock()


def hold(path: Path) -> None:
    """Mark ``path`` as a session this process has open (see :func:`refusal`)."""
    with _open_lock:
        _open_here.add(os.path.realpath(path))


def release(path: Path) -> None:
    with _open_lock:
        _open_here.discard(os.path.realpath(path))


def _active(path: Path, parsed: ParsedName, mtime: float) -> bool:
    if parsed.pid == os.getpid():
        # our own pid is alive by definition; here we know better which of
        # our sessions are still open (a finished one is as idle as any other)
        with _open_lock:
            return os.path.realpath(path) in _open_here
    return is_live(parsed, mtime)


@dataclass(frozen=True, slots=True)
class BaseView:
    """What the checks need to know about a base: its stat and the mount
    points inside it, taken together (at plan time, or at delete time)."""

    base: Path
    st: os.stat_result
    mounts: tuple[Path, ...]
    real: str = ""

    @classmethod
    def take(cls, base: Path) -> BaseView:
        """Check ``base`` (UnsafeOperation / ActionFailed when refused) and look."""
        st = check_base(base)
        return cls(base, st, tuple(mount_points_under(base)), os.path.realpath(base))

    @property
    def identity(self) -> BaseIdentity:
        """What a plan records so the delete can tell it is the same directory."""
        return BaseIdentity(self.st.st_dev, self.st.st_ino, self.real)


@dataclass(frozen=True, slots=True)
class BaseIdentity:
    """A base as it was when planned: its device, inode and real path."""

    dev: int
    ino: int
    real: str

    def check(self, now: BaseView) -> None:
        """Raise UnsafeOperation when ``now`` is not the planned directory."""
        if (now.st.st_dev, now.st.st_ino) != (self.dev, self.ino) or now.real != self.real:
            where = f" (now {now.real})" if now.real != self.real else ""
            raise UnsafeOperation(
                f"refusing to prune: {now.base} is not the directory that was planned "
                f"({self.real}){where}; it, or a folder above it, was replaced since; "
                "plan again"
            )


def refusal(view: BaseView, path: Path, parsed: ParsedName | None, *, force: bool) -> str:
    """Why ``path`` must not be deleted now, or '' when it may.

    ``parsed`` is the session name's parts; None for a directory whose name
    does not follow the full pattern (the producer API's vcti-compatible rule
    selects those too): it names no pid, so it is never active.  A session
    named with this process's own pid is active while a session handler in
    this process has it open (:func:`hold`), whichever object opened it.
    """
    if path.parent != view.base or path.name in ("", ".", ".."):
        return "not a direct child of the base directory"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return "gone"
    except OSError as e:
        return f"cannot inspect it: {e.strerror or e}"
    if path.is_symlink() or not path.is_dir():
        return "no longer a directory (gone or replaced)"
    if st.st_dev != view.st.st_dev:
        return "on another filesystem"
    real = Path(os.path.realpath(path))
    if any(m == real or real in m.parents for m in view.mounts):
        return "holds a mount point"
    if not force and parsed is not None and _active(path, parsed, st.st_mtime):
        return f"active: pid {parsed.pid} is running (use --force to delete anyway)"
    return ""


class Status(Enum):
    REMOVED = "removed"
    GONE = "gone"  # already gone when its turn came (another pruner, the user)
    REFUSED = "refused"  # a rule kept it; nothing was touched
    FAILED = "failed"  # removal started and stopped, or could not start


@dataclass(frozen=True, slots=True)
class Target:
    """One planned directory: its path and its name's parts (None: no pattern)."""

    path: Path
    parsed: ParsedName | None


@dataclass(frozen=True, slots=True)
class Outcome:
    target: Target
    status: Status
    message: str = ""  # why it was refused or failed; names the blocking path

    @property
    def ok(self) -> bool:
        return self.status is Status.REMOVED


def remove(
    base: Path,
    targets: Sequence[Target],
    *,
    force: bool = False,
    workers: int = 4,
    planned: BaseIdentity | None = None,
) -> list[Outcome]:
    """Remove ``targets`` from ``base``, re-checking the base and each entry first.

    Takes the base's prune lock (LockBusy names the holder); the base is
    checked again after it, and compared with ``planned`` (the base as it was
    planned: UnsafeOperation / ActionFailed for the whole prune).  Outcomes
    are per entry, in the targets' order.
    """
    check_base(base)  # refuse a swapped base before even creating the lock file
    lock = base / PRUNE_LOCK_NAME
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(lock, what=f"a prune of {base}"))
        except OSError as e:
            raise ActionFailed(
                f"cannot take the prune lock {lock}: {e.strerror or e}; "
                "prune needs write access to the base directory"
            ) from e
        view = BaseView.take(base)
        if planned is not None:
            planned.check(view)

        def one(target: Target) -> Outcome:
            why = refusal(view, target.path, target.parsed, force=force)
            if why == "gone":
                return Outcome(target, Status.GONE, f"{target.path}: already gone")
            if why:
                return Outcome(target, Status.REFUSED, f"{why}; left alone")
            try:
                remove_tree(target.path, view.st)
            except RemovalBlocked as e:
                word = "partly removed" if e.removed else "not removed"
                return Outcome(target, Status.FAILED, f"{word}: {e.message}")
            return Outcome(target, Status.REMOVED)

        if len(targets) <= 1:
            return [one(t) for t in targets]
        # deletes in different directories proceed in parallel: unlink
        # releases the GIL, so a few workers keep pace with `rm -rf`
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prune") as pool:
            return list(pool.map(one, targets))
