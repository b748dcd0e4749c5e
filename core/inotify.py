"""The few inotify(7) calls sesstui needs, through ``ctypes`` (Linux only).

One wrapper for every user: :class:`core.logtail.FileTail` (wakes up when a followed log
changes) and :class:`core.dirs.scan.DirScanner` (re-lists only the directories that changed).

This module imports the standard library only and nothing from ``core``: the scanner's helper
processes load it by its file path in an isolated interpreter (see :mod:`core.dirs.helpers`),
so it must stay importable on its own, and cheap: ``ctypes`` is imported on first use (the
constants are all that :mod:`core.logtail` needs until a tail follows).

Process-wide effects: none.  Each :class:`Inotify` is one kernel instance (one fd, closed
with :meth:`Inotify.close`, which drops all its watches); the ``libc`` handle is looked up
once per process and shared read-only.
"""

from __future__ import annotations

import errno
import os
import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    import ctypes
    from collections.abc import Callable

__all__ = [
    "IN_ATTRIB",
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_DONT_FOLLOW",
    "IN_EXCL_UNLINK",
    "IN_IGNORED",
    "IN_MODIFY",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_MOVE_SELF",
    "IN_ONLYDIR",
    "IN_Q_OVERFLOW",
    "IN_UNMOUNT",
    "Inotify",
    "fd_adder",
]

# --- constants (linux/inotify.h) ---------------------------------------------------------------
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

_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)

_libc_handle: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    """libc with the inotify functions typed; OSError(ENOSYS) where there are none."""
    global _libc_handle  # noqa: PLW0603 (a cache of an immutable handle, set once)
    if _libc_handle is None:
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init1 = libc.inotify_init1
            add = libc.inotify_add_watch
            rm = libc.inotify_rm_watch
        except (OSError, AttributeError) as e:  # not Linux, or a libc without inotify
            raise OSError(errno.ENOSYS, "inotify is not available") from e
        init1.argtypes = (ctypes.c_int,)
        init1.restype = ctypes.c_int
        add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        add.restype = ctypes.c_int
        rm.argtypes = (ctypes.c_int, ctypes.c_int)
        rm.restype = ctypes.c_int
        _libc_handle = libc
    return _libc_handle


def fd_adder(ino_fd: int, mask: int) -> Callable[[int], int]:
    """``add(fd) -> wd`` (or ``-errno``): watch, on the instance ``ino_fd``, the file or
    directory an open fd refers to.

    Watching ``/proc/self/fd/N`` watches exactly the inode that was opened, whatever happens to
    its path meanwhile.  Without /proc nothing is watched (``-ENOENT``): callers then re-check
    by themselves (correct, slower).  Works on an inherited ``ino_fd`` too (helper processes).
    """
    import ctypes

    add_watch = _libc().inotify_add_watch
    get_errno = ctypes.get_errno
    have_proc = os.path.isdir("/proc/self/fd")  # noqa: PTH112 (pathlib is not imported here)

    def add(fd: int) -> int:
        if not have_proc:
            return -errno.ENOENT
        wd: int = add_watch(ino_fd, b"/proc/self/fd/%d" % fd, mask)
        return wd if wd >= 0 else -get_errno()

    return add


class Inotify:
    """One non-blocking, close-on-exec inotify instance.

    Raises ``OSError`` when inotify is not available (not Linux: ``ENOSYS``) or no instance is
    left (``EMFILE``).  ``fd`` can be polled for readability.
    """

    def __init__(self) -> None:
        import ctypes

        libc = _libc()
        self._add = libc.inotify_add_watch
        self._rm = libc.inotify_rm_watch
        self._get_errno = ctypes.get_errno
        fd: int = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd = fd

    def try_add(self, path: str, mask: int) -> int:
        """Watch a path; ``wd`` or ``-errno`` (e.g. ``-ENOSPC`` at the watch limit)."""
        wd: int = self._add(self.fd, os.fsencode(path), mask)
        return wd if wd >= 0 else -self._get_errno()

    def add(self, path: str, mask: int) -> int:
        """Watch a path; its ``wd``, or ``OSError`` naming the path."""
        wd = self.try_add(path, mask)
        if wd < 0:
            raise OSError(-wd, os.strerror(-wd), path)
        return wd

    def add_open(self, fd: int, mask: int, path: str) -> int:
        """Watch the inode the open ``fd`` refers to, through ``/proc/self/fd/N`` (so a rename
        racing with the open cannot make this watch another file); without /proc, ``path``.
        Its ``wd``, or ``OSError`` naming ``path``."""
        wd = fd_adder(self.fd, mask)(fd)
        if wd == -errno.ENOENT and not os.path.isdir("/proc/self/fd"):  # noqa: PTH112
            return self.add(path, mask)
        if wd < 0:
            raise OSError(-wd, os.strerror(-wd), path)
        return wd

    def fd_adder(self, mask: int) -> Callable[[int], int]:
        """``add(fd) -> wd`` (or ``-errno``) on this instance: see :func:`fd_adder`."""
        return fd_adder(self.fd, mask)

    def rm(self, wd: int) -> None:
        """Stop a watch; one the kernel already dropped (the inode went away) is fine."""
        self._rm(self.fd, wd)

    def read(self) -> list[tuple[int, int]]:
        """Every queued event as ``(wd, mask)``, without waiting (names are not kept)."""
        out: list[tuple[int, int]] = []
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            if not buf:
                return out
            pos = 0
            while pos < len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, pos)
                out.append((wd, mask))
                pos += _EVENT.size + length

    def drain(self) -> None:
        """Discard every queued event (for users that only need the wake-up)."""
        try:
            self.read()
        except OSError:
            return

    def close(self) -> None:
        """Close the instance; this drops every watch at once."""
        os.close(self.fd)
