"""The cached state of :class:`core.dirs.scan.DirScanner`, kept current by inotify.

Every directory of a measured tree is a :class:`Dir` holding its own totals (itself plus its
direct non-directory entries); a :class:`Root` is one measured path.  :class:`TreeCache` owns
the roots and the inotify watches: :meth:`TreeCache.drain` reads the event queue and marks
the directories an event touched, :meth:`TreeCache.refresh` re-lists only those (walking new
subdirectories), and :func:`totals` sums a root.  Hard links: a file with several links counts
once per root (``Dir.multi``); one that also has links outside the root is watched itself
(``FILE_MASK``) or, at the watch limit, polled on every measure.

Process-wide effects: none (the state belongs to one scanner; its inotify instance is closed
with it).
"""

from __future__ import annotations

import contextlib
import errno
import os
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from core.dirs.walker import (
    DIR_FLAGS,
    DIR_MASK,
    FILE_MASK,
    error_record,
    list_record,
    walk,
    walk_root,
)
from core.inotify import IN_IGNORED, IN_Q_OVERFLOW, Inotify
from core.model import SizeInfo

if TYPE_CHECKING:
    from core.dirs.scan import ScanStats
    from core.dirs.walker import Adder, Multi, Rec

__all__ = ["Claims", "Dir", "Failure", "Root", "TreeCache", "multi_inos", "totals"]


class Failure(NamedTuple):
    """Why a path could not be measured."""

    errno: int
    message: str

    def error(self, path: str) -> OSError:
        return OSError(self.errno, self.message, path)


class Dir:
    """One directory of a measured tree: its own stat plus its direct entries' totals."""

    __slots__ = (
        "alive",
        "apparent",
        "blocks",
        "children",
        "depth",
        "dev",
        "error",
        "files",
        "ino",
        "inos",
        "multi",
        "name",
        "newest",
        "parent",
        "path",
        "root",
        "seq",
        "skipped",
        "wd",
    )

    def __init__(self, root: Root, parent: Dir | None, rec: Rec, seq: int) -> None:
        self.root = root
        self.parent = parent
        self.path = rec[0]
        self.name = rec[2]
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.children: dict[str, Dir] = {}
        self.alive = True
        self.dev = rec[3]
        self.ino = rec[4]
        self.wd = -1
        self.seq = seq
        self.apparent = 0
        self.blocks = 0
        self.files = 0
        self.newest = 0.0
        self.multi: dict[int, Multi] = {}
        self.inos: array[int] = array("Q")
        self.error: str | None = None
        self.skipped: list[tuple[str, str]] = []
        self.set_totals(rec, seq)

    def set_totals(self, rec: Rec, seq: int) -> None:
        self.seq = seq
        self.apparent = rec[6]
        self.blocks = rec[7]
        self.files = rec[8]
        self.newest = rec[9]
        self.multi = {m[0]: m for m in rec[10]}
        inos = rec[11]
        if isinstance(inos, bytes):  # from a helper process
            arr = array("Q")
            arr.frombytes(inos)
            inos = arr
        self.inos = inos
        self.error = rec[12]
        self.skipped = rec[13]


class Root:
    """A measured path and the state that keeps its size current."""

    __slots__ = (
        "cached",
        "dev",
        "dir_inos",
        "dirs",
        "dirty",
        "fpoll",
        "full",
        "fwatch",
        "key",
        "recheck",
        "top",
        "walked",
    )

    def __init__(self, key: str, dev: int, walked: int) -> None:
        self.key = key
        self.dev = dev
        self.walked = walked  # sequence number of the full walk
        self.top: Dir | None = None
        self.dirs: set[Dir] = set()
        self.dir_inos: set[int] = set()
        self.dirty: set[Dir] = set()  # to re-list at the next measure
        # Re-listed on every measure: no watch (limit reached, unreadable) or a skipped cycle.
        self.recheck: set[Dir] = set()
        self.full = False  # events were lost: walk again
        self.cached: tuple[SizeInfo, dict[int, Multi], set[int]] | None = None
        self.fwatch: dict[int, int] = {}  # ino -> wd of files also linked from outside
        self.fpoll: dict[int, Dir] = {}  # such files that could not be watched: polled


class Claims:
    """Inodes already counted by the paths yielded so far in one ``measure_many`` call."""

    def __init__(self) -> None:
        self.multi: dict[int, set[int]] = {}  # dev -> multi-link inodes counted
        self.single: dict[int, set[int]] = {}  # dev -> single-link inodes (built on demand)
        self.roots: list[Root] = []

    def take(self, root: Root, union: dict[int, Multi], open_inos: set[int]) -> set[int]:
        """The inodes of ``union`` an earlier path already counted; then claim them all."""
        dev = root.dev
        taken = self.multi.setdefault(dev, set())
        shared = taken.intersection(union)
        if open_inos - shared:
            # A link made after an earlier path was listed leaves that path counting the
            # inode as single-linked (no event tells its directory): look there too.
            shared |= self._singles(dev).intersection(open_inos)
        taken.update(union)
        self.roots.append(root)
        singles = self.single.get(dev)
        if singles is not None:
            for d in root.dirs:
                singles.update(d.inos)
        return shared

    def _singles(self, dev: int) -> set[int]:
        singles = self.single.get(dev)
        if singles is None:
            singles = set()
            for r in self.roots:
                if r.dev == dev:
                    for d in r.dirs:
                        singles.update(d.inos)
            self.single[dev] = singles
        return singles


def multi_inos(dirs: Iterable[Dir]) -> set[int]:
    """The inodes with several links listed in ``dirs``."""
    out: set[int] = set()
    for d in dirs:
        out.update(d.multi)
    return out


def totals(root: Root) -> tuple[SizeInfo, dict[int, Multi], set[int]]:
    """The root's size, its multi-link inodes and those of them with links outside it
    (for dedupe across paths)."""
    if root.cached is not None:
        return root.cached
    apparent = blocks = files = 0
    newest: float | None = None
    with_multi: list[Dir] = []
    for d in root.dirs:
        apparent += d.apparent
        blocks += d.blocks
        files += d.files
        if newest is None or d.newest > newest:
            newest = d.newest
        if d.multi:
            with_multi.append(d)
    # An inode listed in two directories: the latest listing has the freshest stat.
    union: dict[int, Multi] = {}
    links: dict[int, int] = {}
    for d in sorted(with_multi, key=lambda d: d.seq):
        union.update(d.multi)
        for ino in d.multi:
            links[ino] = links.get(ino, 0) + 1
    for m in union.values():
        apparent += m[1]
        blocks += m[2]
        files += m[4]
    open_inos = {ino for ino, m in union.items() if links[ino] < m[5]}
    info = SizeInfo(apparent, blocks * 512, files, newest)
    root.cached = (info, union, open_inos)
    return root.cached


class TreeCache:
    """The measured roots of one scanner and the watches that keep them current.

    Not thread-safe: the scanner calls it under its lock.  ``ino`` is None without inotify
    (every measure then walks).
    """

    def __init__(self, ino: Inotify | None, stats: ScanStats) -> None:
        self.ino = ino
        self.stats = stats
        self.roots: dict[str, Root] = {}
        self.dir_owners: dict[int, list[Dir]] = {}  # wd -> dirs (one inode may be in two roots)
        self.file_owners: dict[int, dict[Root, int]] = {}  # wd -> {root: ino}
        self._seq = 0
        self._add_dir: Adder | None = ino.fd_adder(DIR_MASK) if ino is not None else None

    def clear(self) -> None:
        """Forget everything and close the inotify instance (which drops every watch)."""
        self.roots.clear()
        self.dir_owners.clear()
        self.file_owners.clear()
        if self.ino is not None:
            self.ino.close()
            self.ino = None
            self._add_dir = None

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def adder(self) -> Adder | None:
        return self._add_dir if self.ino is not None else None

    def walk_and_ingest(self, key: str, since: int | None) -> SizeInfo | Failure | None:
        """Walk ``key`` from scratch (dropping any state of it); None when stored as a root."""
        old = self.roots.pop(key, None)
        if old is not None:
            self.drop_root_state(old)
        return self.ingest(key, walk_root(key, self.adder()), since)

    def ingest(
        self, key: str, result: tuple[Any, ...], since: int | None
    ) -> SizeInfo | Failure | None:
        """Store a walk.  Returns None (state stored under ``key``), a size (not a directory)
        or a failure.  ``since``: roots walked at or after this sequence number need not be
        searched for files that just gained a link (they saw the current link counts)."""
        self.stats.full_walks += 1
        if result[0] == "err":
            return Failure(result[1], result[2])
        if result[0] == "file":
            size, blocks, mtime, is_reg = result[1]
            return SizeInfo(size, blocks * 512, int(is_reg), mtime)
        records: list[Rec] = result[1]
        seq = self.next_seq()
        root = Root(key, records[0][3], seq)
        self.roots[key] = root
        self._add_records(root, None, records)
        if result[2] == errno.ENOSPC:
            self.stats.watch_limit_hits += 1
        fresh = multi_inos(root.dirs)
        if fresh:
            self._find_single_holders(root.dev, fresh, seq if since is None else since)
            self._update_file_watches(root)
        return None

    def _add_records(self, root: Root, parent: Dir | None, records: list[Rec]) -> list[Dir]:
        made: list[Dir] = []
        seq = self.next_seq()
        for rec in records:
            up = made[rec[1]] if rec[1] >= 0 else parent
            d = Dir(root, up, rec, seq)
            made.append(d)
            if up is None:
                root.top = d
            else:
                up.children[d.name] = d
            root.dirs.add(d)
            root.dir_inos.add(d.ino)
            if rec[5] >= 0:
                d.wd = rec[5]
                self.dir_owners.setdefault(d.wd, []).append(d)
            self._set_recheck(d)
        root.cached = None
        return made

    def _set_recheck(self, d: Dir) -> None:
        if self.ino is not None and (
            d.wd < 0 or d.error is not None or any(w == "directory cycle" for _, w in d.skipped)
        ):
            d.root.recheck.add(d)
        else:
            d.root.recheck.discard(d)

    def _drop_dir(self, d: Dir) -> None:
        """Forget a directory and everything below it, releasing watches no one else uses."""
        root = d.root
        todo = [d]
        while todo:
            x = todo.pop()
            todo.extend(x.children.values())
            x.alive = False
            x.children = {}
            root.dirs.discard(x)
            root.dir_inos.discard(x.ino)
            root.dirty.discard(x)
            root.recheck.discard(x)
            self._release_dir_watch(x)
        if d.parent is not None and d.parent.children.get(d.name) is d:
            del d.parent.children[d.name]
        if d is root.top:
            root.top = None
        root.cached = None

    def _release_dir_watch(self, d: Dir) -> None:
        if d.wd < 0:
            return
        owners = self.dir_owners.get(d.wd)
        if owners is not None:
            with contextlib.suppress(ValueError):
                owners.remove(d)
            if not owners:
                del self.dir_owners[d.wd]
                if self.ino is not None:
                    self.ino.rm(d.wd)
        d.wd = -1

    def drop_root_state(self, root: Root) -> None:
        if root.top is not None:
            self._drop_dir(root.top)
        for ino in list(root.fwatch):
            self._release_file_watch(root, ino)
        root.fpoll.clear()

    # --- inotify events and incremental refresh ---

    def drain(self) -> None:
        """Read every queued event and mark the directories it touched for re-listing."""
        if self.ino is None:
            return
        for wd, mask in self.ino.read():
            if mask & IN_Q_OVERFLOW:
                # Events were lost: nothing cached can be trusted any more.
                self.stats.overflows += 1
                for root in self.roots.values():
                    root.full = True
                continue
            owners = self.dir_owners.get(wd)
            if owners:
                if mask & IN_IGNORED:
                    # The watch is gone (directory deleted, filesystem unmounted): re-list the
                    # directory on every measure until it is watched again or found gone.
                    del self.dir_owners[wd]
                    for d in owners:
                        d.wd = -1
                        self._set_recheck(d)
                for d in owners:
                    d.root.dirty.add(d)
                    d.root.cached = None
            files = self.file_owners.get(wd)
            if files:
                if mask & IN_IGNORED:
                    del self.file_owners[wd]
                for root, ino in list(files.items()):
                    if mask & IN_IGNORED:
                        root.fwatch.pop(ino, None)
                    for d in root.dirs:
                        if ino in d.multi:
                            root.dirty.add(d)
                    root.cached = None

    def refresh(self, root: Root, *, recheck: bool = True) -> SizeInfo | Failure | None:
        """Bring a root up to date after :meth:`_drain`: re-list what changed.

        Returns None when ``self.roots[root.key]`` is current (possibly a new walk), the
        failure when the measured path itself is gone, or its size when it is no longer a
        directory (measured as itself).
        """
        if root.full:
            return self._rewalk(root)
        if recheck:
            for ino, d in list(root.fpoll.items()):
                self._poll_file(root, ino, d)
            root.dirty |= root.recheck
        while root.dirty:
            # Two phases.  First re-list every dirty directory, parents before children,
            # dropping subdirectories that are gone; then walk the new ones.  A directory moved
            # within the tree has its old place dropped before its new place is walked, so its
            # inode is not mistaken for a cycle.
            todo = sorted(root.dirty, key=lambda d: d.depth)
            root.dirty.clear()
            new_subs: list[tuple[Dir, str, os.stat_result]] = []
            links_changed = False
            fresh: set[int] = set()
            for d in todo:
                if not d.alive:
                    continue
                before = d.multi
                if not self._rescan(d, new_subs):
                    if d is root.top or root.top is None:
                        return self._rewalk(root)
                    continue
                if before or d.multi:
                    links_changed = True
                    fresh.update(d.multi.keys() - before.keys())
            for parent, name, s in new_subs:
                if not parent.alive or name in parent.children:
                    continue
                path = parent.path + "/" + name
                if s.st_ino in root.dir_inos:
                    parent.skipped.append((path, "directory cycle"))
                    self._set_recheck(parent)
                    continue
                records, watch_err = walk(
                    [(path, name, -1, s)], root.dev, self.adder(), set(root.dir_inos)
                )
                if watch_err:
                    self.stats.watch_limit_hits += 1
                made = self._add_records(root, parent, records)
                new_multi = multi_inos(made)
                if new_multi:
                    links_changed = True
                    fresh |= new_multi
            if fresh:
                self._find_single_holders(root.dev, fresh, None)
            if links_changed:
                self._update_file_watches(root)
        return None

    def _rewalk(self, root: Root) -> SizeInfo | Failure | None:
        return self.walk_and_ingest(root.key, None)

    def _rescan(self, d: Dir, new_subs: list[tuple[Dir, str, os.stat_result]]) -> bool:
        """Re-list one directory; False when it is gone (its parent is marked dirty)."""
        self.stats.dir_rescans += 1
        root = d.root
        try:
            fd = os.open(d.path, DIR_FLAGS)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                return self._gone(d)
            try:  # unreadable now: keep its own size, forget what was below it
                lst = os.lstat(d.path)
            except OSError:
                return self._gone(d)
            if (lst.st_dev, lst.st_ino) != (d.dev, d.ino):
                return self._gone(d)
            for child in list(d.children.values()):
                self._drop_dir(child)
            why = e.strerror or str(e)
            d.set_totals(error_record(d.path, -1, d.name, lst, why), self.next_seq())
            self._set_recheck(d)
            root.cached = None
            return True
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (d.dev, d.ino):
                return self._gone(d)  # replaced by another directory of the same name
            if d.wd < 0 and self._add_dir is not None:
                wd = self._add_dir(fd)
                if wd >= 0:
                    d.wd = wd
                    self.dir_owners.setdefault(wd, []).append(d)
                elif wd == -errno.ENOSPC:
                    self.stats.watch_limit_hits += 1
            rec, subdirs = list_record(
                fd, st, root.dev, path=d.path, parent=-1, name=d.name, wd=d.wd
            )
        finally:
            os.close(fd)
        d.set_totals(rec, self.next_seq())
        root.cached = None
        now = dict(subdirs)
        for name, child in list(d.children.items()):
            s = now.get(name)
            if s is None or (s.st_dev, s.st_ino) != (child.dev, child.ino):
                self._drop_dir(child)
        new_subs.extend((d, name, s) for name, s in subdirs if name not in d.children)
        self._set_recheck(d)
        return True

    def _gone(self, d: Dir) -> bool:
        parent = d.parent
        self._drop_dir(d)
        if parent is not None and parent.alive:
            d.root.dirty.add(parent)
        return False

    # --- hard links ---

    def _find_single_holders(self, dev: int, inos: set[int], since: int | None) -> None:
        """Mark for re-listing the directories that hold any of ``inos`` as single-linked.

        Making a hard link to a file changes its link count without any event on the
        directories that already held it, which then still count it as single-linked.  Roots
        walked at or after ``since`` saw the current link counts and are skipped.
        """
        for root in self.roots.values():
            if root.dev != dev or (since is not None and root.walked >= since):
                continue
            for d in root.dirs:
                if d.inos and not inos.isdisjoint(d.inos):
                    root.dirty.add(d)
                    root.cached = None

    def _update_file_watches(self, root: Root) -> None:
        """Watch the hard-linked files that also have links outside this root: a write through
        such a link is not reported to any watched directory."""
        if self.ino is None:
            return
        count: dict[int, int] = {}
        latest: dict[int, Dir] = {}
        for d in root.dirs:
            for ino in d.multi:
                count[ino] = count.get(ino, 0) + 1
                if ino not in latest or d.seq > latest[ino].seq:
                    latest[ino] = d
        open_inos = {ino for ino, n in count.items() if n < latest[ino].multi[ino][5]}
        for ino in list(root.fwatch):
            if ino not in open_inos:
                self._release_file_watch(root, ino)
        for ino in list(root.fpoll):
            if ino not in open_inos:
                del root.fpoll[ino]
        for ino in open_inos:
            if ino in root.fwatch:
                continue
            d = latest[ino]
            wd = self.ino.try_add(d.path + "/" + d.multi[ino][6], FILE_MASK)
            if wd < 0:
                if wd == -errno.ENOSPC:
                    self.stats.watch_limit_hits += 1
                root.fpoll[ino] = d  # polled on every measure instead
                continue
            root.fpoll.pop(ino, None)
            root.fwatch[ino] = wd
            self.file_owners.setdefault(wd, {})[root] = ino
            self._poll_file(root, ino, d)  # it may have changed between listing and watching

    def _poll_file(self, root: Root, ino: int, d: Dir) -> None:
        m = d.multi.get(ino)
        if m is None or not d.alive:
            root.fpoll.pop(ino, None)
            return
        try:
            s = os.lstat(d.path + "/" + m[6])
        except OSError:
            root.dirty.add(d)
            return
        if (s.st_ino, s.st_size, s.st_blocks, s.st_mtime, s.st_nlink) != (
            m[0],
            m[1],
            m[2],
            m[3],
            m[5],
        ):
            root.dirty.add(d)
            root.cached = None

    def _release_file_watch(self, root: Root, ino: int) -> None:
        wd = root.fwatch.pop(ino, None)
        if wd is None:
            return
        owners = self.file_owners.get(wd)
        if owners is not None:
            owners.pop(root, None)
            if not owners:
                del self.file_owners[wd]
                if self.ino is not None:
                    self.ino.rm(wd)
