"""Headless log tailing: the last lines of a file, then (optionally) new ones.

Two entry points:

* :func:`read_last_lines` -- the last *n* lines of a file.  It reads backwards
  from the end in 64 KiB blocks, so a 1 GiB log costs the same as a 1 MiB one.
* :class:`FileTail` -- a :class:`core.backend.LineStream` over one file: the
  last *n* lines, then, when following, every line appended afterwards.  It
  survives truncation, rotation and deletion, and :meth:`FileTail.close` from
  any thread ends a blocked iteration at once.  UIs should call
  :meth:`FileTail.read_available` from a worker and post each batch.

Text rules, shared by both (:mod:`core.logtext`, where the reading lives):

* bytes are decoded as UTF-8 with replacement characters, so binary junk
  never raises; a trailing ``\\r`` (CRLF) is dropped, and so is the newline;
* a final line without a newline counts as a line;
* a line longer than ``max_line_bytes`` is cut at that many bytes (on a
  character boundary) and ends with a marker such as
  ``… [line truncated, 1.2 MiB]`` naming the full length, so a giant line
  cannot exhaust memory or the screen.

Partial lines while following: bytes after the last newline are held until
their newline arrives.  If no more bytes arrive for ``partial_timeout``
seconds (default 0.5) the held text is shown as a line anyway -- a prompt such
as ``Password: `` or a progress message should not stay invisible.  Text that
completes such a flushed line later appears as a line of its own; a bare
newline completing it is swallowed, so ``"prompt: "`` followed by ``"\\n"``
shows one line, not an extra blank one.  Pass ``partial_timeout=None`` to
hold partial lines until their newline.  The last line of the file at open
time is treated like an already flushed partial line: it is shown at once.

Errors: a file that cannot be opened raises :class:`core.errors.ActionFailed`
(title "Cannot read log") naming the path and what to do about it.  Problems
that appear while following (the file deleted, replaced by a directory, a
read error) are reported in-band as notice lines, and the tail keeps waiting
for a readable file to appear at the path.

Linux only for follow-by-events: inotify (:mod:`core.inotify`) watches the
file and its directory; elsewhere (or when inotify is exhausted) the tail polls
every ``poll_interval`` seconds.  Process-wide effects: none (each following
tail owns its descriptors until :meth:`FileTail.close`).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.errors import ActionFailed
from core.inotify import (
    IN_ATTRIB,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_ONLYDIR,
)
from core.logtext import LOG_ERROR_TITLE, LineAssembler, last_lines, open_log, read_last_lines
from core.model import LogLine

if TYPE_CHECKING:
    from core.inotify import Inotify

__all__ = [
    "DELETED_NOTICE",
    "ROTATED_NOTICE",
    "TRUNCATED_NOTICE",
    "FileTail",
    "read_last_lines",
]

TRUNCATED_NOTICE = "— log truncated —"
ROTATED_NOTICE = "— log rotated; following the new file —"
DELETED_NOTICE = "— log deleted; waiting for it to reappear —"

# Follow reads this much per syscall and stops a batch after this many lines,
# so a huge burst is posted as several batches instead of one giant list.
_FOLLOW_CHUNK = 256 * 1024
_MAX_BATCH = 10_000
# With inotify the tail still re-checks the path this often: events for a
# symlinked log's target directory, or a removed parent directory, never come.
_SAFETY_RECHECK = 1.0
_CLOSE_WAIT = 2.0

Mode = Literal["auto", "inotify", "poll"]

# The file: appends and truncation (MODIFY), unlink while open (ATTRIB: the link
# count drops), rename.  Its directory: a file appearing or leaving at our name.
_FILE_MASK = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF
_DIR_MASK = (
    IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
)


# --------------------------------------------------------------------------- waiting


class _Waker:
    """What a following tail sleeps on: a self-pipe (so :meth:`wake` from another
    thread ends a wait at once) and, with inotify, watches on the log's directory
    and on the open file itself.  Events only wake the tail, which then re-checks."""

    def __init__(self) -> None:
        self._inotify: Inotify | None = None
        self._file_wd: int | None = None
        self._wake_r, self._wake_w = os.pipe()  # close-on-exec by default
        try:
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._poller = select.poll()
            self._poller.register(self._wake_r, select.POLLIN)
        except BaseException:
            self.close()
            raise

    def start_inotify(self, path: str, abspath: str, fd: int, *, required: bool) -> bool:
        """Watch ``abspath``'s directory and the open file ``fd``; True when watching.

        Without inotify (or a watch) this returns False (polling goes on), or with
        ``required`` raises :class:`ActionFailed` naming ``path``.
        """
        from core.inotify import Inotify  # only followers need ctypes

        try:
            ino = Inotify()
        except OSError as e:
            if required:
                raise ActionFailed(
                    f"cannot follow {path}: inotify unavailable ({e.strerror or e}); use polling",
                    title=LOG_ERROR_TITLE,
                ) from e
            return False
        try:
            ino.add(str(Path(abspath).parent), _DIR_MASK)
            self._inotify = ino
            self.watch_file(fd, abspath)
        except OSError as e:
            self._inotify = None
            self._file_wd = None
            ino.close()
            if required:
                raise ActionFailed(
                    f"cannot follow {path}: inotify watch failed ({e.strerror or e}); "
                    "raise fs.inotify.max_user_watches or use polling",
                    title=LOG_ERROR_TITLE,
                ) from e
            return False
        self._poller.register(ino.fd, select.POLLIN)
        return True

    def watch_file(self, fd: int, abspath: str) -> None:
        """Watch the open file itself (its inode, not whatever is at the path)."""
        if self._inotify is not None:
            self._file_wd = self._inotify.add_open(fd, _FILE_MASK, abspath)

    def unwatch_file(self) -> None:
        if self._inotify is not None and self._file_wd is not None:
            self._inotify.rm(self._file_wd)
        self._file_wd = None

    def fall_back_to_polling(self) -> None:
        if self._inotify is not None:
            self._poller.unregister(self._inotify.fd)
            self._inotify.close()
            self._inotify = None
            self._file_wd = None

    def wait(self, timeout: float) -> None:
        """Sleep until an event, a :meth:`wake` or ``timeout`` seconds."""
        for fd, _ in self._poller.poll(math.ceil(timeout * 1000)):
            if self._inotify is not None and fd == self._inotify.fd:
                self._inotify.drain()

    def wake(self) -> None:
        """End a :meth:`wait` in another thread."""
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass  # pipe full: the consumer is being woken already

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()  # drops every watch with it
            self._inotify = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1


# --------------------------------------------------------------------------- FileTail


class FileTail:
    """A :class:`~core.backend.LineStream` over one log file.

    Iterating first yields the last ``lines`` lines; with ``follow`` it then
    yields each line appended afterwards, blocking until one arrives or
    :meth:`close` is called from any thread.  Without ``follow`` iteration
    ends after the last lines and the file is closed.

    While following, made-up lines carry ``notice=True``:

    * the file shrank (``> file``, copytruncate): :data:`TRUNCATED_NOTICE`,
      then reading restarts at the top of the file;
    * another file now sits at the path (rotation): the old file is read to
      its end, then :data:`ROTATED_NOTICE`, then the new file from its start.
      A file merely renamed away is followed until a new one appears, since
      writers often keep writing to it for a moment;
    * the file was deleted: :data:`DELETED_NOTICE`; when a file appears at the
      path again it is read from its start;
    * the path cannot be read any more (e.g. a directory took its place): one
      notice naming the problem, then the tail keeps waiting.

    A truncation that is followed by enough new writes to regrow the file past
    the old size before the tail looks cannot be told from an append (the same
    limit as ``tail -f``).

    ``mode`` picks how to wait for changes: ``"inotify"`` (Linux; raises
    :class:`ActionFailed` if unavailable), ``"poll"`` (stat every
    ``poll_interval`` seconds) or ``"auto"`` (inotify, else poll).  The mode in
    use is the :attr:`mode` attribute (``"none"`` when not following).

    One thread consumes (iterates or calls :meth:`read_available`); any thread
    may call :meth:`close`.  Construction opens the file and raises
    :class:`ActionFailed` (naming the path) if it cannot.  Use it as a context
    manager or call :meth:`close`; a following tail holds three or four file
    descriptors until then.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lines: int = 100,
        follow: bool = False,
        poll_interval: float = 0.05,
        mode: Mode = "auto",
        max_line_bytes: int = 64 * 1024,
        partial_timeout: float | None = 0.5,
    ) -> None:
        if lines < 0:
            raise ValueError("lines must not be negative")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        if mode not in ("auto", "inotify", "poll"):
            raise ValueError(f"unknown mode {mode!r}")
        self.path = os.fspath(path)
        # Checks use the absolute path so a later chdir cannot redirect them.
        self._abspath = str(Path(self.path).absolute())
        self.follow = follow
        self.poll_interval = poll_interval
        self.max_line_bytes = max_line_bytes
        self.partial_timeout = partial_timeout
        self._lines = lines

        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._finished = False  # a non-following tail has handed out its lines
        self._busy = False  # the consumer is inside read_available
        self._reader: int | None = None

        self._fd: int | None = None
        self._ident: tuple[int, int] = (0, 0)
        self._offset = 0
        self._size_at_open = 0
        self._initial_done = False
        self._last_error: str | None = None

        self._assembler = LineAssembler(max_line_bytes, partial_timeout)

        self._waker: _Waker | None = None
        self.mode: Literal["inotify", "poll", "none"] = "none"

        fd, st = open_log(self.path)
        self._set_file(fd, st)
        self._offset = self._size_at_open = st.st_size
        if not follow:
            return
        try:
            self._waker = _Waker()
            self.mode = "poll"
            if mode != "poll" and self._waker.start_inotify(
                self.path, self._abspath, fd, required=mode == "inotify"
            ):
                self.mode = "inotify"
        except BaseException:
            self._release()
            raise

    # ---------------------------------------------------------------- public API

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def done(self) -> bool:
        """True when no more lines will come (closed, or not following and read)."""
        return self._closed or self._finished

    def read_available(self, timeout: float | None = 0.0) -> list[LogLine]:
        """Wait up to ``timeout`` seconds (``None``: forever) for at least one
        line, then return every line available without waiting further.

        The first call returns the initial last lines at once.  Returns ``[]``
        when the timeout passes with nothing new, and from then on once
        :attr:`done`.  A large burst comes back as several batches (a batch
        stops growing once it holds 10,000 lines; the next call continues
        without waiting).  Call from one thread at a time.
        """
        with self._lock:
            if self._closed or self._finished:
                return []
            self._busy = True
            self._reader = threading.get_ident()
        out: list[LogLine] = []
        try:
            if not self._initial_done:
                self._read_initial(out)
                if not self.follow:
                    self._finished = True
                    return out
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                self._step(out)
                if out or self._closed:
                    return out
                now = time.monotonic()
                remaining = math.inf if deadline is None else deadline - now
                if remaining <= 0:
                    return out
                self._wait(min(remaining, self._wait_cap(now)))
        finally:
            with self._lock:
                self._busy = False
                self._reader = None
                if self._closed or self._finished:
                    self._release()
                self._idle.notify_all()

    def __iter__(self) -> Iterator[LogLine]:
        while not self.done:
            for line in self.read_available(None):
                yield line
                if self._closed:
                    return

    def close(self) -> None:
        """Stop: a consumer blocked in another thread returns at once and
        iteration ends.  Safe to call more than once and from any thread; file
        descriptors are released before this returns (unless the consumer is
        stuck in a read for more than two seconds, then when it returns)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._busy and self._reader != threading.get_ident():
                if self._waker is not None:
                    self._waker.wake()
                self._idle.wait_for(lambda: not self._busy, timeout=_CLOSE_WAIT)
            if not self._busy:
                self._release()

    def __enter__(self) -> FileTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Last resort against fd leaks when a caller forgets close().
        if getattr(self, "_busy", True):
            return
        with contextlib.suppress(Exception):
            self._release()

    # ---------------------------------------------------------------- internals

    def _set_file(self, fd: int, st: os.stat_result) -> None:
        self._fd = fd
        self._ident = (st.st_dev, st.st_ino)
        self._offset = 0

    def _close_file(self) -> None:
        if self._waker is not None:
            self._waker.unwatch_file()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _release(self) -> None:
        """Close every descriptor; called with the lock held (or from __del__)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def _read_initial(self, out: list[LogLine]) -> None:
        self._initial_done = True
        fd, size = self._fd, self._size_at_open
        if fd is None:
            return
        try:
            texts = last_lines(fd, size, self._lines, self.max_line_bytes)
            # The file's last line had no newline yet: it is shown now, so a
            # newline completing it must not add an empty line (module docstring).
            unterminated = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        except OSError as e:
            raise ActionFailed(
                f"cannot read {self.path}: {e.strerror or e}", title=LOG_ERROR_TITLE
            ) from e
        out.extend(LogLine(text) for text in texts)
        self._assembler.swallow_newline = unterminated

    def _wait_cap(self, now: float) -> float:
        cap = _SAFETY_RECHECK if self.mode == "inotify" else self.poll_interval
        stale_in = self._assembler.stale_in(now)
        return cap if stale_in is None else min(cap, stale_in)

    def _wait(self, timeout: float) -> None:
        if self._waker is not None:
            self._waker.wait(timeout)

    def _step(self, out: list[LogLine]) -> None:
        """Read what is new, then look for truncation, rotation and deletion."""
        try:
            if self._fd is None:
                self._reopen(out)
            if self._fd is not None:
                if not self._drain(out):
                    return  # batch full; the rest comes with the next call
                self._last_error = None
                self._check_file(out)
        except OSError as e:
            self._read_failed(out, e)
        self._assembler.flush_stale(out)

    def _read_failed(self, out: list[LogLine], error: OSError) -> None:
        """A read error (EIO, ESTALE on NFS...): say so once, then keep trying."""
        message = f"— cannot read log: {error.strerror or error}; waiting —"
        if message != self._last_error:
            self._notice(out, message)
            self._last_error = message
        # Retrying the same descriptor at the same offset avoids repeating
        # lines; only a different file at the path makes us switch to it.
        try:
            at_path = Path(self._abspath).stat()
        except OSError:
            return
        if self._fd is not None and (at_path.st_dev, at_path.st_ino) != self._ident:
            self._assembler.end_of_file(out)
            self._close_file()

    def _drain(self, out: list[LogLine]) -> bool:
        """Read to the end of the file; False if stopped early by the batch limit."""
        fd = self._fd
        while fd is not None:
            chunk = os.pread(fd, _FOLLOW_CHUNK, self._offset)
            if not chunk:
                return True
            self._offset += len(chunk)
            self._assembler.feed(chunk, out)
            if len(out) >= _MAX_BATCH:
                return False
        return True

    def _check_file(self, out: list[LogLine]) -> None:
        if self._fd is None:
            return
        st = os.fstat(self._fd)
        if st.st_size < self._offset:
            self._assembler.end_of_file(out)
            self._notice(out, TRUNCATED_NOTICE)
            self._offset = 0
            self._drain(out)
            return
        try:
            at_path: os.stat_result | None = Path(self._abspath).stat()
        except OSError:
            at_path = None
        if at_path is not None and (at_path.st_dev, at_path.st_ino) == self._ident:
            return
        if st.st_nlink == 0:
            self._drain(out)
            self._assembler.end_of_file(out)
            self._notice(out, DELETED_NOTICE)
            self._close_file()
            self._reopen(out)  # it may be back already (delete + create)
        elif at_path is not None:
            # Rotated: what was appended to the old file before the switch still counts.
            self._drain(out)
            self._assembler.end_of_file(out)
            self._notice(out, ROTATED_NOTICE)
            self._close_file()
            self._reopen(out)
        # else: renamed away and nothing new at the path yet; writers may still
        # append to the old file, so keep following it.

    def _reopen(self, out: list[LogLine]) -> None:
        try:
            fd, st = open_log(self._abspath)
        except ActionFailed as e:
            missing = isinstance(e.__cause__, FileNotFoundError)
            if not missing and e.message != self._last_error:
                self._notice(out, f"— {e.message}; waiting —")
            self._last_error = None if missing else e.message
            return
        self._last_error = None
        self._set_file(fd, st)
        if self._waker is not None:
            try:
                self._waker.watch_file(fd, self._abspath)
            except OSError:
                self._waker.fall_back_to_polling()
                self.mode = "poll"
        self._drain(out)

    def _notice(self, out: list[LogLine], text: str) -> None:
        out.append(LogLine(text, notice=True))
