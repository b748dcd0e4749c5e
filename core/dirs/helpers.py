"""Helper processes that walk directories for :meth:`core.dirs.scan.DirScanner.measure_many`.

Why processes: the walk is one ``fstatat`` per entry and every call re-takes the GIL, so
threads do not help; a second process does (about 1.0x ``du`` on two cores, 1.7x alone) when
a core is free.  Where the kernel shares a busy CPU between sessions first (``sched_autogroup``),
a second process in the caller's session wins little of it from other programs: the session's
share is split between its processes.  So each helper starts a session of its own
(``setsid``), and gets a share as another program would: under two busy loops in other
sessions the first scan went from 1.6x ``du`` to 1.3x (measured: ``docs/rooms/dirs.md``).
Between cgroups (systemd scopes) the weights stay per cgroup; a new session changes nothing
there.  A helper outside the terminal's process group gets no ``SIGINT``: the scanner kills
its helpers on ``close``, and a helper whose scanner died ends at its next frame (the pipe
is gone) or when the token pipe runs dry.

How: the work queue is a pipe of 4-byte tokens (indices of the paths to walk), written once
by the scanner.  A pipe read of 4 bytes is atomic, so the scanner's own thread and every
helper each take a token at most once, and whoever is free takes the next one.  A helper is
``python -I -S -c BOOT walker.py inotify.py``: an isolated interpreter that loads only those
two stdlib-only files (from cached bytecode, about 15 ms) and runs
:func:`core.dirs.walker.child_main`.  It inherits the scanner's inotify fd, so the watches it
adds belong to the scanner.  Results come back on its stdout as length-prefixed marshal frames
``(index, result)``, read by one thread per helper (blocking reads release the GIL).

Why not :mod:`concurrent.futures`: see ``docs/rooms/dirs.md`` (measured).

Process-wide effects: none.  Helpers are children of one :class:`HelperPool`; closing it
kills what still runs and reaps them; reader threads are daemons that end with their pipe.
"""

from __future__ import annotations

import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from core import inotify
from core.dirs import walker
from core.dirs.walker import DIR_MASK, FRAME, TOKEN

__all__ = ["BOOT", "TOKENS_PER_BATCH", "HelperPool", "helper_argv"]

# A pipe holds 64 KiB by default: that many 4-byte tokens can be queued without a writer thread.
TOKENS_PER_BATCH = 16384

# The helper loads inotify.py, then walker.py, by file path under their real names (so the
# walker's `from core.inotify import ...` finds the first one without importing `core`), through
# `importlib.machinery` rather than `importlib.util`, which imports contextlib, collections and
# functools: a helper's start then costs 13.4 ms of CPU instead of 14.8 (median of 50 each).
BOOT = (
    "import sys, importlib.machinery as m\n"
    "def load(name, path):\n"
    "    loader = m.SourceFileLoader(name, path)\n"
    "    mod = type(sys)(name)\n"
    "    mod.__file__, mod.__loader__ = path, loader\n"
    "    mod.__spec__ = m.ModuleSpec(name, loader, origin=path)\n"
    "    sys.modules[name] = mod\n"
    "    loader.exec_module(mod)\n"
    "    return mod\n"
    "load('core.inotify', sys.argv[2])\n"
    "load('core.dirs.walker', sys.argv[1]).child_main()\n"
)


def helper_argv() -> list[str] | None:
    """The command line of a helper process; None when the sources are not plain files
    (a frozen or zipped install: then everything is walked in process)."""
    files = [os.path.abspath(m.__file__ or "") for m in (walker, inotify)]  # noqa: PTH100
    if not sys.executable or not all(f.endswith(".py") and Path(f).is_file() for f in files):
        return None
    return [sys.executable, "-I", "-S", "-c", BOOT, *files]


def decode(blob: bytes) -> tuple[int, tuple[Any, ...]] | None:
    """A helper's frame as ``(index, walk result)``; None if it is not one."""
    try:
        index, result = marshal.loads(blob)  # noqa: S302 (our own helper's pipe)
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(index, int) or not isinstance(result, tuple):
        return None
    return index, result


def _read_frames(stream: IO[bytes], inbox: queue.Queue[bytes | None]) -> None:
    """Reader thread: split a helper's output into frames (its blocking reads release the GIL)."""
    buf = bytearray()
    fd = stream.fileno()
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= FRAME.size:
                (n,) = FRAME.unpack_from(buf)
                if len(buf) < FRAME.size + n:
                    break
                inbox.put(bytes(buf[FRAME.size : FRAME.size + n]))
                del buf[: FRAME.size + n]
    except OSError:
        pass  # the helper was killed (abandoned batch): its tokens are walked in process
    finally:
        inbox.put(None)


class HelperPool:
    """The token pipe of one batch of paths and the helper processes that share it.

    ``paths`` are all the batch's paths (helpers get the list once); ``todo`` the indices to
    walk.  Not thread-safe: the scanner calls it under its lock (``take`` without).
    """

    def __init__(self, paths: list[str], todo: list[int]) -> None:
        self._paths = paths
        self.procs: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self.open_readers = 0
        r, w = os.pipe()
        self._token_fd = r
        try:
            os.write(w, b"".join(TOKEN.pack(i) for i in todo))
        finally:
            os.close(w)

    def next_token(self) -> int | None:
        """The next index to walk, or None when every token is taken."""
        if self._token_fd < 0:
            return None
        token = os.read(self._token_fd, TOKEN.size)
        if len(token) < TOKEN.size:
            return None
        index: int = TOKEN.unpack(token)[0]
        return index

    def spawn(self, count: int, ino_fd: int) -> int:
        """Start up to ``count`` helpers (never more than the tokens left, minus the one this
        process takes next); return how many started.  ``ino_fd``: the scanner's inotify
        instance, or -1 (helpers then add no watches)."""
        import fcntl
        import termios

        argv = helper_argv()
        if argv is None:
            return 0
        left = struct.unpack("i", fcntl.ioctl(self._token_fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        count = min(count, left // TOKEN.size - 1)  # leave the last one to this process
        fds = (self._token_fd,) if ino_fd < 0 else (self._token_fd, ino_fd)
        header = marshal.dumps((self._token_fd, ino_fd, DIR_MASK, self._paths))
        started = 0
        for _ in range(max(count, 0)):
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    pass_fds=fds,
                    # A session of its own: where the kernel shares a busy CPU between
                    # sessions (sched_autogroup), the helper gets a share of its own instead
                    # of splitting this process's (module docstring).
                    start_new_session=True,
                )
            except OSError:
                break
            self.procs.append(proc)
            started += 1
            if proc.stdout is not None:
                thread = threading.Thread(
                    target=_read_frames, args=(proc.stdout, self._inbox), daemon=True
                )
                thread.start()
                self._threads.append(thread)
                self.open_readers += 1
            if proc.stdin is None:
                continue
            try:
                proc.stdin.write(header)
                proc.stdin.close()
            except OSError:
                pass  # it died at once; its share is walked in process at the end
        return started

    def take(self, *, block: bool) -> list[bytes]:
        """Frames the helpers sent so far (waiting for one when ``block``); no lock needed."""
        out: list[bytes] = []
        while self.open_readers > 0:
            try:
                blob = self._inbox.get(block=block)
            except queue.Empty:
                break
            block = False
            if blob is None:
                self.open_readers -= 1  # that helper is done
            else:
                out.append(blob)
        return out

    def close(self) -> None:
        """Stop and reap the helpers, join their readers, close the token pipe."""
        for proc in self.procs:
            if proc.poll() is None:
                # Abandoned generator: stop helpers.  Watches one of them added for a path it
                # did not finish stay in the instance until that path is walked again (the
                # walk then adopts them: same inode, same wd) or the scanner closes.
                proc.kill()
            proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        for proc in self.procs:
            if proc.stdout is not None:
                proc.stdout.close()
        if self._token_fd >= 0:
            os.close(self._token_fd)
            self._token_fd = -1
