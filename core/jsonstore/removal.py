"""Deleting JSON session records safely: why a file must be left alone, the
temporary files a crash left behind, and the removal itself (under the
base's prune lock and each session's write lock, through a directory fd)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from core.dirs.safety import check_base
from core.errors import LockBusy, SessionNotFound, UnsafeOperation
from core.jsonstore.store import (
    LOCK_DIR,
    RECORD_SUFFIX,
    STALE_TEMP_SECONDS,
    InvalidSessionId,
    is_temp_name,
    temp_files,
    temp_record_name,
    validate_id,
)
from core.locks import exclusive_lock
from core.model import EntryResult, PlanEntry, PlanSkip, PrunePlan, PruneReason, PruneResult

PRUNE_LOCK = "prune.lock"  # inside {base}/.locks/: one pruner per base
SESSION_LOCK_WAIT = 2.0  # s; a producer holds a session's lock for one read and one write


class RecordRemoval:
    """The removing half of a JSON backend named ``name`` over ``base``;
    ``path_of`` turns a ``[workspace/]id`` into its (workspace, path) or
    raises :class:`SessionNotFound`."""

    def __init__(
        self, name: str, base: Path, path_of: Callable[[str], tuple[str | None, Path]]
    ) -> None:
        self.name = name
        self.base = base
        self.path_of = path_of

    def refusal(self, path: Path, base_st: os.stat_result) -> str:
        """Why ``path`` must not be removed, or '' when it may."""
        try:
            st = path.lstat()
        except FileNotFoundError:
            return "gone"
        except OSError as e:
            return e.strerror or str(e)
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a symlink?)"
        if st.st_dev != base_st.st_dev:
            return "on another filesystem"
        parent = path.parent
        if parent != self.base:
            pst = parent.lstat()
            if not stat.S_ISDIR(pst.st_mode):
                return "workspace is not a real directory (a symlink?)"
        return ""

    def stale_temp_entries(
        self, now: float, base_st: os.stat_result, skipped: list[PlanSkip]
    ) -> list[PlanEntry]:
        """Temporary files of atomic writes older than an hour: left by a crash."""
        entries: list[PlanEntry] = []
        for temp in temp_files(self.base):
            if temp.age(now) <= STALE_TEMP_SECONDS:
                continue  # a write may still be in flight
            why = self.refusal(temp.path, base_st)
            if why:
                skipped.append(PlanSkip(self.name, temp.ident, str(temp.path), why))
                continue
            entries.append(
                PlanEntry(
                    self.name,
                    temp.ident,
                    str(temp.path),
                    PruneReason.AGE,
                    temp.size,
                    "stale temporary file of an interrupted write (older than 1 hour)",
                    temp.mtime,
                )
            )
        return entries

    def temp_path(self, ident: str) -> Path | None:
        """``[workspace/]name`` of a temporary file -> its path, or None."""
        workspace, sep, name = ident.rpartition("/")
        if not is_temp_name(name):
            return None
        if sep:
            try:
                validate_id(workspace, "workspace id")
            except InvalidSessionId:
                return None
            return self.base / workspace / name
        return self.base / name

    def remove(self, plan: PrunePlan) -> PruneResult:
        """Remove exactly the plan's record files, re-checking each first.

        Workspace directories stay even when emptied.  One pruner per base (a
        lock in ``{base}/.locks``); errors are per entry.
        """
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        base_st = check_base(self.base)
        lock_dir = self.base / LOCK_DIR
        lock_dir.mkdir(exist_ok=True)
        results: list[EntryResult] = []
        with exclusive_lock(lock_dir / PRUNE_LOCK, what=f"a prune of {self.base}"):
            for entry in plan.entries:
                results.append(self._remove_one(entry, base_st))
        return PruneResult(self.name, tuple(results))

    def _remove_one(self, entry: PlanEntry, base_st: os.stat_result) -> EntryResult:
        temp = self.temp_path(entry.id)
        try:
            _, path = (None, temp) if temp is not None else self.path_of(entry.id)
        except SessionNotFound:
            return EntryResult(entry, False, "not a session id of this base; left alone")
        if entry.path not in (None, str(path)):
            return EntryResult(entry, False, "path does not match the id; left alone")
        try:
            # the producer's per-session lock: never delete under a write in flight
            record = temp_record_name(path.name) if temp is not None else path.name
            with exclusive_lock(
                self.base / LOCK_DIR / f"{record[: -len(RECORD_SUFFIX)]}.lock",
                wait=SESSION_LOCK_WAIT,
                what=f"a write to {entry.id}",
            ):
                return self._unlink(entry, path, base_st)
        except LockBusy as e:
            return EntryResult(entry, False, f"{e.message}; left alone")
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left alone")

    def _unlink(self, entry: PlanEntry, path: Path, base_st: os.stat_result) -> EntryResult:
        why = self.refusal(path, base_st)
        if why:
            return EntryResult(entry, False, f"{why}; left alone")
        # the workspace dir must still be the one inside base (not swapped for a link)
        try:
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left alone")
        try:
            if path.parent == self.base:
                st = os.fstat(dfd)
                if (st.st_dev, st.st_ino) != (base_st.st_dev, base_st.st_ino):
                    return EntryResult(entry, False, "base changed since it was checked")
            os.unlink(path.name, dir_fd=dfd)
        except FileNotFoundError:
            return EntryResult(entry, False, "already gone")
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left as it is")
        finally:
            with contextlib.suppress(OSError):
                os.close(dfd)
        return EntryResult(entry, True)
