"""Walking measured directories: the hot loop of :class:`core.dirs.scan.DirScanner`.

One walk lists a tree depth-first and returns one record per directory (plain tuples, so
helper processes can marshal them; see :mod:`core.dirs.helpers`).  Each directory is watched
(when an ``add`` function is given) *before* it is listed, so nothing falls between listing
and watching.

This module imports the standard library and :mod:`core.inotify` only: a helper process
loads both by file path in an isolated interpreter (``python -I -S``) and runs
:func:`child_main`, which keeps its start-up at about 15 ms.  Nothing here has process-wide
effects.
"""

from __future__ import annotations

import errno
import marshal
import operator
import os
import struct
import sys
from array import array

from core.inotify import (
    IN_ATTRIB,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_DONT_FOLLOW,
    IN_EXCL_UNLINK,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_ONLYDIR,
    fd_adder,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

__all__ = [
    "DIR_FLAGS",
    "DIR_MASK",
    "FILE_MASK",
    "FRAME",
    "TOKEN",
    "child_main",
    "error_record",
    "list_dir",
    "list_record",
    "walk",
    "walk_root",
]

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
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# The helper protocol: 4-byte work tokens (path indices) in, length-prefixed frames out.
TOKEN = struct.Struct("<I")
FRAME = struct.Struct("<I")

# A walk record, one per directory (plain tuples so helper processes can marshal them):
# (path, parent index or -1, name, st_dev, st_ino, wd, apparent, blocks, files, newest,
#  multi, inos, error or None, skipped)
# ``apparent``/``blocks``/``files`` cover the directory itself and its direct non-directory
# entries with one link; ``multi`` lists direct entries with several links as
# (ino, size, blocks, mtime, is_regular, nlink, name); ``inos`` holds the inode numbers of the
# single-link entries (to find them again when one of them gains a hard link elsewhere);
# ``skipped`` lists (path, reason) of direct subdirectories not entered.
if TYPE_CHECKING:
    Multi = tuple[int, int, int, float, bool, int, str]
    Rec = tuple[
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
        list[Multi],
        Any,  # array('Q') in process, bytes once marshalled
        str | None,
        list[tuple[str, str]],
    ]
    Adder = Callable[[int], int]


# --- walking ----------------------------------------------------------------------------------


def error_record(path: str, parent: int, name: str, lst: os.stat_result, why: str) -> Rec:
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


def list_dir(
    path: str, fd: int, st: os.stat_result, dev: int
) -> tuple[
    int,
    int,
    int,
    float,
    list[Multi],
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
    multi: list[Multi] = []
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


def list_record(
    fd: int, st: os.stat_result, dev: int, *, path: str, parent: int, name: str, wd: int
) -> tuple[Rec, list[tuple[str, os.stat_result]]]:
    """List one open directory (:func:`list_dir`) into its walk record; also return the
    (name, lstat) of the subdirectories to enter."""
    apparent, blocks, files, newest, multi, inos, error, skipped, subdirs = list_dir(
        path, fd, st, dev
    )
    rec: Rec = (
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
    return rec, subdirs


def walk(
    stack: list[tuple[str, str, int, os.stat_result]],
    dev: int,
    add: Adder | None,
    seen: set[int],
) -> tuple[list[Rec], int]:
    """Walk directories depth-first; return their records and ``ENOSPC`` if watches ran out.

    ``stack`` holds (path, name, parent record index, lstat) of directories to enter; ``seen``
    holds inode numbers of directories already known (a bind mount of an ancestor on the same
    filesystem would otherwise loop forever).
    """
    records: list[Rec] = []
    watch_err = 0
    while stack:
        path, name, parent, lst = stack.pop()
        try:
            fd = os.open(path, DIR_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            continue  # gone or replaced since listed; the parent's watch reports it
        except OSError as e:
            if e.errno == errno.ELOOP:
                continue  # replaced by a symlink since listed
            records.append(error_record(path, parent, name, lst, e.strerror or str(e)))
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
            rec, subdirs = list_record(fd, st, dev, path=path, parent=parent, name=name, wd=wd)
        finally:
            os.close(fd)
        me = len(records)
        records.append(rec)
        for nm, s in subdirs:
            stack.append((path + "/" + nm, nm, me, s))
    return records, watch_err


def walk_root(path: str, add: Adder | None) -> tuple[Any, ...]:
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
    records, watch_err = walk([(path, path.rpartition("/")[2], -1, lst)], lst.st_dev, add, set())
    if not records:
        return ("err", errno.ENOENT, "vanished while being measured")
    return ("ok", records, watch_err)


def child_main() -> None:
    """Helper process: walk the paths whose indices it reads from the shared token pipe.

    Started by :mod:`core.dirs.helpers` as ``python -I -S -c BOOT walker.py inotify.py``
    (stdlib only, from cached bytecode).
    It inherits the scanner's inotify fd, so the watches it adds belong to the scanner; the
    watch is added before each directory is listed, as in process.  Results go to stdout as
    length-prefixed marshal frames ``(index, result)``.
    """
    # The parent wrote this header itself, over a pipe only the two processes hold.
    token_fd, ino_fd, mask, paths = marshal.loads(sys.stdin.buffer.read())  # noqa: S302
    add = fd_adder(ino_fd, mask) if ino_fd >= 0 else None
    while True:
        token = os.read(token_fd, TOKEN.size)
        if len(token) < TOKEN.size:
            break  # no work left
        (index,) = TOKEN.unpack(token)
        result = walk_root(paths[index], add)
        if result[0] == "ok":
            records = [(*r[:11], r[11].tobytes(), *r[12:]) for r in result[1]]
            result = ("ok", records, result[2])
        blob = marshal.dumps((index, result))
        data = memoryview(FRAME.pack(len(blob)) + blob)
        while data:
            data = data[os.write(1, data) :]
