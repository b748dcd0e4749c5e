"""Measure session directories (apparent size, disk usage, file count, newest mtime).

``DirScanner`` measures a directory the way ``du -x`` does:

* ``apparent`` is the sum of ``st_size`` and ``disk`` the sum of ``st_blocks * 512`` over the
  directory itself and everything below it (directories, files, symlinks, fifos ...);
  ``files`` counts regular files; ``newest_mtime`` is the newest ``st_mtime`` of anything
  inside, the directory itself included.
* Symlinks are never followed (``lstat``): a link counts its own size, never its target.
* Subtrees on another filesystem (``st_dev`` differs from the measured directory's) are not
  entered and not counted, like ``du -x``; they are listed in :meth:`DirScanner.report`.
* Unreadable directories count their own size but not their contents (as ``du`` does); they are
  listed in :meth:`DirScanner.report` and never raise.
* A non-directory inode with several hard links counts once.  :meth:`DirScanner.measure`
  dedupes within the one directory (``du -s DIR``).  :meth:`DirScanner.measure_many` dedupes
  across the whole call like one ``du -s A B C`` invocation: an inode linked from several of
  the given directories counts in the first of them, in the order given.

Speed.  The first walk is pure Python (:mod:`core.dirs.walker`: ``os.listdir`` on a directory
fd, then one ``os.lstat`` relative to it per entry, in one comprehension, with the sums of the
plain files taken at C speed), which costs about 1.7x the CPU of ``du`` single-threaded
(listing and stat-ing alone are 1.2x); threads do not help (every ``stat`` re-takes the GIL).
``measure_many`` therefore starts helper processes (:mod:`core.dirs.helpers`: the walker
loaded with the stdlib only, ~15 ms) once a walk takes longer than a few ms; they pull
directories from a shared pipe of work tokens, so the walk runs on several cores (about 1.0x
``du`` on two).

Re-measuring is cheap because results are cached (:mod:`core.dirs.cache`) and kept correct by
inotify (:mod:`core.inotify`): every directory of a measured tree is watched (the watch is added
*before* the directory is listed, so nothing falls between listing and watching); a measure
drains the event queue and re-lists only the directories that changed, walking (and watching)
new subdirectories.  A hard-linked file that
also has links outside the measured tree is watched itself, so writes through the outside link
are seen too.  On a queue overflow every tree is walked again; when the kernel's watch limit
is reached (``ENOSPC``) the unwatched directories are simply re-listed on every measure.
Without inotify (``use_inotify=False`` or no inotify available) every measure walks.

Limits: changes that produce no inotify event (writes through ``mmap``, changes made on another
host of a network filesystem, ``st_blocks`` shrinking later by itself, e.g. XFS trimming
speculative preallocation) are seen only after :meth:`DirScanner.forget`.  Each watched
directory takes one inotify watch of the user's ``fs.inotify.max_user_watches``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.dirs.cache import Claims, Failure, TreeCache, totals
from core.dirs.helpers import TOKENS_PER_BATCH, HelperPool, decode
from core.dirs.walker import walk_root
from core.inotify import Inotify
from core.model import SizeInfo

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

__all__ = ["DirScanner", "ScanReport", "ScanStats"]

# Helper processes start only once the caller's own walk has taken this long, so measuring a
# few small directories never pays ~15 ms of interpreter start-up.
_SPAWN_AFTER_S = 0.008


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What the cached measurement of one path left out.

    ``other_fs``: subtrees on another filesystem (not entered, not counted).
    ``skipped``: other subtrees not entered (directory cycles through bind mounts).
    ``unreadable``: (path, reason) of directories or entries that could not be read; the size
    is then a lower bound.  ``watched``: True when inotify keeps the whole cached size current
    (False: some or all of it is re-listed on every measure).
    """

    path: Path
    other_fs: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    watched: bool = False

    @property
    def complete(self) -> bool:
        """True when nothing below the path was unreadable."""
        return not self.unreadable


@dataclass(slots=True)
class ScanStats:
    """Counters for tests and benchmarks (not a stable interface)."""

    full_walks: int = 0
    dir_rescans: int = 0
    overflows: int = 0
    watch_limit_hits: int = 0
    helpers_started: int = 0
    walks_in_helpers: int = 0


@dataclass(eq=False)
class _Batch:
    """One ``measure_many`` chunk in flight."""

    items: list[tuple[Path, str]]
    seq: int
    # index -> a size, a failure, or None when the size is in the scanner's state
    outcome: dict[int, SizeInfo | Failure | None] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)  # indices still to walk
    helpers: HelperPool | None = None  # the token pipe and helper processes, when walking


# --- the scanner ----------------------------------------------------------------------------------


class DirScanner:
    """Measures directories and keeps the results current (see the module docstring).

    Thread-safe: calls are serialised by a lock (``measure_many`` releases it while the
    caller consumes a result).  ``last_errors`` maps each path of the last call that could not
    be measured at all (missing, not accessible) to the reason; what a measurement left out
    below a path is in :meth:`report`.  ``stats`` counts walks, re-listings and fallbacks.
    """

    def __init__(self, *, use_inotify: bool = True) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self.stats = ScanStats()
        self.last_errors: dict[Path, str] = {}
        self.inotify_error: str | None = None
        ino: Inotify | None = None
        if use_inotify:
            try:
                ino = Inotify()
            except (OSError, AttributeError) as e:  # not Linux, or no instance left (EMFILE)
                self.inotify_error = str(e)
        self._cache = TreeCache(ino, self.stats)

    @property
    def _ino(self) -> Inotify | None:
        return self._cache.ino

    # --- public API ---

    @property
    def watching(self) -> bool:
        """True when inotify is in use (re-measures are incremental)."""
        return self._ino is not None

    def measure(self, path: Path) -> SizeInfo:
        """Size of one directory (hard links deduped within it, like ``du -s PATH``).

        Cached and kept current: a re-measure re-lists only the directories that changed.
        Raises ``OSError`` (e.g. ``FileNotFoundError``) when the path itself cannot be
        measured.  A symlink or a file is measured as itself.
        """
        key = _key(path)
        with self._lock:
            self._check_open()
            self.last_errors = {}
            self._cache.drain()
            root = self._cache.roots.get(key)
            result: SizeInfo | Failure | None
            if root is not None and self._ino is not None:
                result = self._cache.refresh(root)
            else:
                result = self._cache.walk_and_ingest(key, None)
            if result is None:
                return totals(self._cache.roots[key])[0]
            if isinstance(result, Failure):
                self.last_errors[path] = result.message
                raise result.error(key)
            return result

    def measure_many(
        self, paths: Iterable[Path], *, workers: int = 2
    ) -> Generator[tuple[Path, SizeInfo], None, None]:
        """Measure several directories, yielding ``(path, size)`` as each one is done.

        Hard links are deduped across the whole call like one ``du -s A B C``: an inode with
        links in several of the paths counts in the first of them, in the order given.  To
        keep that deterministic, results are yielded in the order given; directories are
        still walked in parallel (``workers`` processes, this one included, pulling from one
        queue; never more than the CPUs this process may run on), so the order costs little.
        A path given twice is yielded once.  A path that cannot be measured is not yielded;
        its reason is in ``last_errors``.  Closing the generator early (``.close()``, or
        dropping it) stops the helper processes.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        workers = min(workers, _usable_cpus())
        items: list[tuple[Path, str]] = []
        seen: set[str] = set()
        for p in paths:
            key = _key(p)
            if key not in seen:
                seen.add(key)
                items.append((p, key))
        with self._lock:
            self._check_open()
            self.last_errors = {}
        claimed = Claims()
        for start in range(0, len(items), TOKENS_PER_BATCH):
            chunk = items[start : start + TOKENS_PER_BATCH]
            yield from self._measure_batch(chunk, workers, claimed)

    def report(self, path: Path) -> ScanReport:
        """What the cached measurement of ``path`` left out (empty when not measured)."""
        key = _key(path)
        with self._lock:
            root = self._cache.roots.get(key)
            if root is None:
                return ScanReport(path)
            other: list[str] = []
            skipped: list[str] = []
            unreadable: list[tuple[str, str]] = []
            for d in sorted(root.dirs, key=lambda d: d.path):
                for p, why in d.skipped:
                    (other if why == "other filesystem" else skipped).append(p)
                if d.error is not None:
                    unreadable.append((d.path, d.error))
            watched = (
                self._ino is not None
                and not root.fpoll
                and all(d.wd >= 0 for d in root.dirs if d.error is None)
            )
            return ScanReport(path, tuple(other), tuple(skipped), tuple(unreadable), watched)

    def forget(self, path: Path) -> None:
        """Drop the cached state of ``path`` and release its watches; the next measure walks."""
        key = _key(path)
        with self._lock:
            root = self._cache.roots.pop(key, None)
            if root is not None:
                self._cache.drop_root_state(root)

    def close(self) -> None:
        """Release every watch and the inotify instance; the scanner is unusable afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cache.clear()  # closes the inotify instance: drops every watch at once

    def __enter__(self) -> DirScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- measure_many internals ---

    def _measure_batch(
        self, items: list[tuple[Path, str]], workers: int, claimed: Claims
    ) -> Iterator[tuple[Path, SizeInfo]]:
        with self._lock:
            self._check_open()
            self._cache.drain()
            batch = _Batch(items, self._cache.next_seq())
        try:
            yield from self._run_batch(batch, workers, claimed)
        finally:
            self._end_batch(batch)

    def _run_batch(
        self, batch: _Batch, workers: int, claimed: Claims
    ) -> Iterator[tuple[Path, SizeInfo]]:
        items = batch.items
        with self._lock:
            self._check_open()
            to_walk: list[int] = []
            for i, (_, key) in enumerate(items):
                root = self._cache.roots.get(key)
                if root is None or root.full or self._ino is None:
                    if root is not None:
                        # Drop now, before a helper re-adds watches on the same inodes.
                        del self._cache.roots[key]
                        self._cache.drop_root_state(root)
                    to_walk.append(i)
                else:
                    batch.outcome[i] = None
            batch.pending = set(to_walk)
            # Bring every cached path up to date before anything is yielded: re-listing one
            # can find a new hard link that makes another (maybe earlier) one stale.
            cached = list(batch.outcome)
            recheck = True
            for _ in range(4):  # settles after one pass unless the tree keeps changing
                for i in cached:
                    root = self._cache.roots.get(items[i][1])
                    if root is not None and (recheck or root.dirty or root.full):
                        batch.outcome[i] = self._cache.refresh(root, recheck=recheck)
                recheck = False
                cached = [i for i in cached if batch.outcome[i] is None]
                if not any(self._cache.roots[items[i][1]].dirty for i in cached):
                    break
            if to_walk:
                # The work queue: one 4-byte token per path; a pipe read of 4 bytes is atomic,
                # so this process and the helpers each take every token at most once.
                batch.helpers = HelperPool([k for _, k in items], to_walk)
        next_emit = 0
        started = time.perf_counter()
        while True:
            blobs = batch.helpers.take(block=False) if batch.helpers else []
            with self._lock:
                self._check_open()
                self._finish_frames(batch, blobs)
                index = batch.helpers.next_token() if batch.helpers else None
                if index is not None:
                    self._walk_here(batch, index)
                    if (
                        workers > 1
                        and batch.helpers is not None
                        and not batch.helpers.procs
                        and time.perf_counter() - started > _SPAWN_AFTER_S
                    ):
                        ino_fd = self._ino.fd if self._ino is not None else -1
                        self.stats.helpers_started += batch.helpers.spawn(workers - 1, ino_fd)
                ready, next_emit = self._emit(batch, next_emit, claimed)
            yield from ready
            if index is None:
                break
        while batch.pending and batch.helpers is not None and batch.helpers.open_readers > 0:
            blobs = batch.helpers.take(block=True)
            with self._lock:
                self._check_open()
                self._finish_frames(batch, blobs)
                ready, next_emit = self._emit(batch, next_emit, claimed)
            yield from ready
        with self._lock:
            self._check_open()
            # A helper that died left its tokens undone: walk them here.
            for index in sorted(batch.pending):
                self._walk_here(batch, index)
            ready, next_emit = self._emit(batch, next_emit, claimed)
        yield from ready

    def _walk_here(self, batch: _Batch, index: int) -> None:
        key = batch.items[index][1]
        self._finish(batch, index, walk_root(key, self._cache.adder()))

    def _finish(self, batch: _Batch, index: int, result: tuple[Any, ...]) -> None:
        if index not in batch.pending:
            return
        batch.pending.discard(index)
        key = batch.items[index][1]
        old = self._cache.roots.pop(key, None)
        got = self._cache.ingest(key, result, batch.seq)
        if old is not None:
            # Measured meanwhile by another call: the new walk wins.  The old state is dropped
            # after the new one owns its watches, so watches on shared inodes survive.
            self._cache.drop_root_state(old)
        batch.outcome[index] = got

    def _finish_frames(self, batch: _Batch, blobs: list[bytes]) -> None:
        for blob in blobs:
            frame = decode(blob)
            if frame is not None and frame[0] in batch.pending:
                self.stats.walks_in_helpers += 1
                self._finish(batch, *frame)

    def _emit(
        self, batch: _Batch, next_emit: int, claimed: Claims
    ) -> tuple[list[tuple[Path, SizeInfo]], int]:
        """The results that can go out in order, each deduped against the paths before it."""
        out: list[tuple[Path, SizeInfo]] = []
        while next_emit < len(batch.items) and next_emit in batch.outcome:
            path, key = batch.items[next_emit]
            got = batch.outcome[next_emit]
            next_emit += 1
            if got is None:
                root = self._cache.roots.get(key)
                if root is None:
                    got = Failure(errno.ENOENT, "vanished")
                elif self._ino is not None and (root.dirty or root.full):
                    got = self._cache.refresh(root, recheck=False)
            if isinstance(got, Failure):
                self.last_errors[path] = got.message
                continue
            if got is not None:
                out.append((path, got))  # a file or symlink measured as itself
                continue
            root = self._cache.roots[key]
            info, union, open_inos = totals(root)
            shared = claimed.take(root, union, open_inos)
            if shared:
                apparent, disk, files = info.apparent, info.disk, info.files
                for ino in shared:
                    m = union[ino]
                    apparent -= m[1]
                    disk -= m[2] * 512
                    files -= m[4]
                info = SizeInfo(apparent, disk, files, info.newest_mtime)
            out.append((path, info))
        return out, next_emit

    def _end_batch(self, batch: _Batch) -> None:
        if batch.helpers is not None:
            batch.helpers.close()
            batch.helpers = None

    # --- state ---

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("DirScanner is closed")


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: ``taskset``, a container's cpuset).

    A walker beyond them only takes turns with the others: it adds its start-up and its
    frames to the CPU the scan needs and walks nothing sooner.
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _key(path: str | os.PathLike[str]) -> str:
    """The cache key of a path: absolute and normalised, symlinks *not* resolved (a measured
    path that is a symlink is measured as the link itself)."""
    return os.path.abspath(path)  # noqa: PTH100 (Path.resolve would follow symlinks)
