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

Speed.  The first walk is pure Python (``os.listdir`` on a directory fd, then one ``os.lstat``
relative to it per entry, in one comprehension, with the sums of the plain files taken at C
speed), which costs about 1.7x the CPU of ``du`` single-threaded (listing and stat-ing alone
are 1.2x); threads do not help (every ``stat`` re-takes the GIL).  ``measure_many`` therefore
starts helper processes (this file, loaded with the stdlib only, ~15 ms) once a walk takes
longer than a few ms; they pull directories from a shared pipe of work tokens, so the walk runs
on several cores (about 1.0x ``du`` on two).

Re-measuring is cheap because results are cached and kept correct by inotify: every directory
of a measured tree is watched (the watch is added *before* the directory is listed, so nothing
falls between listing and watching); a measure drains the event queue and re-lists only the
directories that changed, walking (and watching) new subdirectories.  A hard-linked file that
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

# Only what the walker needs is imported up here: this file also runs as a helper process
# (see _child_main) that stops before the scanner's own imports below, to start fast.
import ctypes
import errno
import marshal
import operator
import os
import struct
import sys
from array import array

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator
    from typing import Any

    from core.model import SizeInfo

__all__ = ["DirScanner", "ScanReport", "ScanStats"]

# --- inotify constants (linux/inotify.h) ------------------------------------------------------
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

# IN_EXCL_UNLINK: a deleted file that is still open and written to is no longer in the tree;
# its writes must not trigger re-listing.
DIR_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CREATE
    | IN_DELETE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_CLOSE_WRITE
    | IN_ONLYDIR
    | IN_EXCL_UNLINK
)
# Watches on single hard-linked files whose other links are outside the measured tree.
FILE_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DONT_FOLLOW

_S_IFMT = 0o170000
_S_IFDIR = 0o040000
_S_IFREG = 0o100000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_EVENT = struct.Struct("iIII")
_TOKEN = struct.Struct("<I")
_FRAME = struct.Struct("<I")
# A pipe holds 64 KiB by default: that many 4-byte tokens can be queued without a writer thread.
_TOKENS_PER_BATCH = 16384
# Helper processes start only once the caller's own walk has taken this long, so measuring a
# few small directories never pays ~15 ms of interpreter start-up.
_SPAWN_AFTER_S = 0.008

# A walk record, one per directory (plain tuples so helper processes can marshal them):
# (path, parent index or -1, name, st_dev, st_ino, wd, apparent, blocks, files, newest,
#  multi, inos, error or None, skipped)
# ``apparent``/``blocks``/``files`` cover the directory itself and its direct non-directory
# entries with one link; ``multi`` lists direct entries with several links as
# (ino, size, blocks, mtime, is_regular, nlink, name); ``inos`` holds the inode numbers of the
# single-link entries (to find them again when one of them gains a hard link elsewhere);
# ``skipped`` lists (path, reason) of direct subdirectories not entered.
if TYPE_CHECKING:
    _Multi = tuple[int, int, int, float, bool, int, str]
    _Rec = tuple[
        str,
        int,
        str,
        int,
        int,
        int,
        int,
        int,
        int,
        float,
        list[_Multi],
        Any,  # array('Q') in process, bytes once marshalled
        str | None,
        list[tuple[str, str]],
    ]
    _Adder = Callable[[int], int]


# --- walking (stdlib only: this part also runs in helper processes) ----------------------------


def _make_adder(ino_fd: int, mask: int) -> _Adder:
    """``add(dir_fd) -> wd`` (or ``-errno``): watch the directory an open fd refers to.

    Watching ``/proc/self/fd/N`` watches exactly the inode that was opened, whatever happens to
    its path meanwhile.  Without /proc nothing is watched and every measure re-lists (correct,
    slower).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    add_watch = libc.inotify_add_watch
    add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
    add_watch.restype = ctypes.c_int
    get_errno = ctypes.get_errno
    have_proc = os.path.isdir("/proc/self/fd")  # noqa: PTH112 (pathlib is not imported here)

    def add(fd: int) -> int:
        if not have_proc:
            return -errno.ENOENT
        wd: int = add_watch(ino_fd, b"/proc/self/fd/%d" % fd, mask)
        return wd if wd >= 0 else -get_errno()

    return add


def _error_record(path: str, parent: int, name: str, lst: os.stat_result, why: str) -> _Rec:
    # A directory that cannot be read counts its own size (as du does), nothing below it.
    return (
        path,
        parent,
        name,
        lst.st_dev,
        lst.st_ino,
        -1,
        lst.st_size,
        lst.st_blocks,
        0,
        lst.st_mtime,
        [],
        array("Q"),
        why,
        [],
    )


_SIZE = operator.attrgetter("st_size")
_BLOCKS = operator.attrgetter("st_blocks")
_MTIME = operator.attrgetter("st_mtime")
_INO = operator.attrgetter("st_ino")


def _stat_each(names: list[str], fd: int) -> Iterator[tuple[str, Any]]:
    """``(name, lstat or the OSError)`` per entry; entries deleted since listed are left out
    (the directory's watch reports them)."""
    stat = os.stat
    for nm in names:
        try:
            yield nm, stat(nm, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        except OSError as e:
            yield nm, e


def _list_dir(
    path: str, fd: int, st: os.stat_result, dev: int
) -> tuple[
    int,
    int,
    int,
    float,
    list[_Multi],
    array[int],
    str | None,
    list[tuple[str, str]],
    list[tuple[str, os.stat_result]],
]:
    """List one open directory (the hot loop: one ``fstatat`` per entry, relative to ``fd``).

    Returns apparent, blocks, files and newest mtime of the directory itself plus its
    single-link non-directory entries, its multi-link entries, the inode numbers of its
    single-link entries, an error text (entries that could not be read), the subdirectories
    on other filesystems (not entered) and the (name, lstat) of the other subdirectories.
    """
    apparent = st.st_size
    blocks = st.st_blocks
    files = 0
    newest = st.st_mtime
    multi: list[_Multi] = []
    inos = array("Q")
    skipped: list[tuple[str, str]] = []
    subdirs: list[tuple[str, os.stat_result]] = []
    error: str | None = None
    try:
        names = os.listdir(fd)
    except OSError as e:
        names = []
        error = e.strerror or str(e)
    # The common case, every entry stat-ed without error, runs as comprehensions and C-level
    # sums (about half the per-entry cost of one loop doing it all); single-link regular files
    # need nothing else.  Directories, multi-link entries and other types go one by one below.
    lstat = os.lstat  # one keyword fewer to parse than stat(follow_symlinks=False)
    try:
        sts = [lstat(nm, dir_fd=fd) for nm in names]
    except OSError:
        entries: Iterable[tuple[str, Any]] = _stat_each(names, fd)
    else:
        odd = [i for i, s in enumerate(sts) if s.st_nlink != 1 or s.st_mode & _S_IFMT != _S_IFREG]
        plain = sts
        if odd:
            entries = [(names[i], sts[i]) for i in odd]
            skip = set(odd)
            plain = [s for i, s in enumerate(sts) if i not in skip]
        else:
            entries = ()
        if plain:
            apparent += sum(map(_SIZE, plain))
            blocks += sum(map(_BLOCKS, plain))
            files += len(plain)
            m = max(map(_MTIME, plain))
            if m > newest:  # noqa: PLR1730
                newest = m
            inos.extend(map(_INO, plain))
    for nm, s in entries:
        if isinstance(s, OSError):
            error = error or f"{nm}: {s.strerror or s}"
            continue
        mode = s.st_mode & _S_IFMT
        if mode == _S_IFDIR:
            if s.st_dev != dev:
                skipped.append((path + "/" + nm, "other filesystem"))
            else:
                subdirs.append((nm, s))
            continue
        m = s.st_mtime
        if m > newest:  # noqa: PLR1730 (hot loop: a max() call costs more)
            newest = m
        if s.st_nlink > 1:  # counted once per root, from the union of these
            multi.append((s.st_ino, s.st_size, s.st_blocks, m, mode == _S_IFREG, s.st_nlink, nm))
        else:
            apparent += s.st_size
            blocks += s.st_blocks
            inos.append(s.st_ino)
            if mode == _S_IFREG:
                files += 1
    return apparent, blocks, files, newest, multi, inos, error, skipped, subdirs


def _walk(
    stack: list[tuple[str, str, int, os.stat_result]],
    dev: int,
    add: _Adder | None,
    seen: set[int],
) -> tuple[list[_Rec], int]:
    """Walk directories depth-first; return their records and ``ENOSPC`` if watches ran out.

    ``stack`` holds (path, name, parent record index, lstat) of directories to enter; ``seen``
    holds inode numbers of directories already known (a bind mount of an ancestor on the same
    filesystem would otherwise loop forever).
    """
    records: list[_Rec] = []
    watch_err = 0
    while stack:
        path, name, parent, lst = stack.pop()
        try:
            fd = os.open(path, _DIR_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            continue  # gone or replaced since listed; the parent's watch reports it
        except OSError as e:
            if e.errno == errno.ELOOP:
                continue  # replaced by a symlink since listed
            records.append(_error_record(path, parent, name, lst, e.strerror or str(e)))
            continue
        try:
            # Watch before listing: a change after this point is queued, never lost.
            wd = -1
            if add is not None and not watch_err:
                wd = add(fd)
                if wd < 0:
                    if wd == -errno.ENOSPC:
                        watch_err = errno.ENOSPC
                    wd = -1
            st = os.fstat(fd)
            if st.st_dev != dev or st.st_ino in seen:
                if parent >= 0:
                    why = "other filesystem" if st.st_dev != dev else "directory cycle"
                    records[parent][13].append((path, why))
                continue
            seen.add(st.st_ino)
            apparent, blocks, files, newest, multi, inos, error, skipped, subdirs = _list_dir(
                path, fd, st, dev
            )
        finally:
            os.close(fd)
        me = len(records)
        records.append(
            (
                path,
                parent,
                name,
                st.st_dev,
                st.st_ino,
                wd,
                apparent,
                blocks,
                files,
                newest,
                multi,
                inos,
                error,
                skipped,
            )
        )
        for nm, s in subdirs:
            stack.append((path + "/" + nm, nm, me, s))
    return records, watch_err


def _walk_root(path: str, add: _Adder | None) -> tuple[Any, ...]:
    """Walk one measured path.

    Returns ``("ok", records, watch_errno)``, ``("file", (size, blocks, mtime, is_regular))``
    for a non-directory (measured as itself, never followed) or ``("err", errno, message)``.
    """
    try:
        lst = os.lstat(path)
    except OSError as e:
        return ("err", e.errno or errno.EIO, e.strerror or str(e))
    if lst.st_mode & _S_IFMT != _S_IFDIR:
        is_reg = lst.st_mode & _S_IFMT == _S_IFREG
        return ("file", (lst.st_size, lst.st_blocks, lst.st_mtime, is_reg))
    records, watch_err = _walk([(path, path.rpartition("/")[2], -1, lst)], lst.st_dev, add, set())
    if not records:
        return ("err", errno.ENOENT, "vanished while being measured")
    return ("ok", records, watch_err)


def _child_main() -> None:
    """Helper process: walk the paths whose indices it reads from the shared token pipe.

    Started as ``python -I -S -c _HELPER_BOOT scan.py`` (stdlib only, from cached bytecode).
    It inherits the scanner's inotify fd, so the watches it adds belong to the scanner; the
    watch is added before each directory is listed, as in process.  Results go to stdout as
    length-prefixed marshal frames ``(index, result)``.
    """
    # The parent wrote this header itself, over a pipe only the two processes hold.
    token_fd, ino_fd, mask, paths = marshal.loads(sys.stdin.buffer.read())  # noqa: S302
    add = _make_adder(ino_fd, mask) if ino_fd >= 0 else None
    while True:
        token = os.read(token_fd, _TOKEN.size)
        if len(token) < _TOKEN.size:
            break  # no work left
        (index,) = _TOKEN.unpack(token)
        result = _walk_root(paths[index], add)
        if result[0] == "ok":
            records = [(*r[:11], r[11].tobytes(), *r[12:]) for r in result[1]]
            result = ("ok", records, result[2])
        blob = marshal.dumps((index, result))
        data = memoryview(_FRAME.pack(len(blob)) + blob)
        while data:
            data = data[os.write(1, data) :]


# A helper process loads this file under this name (through importlib, so it starts from the
# cached bytecode instead of compiling the whole file as a script would) and stops here.
_HELPER_MODULE = "_sesstui_scan_helper"
_HELPER_BOOT = (
    "import sys, importlib.util as u;"
    f"s = u.spec_from_file_location({_HELPER_MODULE!r}, sys.argv[1]);"
    "s.loader.exec_module(u.module_from_spec(s))"
)
if __name__ in ("__main__", _HELPER_MODULE):
    _child_main()
    sys.exit(0)

# --- state kept by the scanner ------------------------------------------------------------------

import contextlib  # noqa: E402
import queue  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NamedTuple  # noqa: E402


class _Failure(NamedTuple):
    """Why a path could not be measured."""

    errno: int
    message: str

    def error(self, path: str) -> OSError:
        return OSError(self.errno, self.message, path)


class _Dir:
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

    def __init__(self, root: _Root, parent: _Dir | None, rec: _Rec, seq: int) -> None:
        self.root = root
        self.parent = parent
        self.path = rec[0]
        self.name = rec[2]
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.children: dict[str, _Dir] = {}
        self.alive = True
        self.dev = rec[3]
        self.ino = rec[4]
        self.wd = -1
        self.seq = seq
        self.apparent = 0
        self.blocks = 0
        self.files = 0
        self.newest = 0.0
        self.multi: dict[int, _Multi] = {}
        self.inos: array[int] = array("Q")
        self.error: str | None = None
        self.skipped: list[tuple[str, str]] = []
        self.set_totals(rec, seq)

    def set_totals(self, rec: _Rec, seq: int) -> None:
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


class _Root:
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
        self.top: _Dir | None = None
        self.dirs: set[_Dir] = set()
        self.dir_inos: set[int] = set()
        self.dirty: set[_Dir] = set()  # to re-list at the next measure
        # Re-listed on every measure: no watch (limit reached, unreadable) or a skipped cycle.
        self.recheck: set[_Dir] = set()
        self.full = False  # events were lost: walk again
        self.cached: tuple[SizeInfo, dict[int, _Multi], set[int]] | None = None
        self.fwatch: dict[int, int] = {}  # ino -> wd of files also linked from outside
        self.fpoll: dict[int, _Dir] = {}  # such files that could not be watched: polled


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
    outcome: dict[int, SizeInfo | _Failure | None] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)  # indices still to walk
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    inbox: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    open_readers: int = 0
    token_fd: int = -1


class _Claims:
    """Inodes already counted by the paths yielded so far in one ``measure_many`` call."""

    def __init__(self) -> None:
        self.multi: dict[int, set[int]] = {}  # dev -> multi-link inodes counted
        self.single: dict[int, set[int]] = {}  # dev -> single-link inodes (built on demand)
        self.roots: list[_Root] = []

    def take(self, root: _Root, union: dict[int, _Multi], open_inos: set[int]) -> set[int]:
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


class _Inotify:
    """The few inotify calls the scanner needs (ctypes, Linux only)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        init = libc.inotify_init1
        init.argtypes = (ctypes.c_int,)
        init.restype = ctypes.c_int
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._add.restype = ctypes.c_int
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = (ctypes.c_int, ctypes.c_int)
        self._rm.restype = ctypes.c_int
        fd: int = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd = fd
        self.add_dir_fd = _make_adder(fd, DIR_MASK)

    def add_path(self, path: str, mask: int) -> int:
        """Watch a path; ``wd`` or ``-errno``."""
        wd: int = self._add(self.fd, os.fsencode(path), mask)
        return wd if wd >= 0 else -ctypes.get_errno()

    def rm(self, wd: int) -> None:
        self._rm(self.fd, wd)

    def read(self) -> list[tuple[int, int]]:
        """Every queued event as (wd, mask); names are not needed (whole dirs are re-listed)."""
        out: list[tuple[int, int]] = []
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            pos = 0
            while pos < len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, pos)
                out.append((wd, mask))
                pos += _EVENT.size + length

    def close(self) -> None:
        os.close(self.fd)


# --- the scanner ----------------------------------------------------------------------------------


class DirScanner:
    """Measures directories and keeps the results current (see the module docstring).

    Thread-safe: calls are serialised by a lock (``measure_many`` releases it while the
    caller consumes a result).  ``last_errors`` maps each path of the last call that could not
    be measured at all (missing, not accessible) to the reason; what a measurement left out
    below a path is in :meth:`report`.  ``stats`` counts walks, re-listings and fallbacks.
    """

    def __init__(self, *, use_inotify: bool = True) -> None:
        from core.model import SizeInfo  # not at module level: helper processes skip `core`

        self._size_info = SizeInfo
        self._lock = threading.RLock()
        self._roots: dict[str, _Root] = {}
        self._dir_owners: dict[int, list[_Dir]] = {}  # wd -> dirs (one inode may be in two roots)
        self._file_owners: dict[int, dict[_Root, int]] = {}  # wd -> {root: ino}
        self._seq = 0
        self._closed = False
        self.stats = ScanStats()
        self.last_errors: dict[Path, str] = {}
        self.inotify_error: str | None = None
        self._ino: _Inotify | None = None
        if use_inotify:
            try:
                self._ino = _Inotify()
            except (OSError, AttributeError) as e:  # not Linux, or no instance left (EMFILE)
                self.inotify_error = str(e)

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
            self._drain()
            root = self._roots.get(key)
            result: SizeInfo | _Failure | None
            if root is not None and self._ino is not None:
                result = self._refresh(root)
            else:
                result = self._walk_and_ingest(key, None)
            if result is None:
                return self._totals(self._roots[key])[0]
            if isinstance(result, _Failure):
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
        queue), so the order costs little.  A path given twice is yielded once.  A path that
        cannot be measured is not yielded; its reason is in ``last_errors``.  Closing the
        generator early (``.close()``, or dropping it) stops the helper processes.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
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
        claimed = _Claims()
        for start in range(0, len(items), _TOKENS_PER_BATCH):
            chunk = items[start : start + _TOKENS_PER_BATCH]
            yield from self._measure_batch(chunk, workers, claimed)

    def report(self, path: Path) -> ScanReport:
        """What the cached measurement of ``path`` left out (empty when not measured)."""
        key = _key(path)
        with self._lock:
            root = self._roots.get(key)
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
            root = self._roots.pop(key, None)
            if root is not None:
                self._drop_root_state(root)

    def close(self) -> None:
        """Release every watch and the inotify instance; the scanner is unusable afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._roots.clear()
            self._dir_owners.clear()
            self._file_owners.clear()
            if self._ino is not None:
                self._ino.close()  # drops every watch at once
                self._ino = None

    def __enter__(self) -> DirScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- measure_many internals ---

    def _measure_batch(
        self, items: list[tuple[Path, str]], workers: int, claimed: _Claims
    ) -> Iterator[tuple[Path, SizeInfo]]:
        with self._lock:
            self._check_open()
            self._drain()
            batch = _Batch(items, self._next_seq())
        try:
            yield from self._run_batch(batch, workers, claimed)
        finally:
            self._end_batch(batch)

    def _run_batch(
        self, batch: _Batch, workers: int, claimed: _Claims
    ) -> Iterator[tuple[Path, SizeInfo]]:
        items = batch.items
        with self._lock:
            self._check_open()
            to_walk: list[int] = []
            for i, (_, key) in enumerate(items):
                root = self._roots.get(key)
                if root is None or root.full or self._ino is None:
                    if root is not None:
                        # Drop now, before a helper re-adds watches on the same inodes.
                        del self._roots[key]
                        self._drop_root_state(root)
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
                    root = self._roots.get(items[i][1])
                    if root is not None and (recheck or root.dirty or root.full):
                        batch.outcome[i] = self._refresh(root, recheck=recheck)
                recheck = False
                cached = [i for i in cached if batch.outcome[i] is None]
                if not any(self._roots[items[i][1]].dirty for i in cached):
                    break
            if to_walk:
                # The work queue: one 4-byte token per path; a pipe read of 4 bytes is atomic,
                # so this process and the helpers each take every token at most once.
                r, w = os.pipe()
                batch.token_fd = r
                os.write(w, b"".join(_TOKEN.pack(i) for i in to_walk))
                os.close(w)
        next_emit = 0
        started = time.perf_counter()
        while True:
            blobs = self._take_frames(batch, block=False)
            with self._lock:
                self._check_open()
                self._finish_frames(batch, blobs)
                index = self._next_token(batch)
                if index is not None:
                    self._walk_here(batch, index)
                    if (
                        workers > 1
                        and not batch.procs
                        and time.perf_counter() - started > _SPAWN_AFTER_S
                    ):
                        self._spawn_helpers(batch, workers - 1)
                ready, next_emit = self._emit(batch, next_emit, claimed)
            yield from ready
            if index is None:
                break
        while batch.pending and batch.open_readers > 0:
            blobs = self._take_frames(batch, block=True)
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

    def _next_token(self, batch: _Batch) -> int | None:
        if batch.token_fd < 0:
            return None
        token = os.read(batch.token_fd, _TOKEN.size)
        if len(token) < _TOKEN.size:
            return None
        index: int = _TOKEN.unpack(token)[0]
        return index

    def _walk_here(self, batch: _Batch, index: int) -> None:
        key = batch.items[index][1]
        self._finish(batch, index, _walk_root(key, self._adder()))

    def _finish(self, batch: _Batch, index: int, result: tuple[Any, ...]) -> None:
        if index not in batch.pending:
            return
        batch.pending.discard(index)
        key = batch.items[index][1]
        old = self._roots.pop(key, None)
        got = self._ingest(key, result, batch.seq)
        if old is not None:
            # Measured meanwhile by another call: the new walk wins.  The old state is dropped
            # after the new one owns its watches, so watches on shared inodes survive.
            self._drop_root_state(old)
        batch.outcome[index] = got

    def _spawn_helpers(self, batch: _Batch, count: int) -> None:
        import fcntl
        import termios

        script = _key(__file__)
        if not sys.executable or not script.endswith(".py") or not Path(script).is_file():
            return  # frozen or zipped: walk in this process only
        left = struct.unpack("i", fcntl.ioctl(batch.token_fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        count = min(count, left // _TOKEN.size - 1)  # leave the last one to this process
        if count < 1:
            return
        ino_fd = self._ino.fd if self._ino is not None else -1
        fds = (batch.token_fd,) if ino_fd < 0 else (batch.token_fd, ino_fd)
        header = marshal.dumps((batch.token_fd, ino_fd, DIR_MASK, [k for _, k in batch.items]))
        for _ in range(count):
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _HELPER_BOOT, script],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    pass_fds=fds,
                )
            except OSError:
                return
            batch.procs.append(proc)
            self.stats.helpers_started += 1
            thread = threading.Thread(
                target=_read_frames, args=(proc.stdout, batch.inbox), daemon=True
            )
            thread.start()
            batch.threads.append(thread)
            batch.open_readers += 1
            if proc.stdin is None:
                continue
            try:
                proc.stdin.write(header)
                proc.stdin.close()
            except OSError:
                pass  # it died at once; its share is walked here at the end

    def _take_frames(self, batch: _Batch, *, block: bool) -> list[bytes]:
        """Frames the helpers sent so far (waiting for one when ``block``); no lock held."""
        out: list[bytes] = []
        while batch.open_readers > 0:
            try:
                blob = batch.inbox.get(block=block)
            except queue.Empty:
                break
            block = False
            if blob is None:
                batch.open_readers -= 1  # that helper is done
            else:
                out.append(blob)
        return out

    def _finish_frames(self, batch: _Batch, blobs: list[bytes]) -> None:
        for blob in blobs:
            try:
                index, result = marshal.loads(blob)  # noqa: S302 (our own helper's pipe)
            except (ValueError, EOFError, TypeError):
                continue
            if isinstance(index, int) and index in batch.pending:
                self.stats.walks_in_helpers += 1
                self._finish(batch, index, result)

    def _emit(
        self, batch: _Batch, next_emit: int, claimed: _Claims
    ) -> tuple[list[tuple[Path, SizeInfo]], int]:
        """The results that can go out in order, each deduped against the paths before it."""
        out: list[tuple[Path, SizeInfo]] = []
        while next_emit < len(batch.items) and next_emit in batch.outcome:
            path, key = batch.items[next_emit]
            got = batch.outcome[next_emit]
            next_emit += 1
            if got is None:
                root = self._roots.get(key)
                if root is None:
                    got = _Failure(errno.ENOENT, "vanished")
                elif self._ino is not None and (root.dirty or root.full):
                    got = self._refresh(root, recheck=False)
            if isinstance(got, _Failure):
                self.last_errors[path] = got.message
                continue
            if got is not None:
                out.append((path, got))  # a file or symlink measured as itself
                continue
            root = self._roots[key]
            info, union, open_inos = self._totals(root)
            shared = claimed.take(root, union, open_inos)
            if shared:
                apparent, disk, files = info.apparent, info.disk, info.files
                for ino in shared:
                    m = union[ino]
                    apparent -= m[1]
                    disk -= m[2] * 512
                    files -= m[4]
                info = self._size_info(apparent, disk, files, info.newest_mtime)
            out.append((path, info))
        return out, next_emit

    def _end_batch(self, batch: _Batch) -> None:
        for proc in batch.procs:
            if proc.poll() is None:
                # Abandoned generator: stop helpers.  Watches one of them added for a path it
                # did not finish stay in the instance until that path is walked again (the
                # walk then adopts them: same inode, same wd) or the scanner closes.
                proc.kill()
            proc.wait()
        for thread in batch.threads:
            thread.join(timeout=5)
        for proc in batch.procs:
            if proc.stdout is not None:
                proc.stdout.close()
        if batch.token_fd >= 0:
            os.close(batch.token_fd)
            batch.token_fd = -1

    # --- state ---

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("DirScanner is closed")

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _adder(self) -> _Adder | None:
        return self._ino.add_dir_fd if self._ino is not None else None

    def _walk_and_ingest(self, key: str, since: int | None) -> SizeInfo | _Failure | None:
        """Walk ``key`` from scratch (dropping any state of it); None when stored as a root."""
        old = self._roots.pop(key, None)
        if old is not None:
            self._drop_root_state(old)
        return self._ingest(key, _walk_root(key, self._adder()), since)

    def _ingest(
        self, key: str, result: tuple[Any, ...], since: int | None
    ) -> SizeInfo | _Failure | None:
        """Store a walk.  Returns None (state stored under ``key``), a size (not a directory)
        or a failure.  ``since``: roots walked at or after this sequence number need not be
        searched for files that just gained a link (they saw the current link counts)."""
        self.stats.full_walks += 1
        if result[0] == "err":
            return _Failure(result[1], result[2])
        if result[0] == "file":
            size, blocks, mtime, is_reg = result[1]
            return self._size_info(size, blocks * 512, int(is_reg), mtime)
        records: list[_Rec] = result[1]
        seq = self._next_seq()
        root = _Root(key, records[0][3], seq)
        self._roots[key] = root
        self._add_records(root, None, records)
        if result[2] == errno.ENOSPC:
            self.stats.watch_limit_hits += 1
        fresh = self._multi_inos(root.dirs)
        if fresh:
            self._find_single_holders(root.dev, fresh, seq if since is None else since)
            self._update_file_watches(root)
        return None

    def _add_records(self, root: _Root, parent: _Dir | None, records: list[_Rec]) -> list[_Dir]:
        made: list[_Dir] = []
        seq = self._next_seq()
        for rec in records:
            up = made[rec[1]] if rec[1] >= 0 else parent
            d = _Dir(root, up, rec, seq)
            made.append(d)
            if up is None:
                root.top = d
            else:
                up.children[d.name] = d
            root.dirs.add(d)
            root.dir_inos.add(d.ino)
            if rec[5] >= 0:
                d.wd = rec[5]
                self._dir_owners.setdefault(d.wd, []).append(d)
            self._set_recheck(d)
        root.cached = None
        return made

    def _set_recheck(self, d: _Dir) -> None:
        if self._ino is not None and (
            d.wd < 0 or d.error is not None or any(w == "directory cycle" for _, w in d.skipped)
        ):
            d.root.recheck.add(d)
        else:
            d.root.recheck.discard(d)

    def _drop_dir(self, d: _Dir) -> None:
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

    def _release_dir_watch(self, d: _Dir) -> None:
        if d.wd < 0:
            return
        owners = self._dir_owners.get(d.wd)
        if owners is not None:
            with contextlib.suppress(ValueError):
                owners.remove(d)
            if not owners:
                del self._dir_owners[d.wd]
                if self._ino is not None:
                    self._ino.rm(d.wd)
        d.wd = -1

    def _drop_root_state(self, root: _Root) -> None:
        if root.top is not None:
            self._drop_dir(root.top)
        for ino in list(root.fwatch):
            self._release_file_watch(root, ino)
        root.fpoll.clear()

    # --- inotify events and incremental refresh ---

    def _drain(self) -> None:
        """Read every queued event and mark the directories it touched for re-listing."""
        if self._ino is None:
            return
        for wd, mask in self._ino.read():
            if mask & IN_Q_OVERFLOW:
                # Events were lost: nothing cached can be trusted any more.
                self.stats.overflows += 1
                for root in self._roots.values():
                    root.full = True
                continue
            owners = self._dir_owners.get(wd)
            if owners:
                if mask & IN_IGNORED:
                    # The watch is gone (directory deleted, filesystem unmounted): re-list the
                    # directory on every measure until it is watched again or found gone.
                    del self._dir_owners[wd]
                    for d in owners:
                        d.wd = -1
                        self._set_recheck(d)
                for d in owners:
                    d.root.dirty.add(d)
                    d.root.cached = None
            files = self._file_owners.get(wd)
            if files:
                if mask & IN_IGNORED:
                    del self._file_owners[wd]
                for root, ino in list(files.items()):
                    if mask & IN_IGNORED:
                        root.fwatch.pop(ino, None)
                    for d in root.dirs:
                        if ino in d.multi:
                            root.dirty.add(d)
                    root.cached = None

    def _refresh(self, root: _Root, *, recheck: bool = True) -> SizeInfo | _Failure | None:
        """Bring a root up to date after :meth:`_drain`: re-list what changed.

        Returns None when ``self._roots[root.key]`` is current (possibly a new walk), the
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
            new_subs: list[tuple[_Dir, str, os.stat_result]] = []
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
                records, watch_err = _walk(
                    [(path, name, -1, s)], root.dev, self._adder(), set(root.dir_inos)
                )
                if watch_err:
                    self.stats.watch_limit_hits += 1
                made = self._add_records(root, parent, records)
                new_multi = self._multi_inos(made)
                if new_multi:
                    links_changed = True
                    fresh |= new_multi
            if fresh:
                self._find_single_holders(root.dev, fresh, None)
            if links_changed:
                self._update_file_watches(root)
        return None

    def _rewalk(self, root: _Root) -> SizeInfo | _Failure | None:
        return self._walk_and_ingest(root.key, None)

    def _rescan(self, d: _Dir, new_subs: list[tuple[_Dir, str, os.stat_result]]) -> bool:
        """Re-list one directory; False when it is gone (its parent is marked dirty)."""
        self.stats.dir_rescans += 1
        root = d.root
        try:
            fd = os.open(d.path, _DIR_FLAGS)
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
            d.set_totals(_error_record(d.path, -1, d.name, lst, why), self._next_seq())
            self._set_recheck(d)
            root.cached = None
            return True
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (d.dev, d.ino):
                return self._gone(d)  # replaced by another directory of the same name
            if d.wd < 0 and self._ino is not None:
                wd = self._ino.add_dir_fd(fd)
                if wd >= 0:
                    d.wd = wd
                    self._dir_owners.setdefault(wd, []).append(d)
                elif wd == -errno.ENOSPC:
                    self.stats.watch_limit_hits += 1
            apparent, blocks, files, newest, multi, inos, error, skipped, subdirs = _list_dir(
                d.path, fd, st, root.dev
            )
        finally:
            os.close(fd)
        rec: _Rec = (
            d.path,
            -1,
            d.name,
            d.dev,
            d.ino,
            d.wd,
            apparent,
            blocks,
            files,
            newest,
            multi,
            inos,
            error,
            skipped,
        )
        d.set_totals(rec, self._next_seq())
        root.cached = None
        now = dict(subdirs)
        for name, child in list(d.children.items()):
            s = now.get(name)
            if s is None or (s.st_dev, s.st_ino) != (child.dev, child.ino):
                self._drop_dir(child)
        new_subs.extend((d, name, s) for name, s in subdirs if name not in d.children)
        self._set_recheck(d)
        return True

    def _gone(self, d: _Dir) -> bool:
        parent = d.parent
        self._drop_dir(d)
        if parent is not None and parent.alive:
            d.root.dirty.add(parent)
        return False

    # --- hard links ---

    @staticmethod
    def _multi_inos(dirs: Iterable[_Dir]) -> set[int]:
        out: set[int] = set()
        for d in dirs:
            out.update(d.multi)
        return out

    def _find_single_holders(self, dev: int, inos: set[int], since: int | None) -> None:
        """Mark for re-listing the directories that hold any of ``inos`` as single-linked.

        Making a hard link to a file changes its link count without any event on the
        directories that already held it, which then still count it as single-linked.  Roots
        walked at or after ``since`` saw the current link counts and are skipped.
        """
        for root in self._roots.values():
            if root.dev != dev or (since is not None and root.walked >= since):
                continue
            for d in root.dirs:
                if d.inos and not inos.isdisjoint(d.inos):
                    root.dirty.add(d)
                    root.cached = None

    def _update_file_watches(self, root: _Root) -> None:
        """Watch the hard-linked files that also have links outside this root: a write through
        such a link is not reported to any watched directory."""
        if self._ino is None:
            return
        count: dict[int, int] = {}
        latest: dict[int, _Dir] = {}
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
            wd = self._ino.add_path(d.path + "/" + d.multi[ino][6], FILE_MASK)
            if wd < 0:
                if wd == -errno.ENOSPC:
                    self.stats.watch_limit_hits += 1
                root.fpoll[ino] = d  # polled on every measure instead
                continue
            root.fpoll.pop(ino, None)
            root.fwatch[ino] = wd
            self._file_owners.setdefault(wd, {})[root] = ino
            self._poll_file(root, ino, d)  # it may have changed between listing and watching

    def _poll_file(self, root: _Root, ino: int, d: _Dir) -> None:
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

    def _release_file_watch(self, root: _Root, ino: int) -> None:
        wd = root.fwatch.pop(ino, None)
        if wd is None:
            return
        owners = self._file_owners.get(wd)
        if owners is not None:
            owners.pop(root, None)
            if not owners:
                del self._file_owners[wd]
                if self._ino is not None:
                    self._ino.rm(wd)

    # --- totals ---

    def _totals(self, root: _Root) -> tuple[SizeInfo, dict[int, _Multi], set[int]]:
        """The root's size, its multi-link inodes and those of them with links outside it
        (for dedupe across paths)."""
        if root.cached is not None:
            return root.cached
        apparent = blocks = files = 0
        newest: float | None = None
        with_multi: list[_Dir] = []
        for d in root.dirs:
            apparent += d.apparent
            blocks += d.blocks
            files += d.files
            if newest is None or d.newest > newest:
                newest = d.newest
            if d.multi:
                with_multi.append(d)
        # An inode listed in two directories: the latest listing has the freshest stat.
        union: dict[int, _Multi] = {}
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
        info = self._size_info(apparent, blocks * 512, files, newest)
        root.cached = (info, union, open_inos)
        return root.cached


def _key(path: str | os.PathLike[str]) -> str:
    """The cache key of a path: absolute and normalised, symlinks *not* resolved (a measured
    path that is a symlink is measured as the link itself)."""
    return os.path.abspath(path)  # noqa: PTH100 (Path.resolve would follow symlinks)


def _read_frames(stream: Any, inbox: queue.Queue[bytes | None]) -> None:
    """Reader thread: split a helper's output into frames (its blocking reads release the GIL)."""
    buf = bytearray()
    fd = stream.fileno()
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= _FRAME.size:
                (n,) = _FRAME.unpack_from(buf)
                if len(buf) < _FRAME.size + n:
                    break
                inbox.put(bytes(buf[_FRAME.size : _FRAME.size + n]))
                del buf[: _FRAME.size + n]
    except OSError:
        pass
    finally:
        inbox.put(None)
