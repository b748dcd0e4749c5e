"""Headless log tailing: the last lines of a file, then (optionally) new ones.

Two entry points:

* :func:`read_last_lines` -- the last *n* lines of a file.  It reads backwards
  from the end in 64 KiB blocks, so a 1 GiB log costs the same as a 1 MiB one.
* :class:`FileTail` -- a :class:`core.backend.LineStream` over one file: the
  last *n* lines, then, when following, every line appended afterwards.  It
  survives truncation, rotation and deletion, and :meth:`FileTail.close` from
  any thread ends a blocked iteration at once.  UIs should call
  :meth:`FileTail.read_available` from a worker and post each batch.

Text rules, shared by both:

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

Linux only for follow-by-events: inotify via ``ctypes`` watches the file and
its directory; elsewhere (or when inotify is exhausted) the tail polls every
``poll_interval`` seconds.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import math
import os
import select
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.errors import ActionFailed
from core.model import LogLine

if TYPE_CHECKING:
    import ctypes

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

_BLOCK = 64 * 1024
# A backwards scan gives up after this many bytes without finding the start of
# the line it is in, so one giant line (or a NUL-filled sparse file) cannot make
# the read cost grow with the file.
_SCAN_LIMIT = 32 * 1024 * 1024
# Below this the region holding the wanted lines is fetched with one pread.
_ONE_READ_LIMIT = 1024 * 1024
# Follow reads this much per syscall and stops a batch after this many lines,
# so a huge burst is posted as several batches instead of one giant list.
_FOLLOW_CHUNK = 256 * 1024
_MAX_BATCH = 10_000
# With inotify the tail still re-checks the path this often: events for a
# symlinked log's target directory, or a removed parent directory, never come.
_SAFETY_RECHECK = 1.0
_CLOSE_WAIT = 2.0

_LOG_ERROR_TITLE = "Cannot read log"

Mode = Literal["auto", "inotify", "poll"]


# --------------------------------------------------------------------------- text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _decode_line(raw: bytes, total: int) -> str:
    """``raw`` is the line (or its first bytes when ``total > len(raw)``)."""
    if total <= len(raw):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("utf-8", errors="replace")
    # final=False drops a multi-byte character the cut split in half instead of
    # showing a replacement character for it.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(raw, final=False) + f"… [line truncated, {_human(total)}]"


def _decode_tail_of_line(raw: bytes, seen: int) -> str:
    """The end of a line whose start lies beyond the scan limit."""
    # Skip UTF-8 continuation bytes so the text starts on a character.
    skip = 0
    while skip < min(3, len(raw)) and 0x80 <= raw[skip] <= 0xBF:
        skip += 1
    text = raw[skip:]
    if text.endswith(b"\r"):
        text = text[:-1]
    return f"[line truncated, over {_human(seen)}] …" + text.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- files


def _open_log(path: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading; an :class:`ActionFailed` says what to do."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise ActionFailed(
            f"cannot read {path}: no such file; check the path "
            "(the session may not have written its log yet)",
            title=_LOG_ERROR_TITLE,
        ) from e
    except PermissionError as e:
        raise ActionFailed(
            f"cannot read {path}: permission denied; check its mode and its "
            "directories' (ls -l), or run as its owner",
            title=_LOG_ERROR_TITLE,
        ) from e
    except OSError as e:
        raise ActionFailed(f"cannot read {path}: {e.strerror or e}", title=_LOG_ERROR_TITLE) from e
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        return fd, st
    os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        raise ActionFailed(
            f"cannot read {path}: it is a directory, not a log file; pick a file inside it",
            title=_LOG_ERROR_TITLE,
        )
    raise ActionFailed(
        f"cannot read {path}: not a regular file (a FIFO, socket or device); "
        "only regular log files can be tailed",
        title=_LOG_ERROR_TITLE,
    )


def _last_lines(fd: int, size: int, n: int, max_line_bytes: int) -> list[str]:
    """The last ``n`` lines of the first ``size`` bytes of ``fd``."""
    if n <= 0 or size <= 0:
        return []
    end = size
    if os.pread(fd, 1, size - 1) == b"\n":
        end -= 1  # the final newline ends the last line; it does not start a new one
    limit = max(_SCAN_LIMIT, n * max_line_bytes)

    # Newlines found, per block: (block offset, indexes in the block, last first).
    # Indexes stay block-local because CPython's int arithmetic slows down past
    # 2**30, which would make a 1 GiB file measurably slower than a small one.
    hits: list[tuple[int, list[int]]] = []
    found = 0
    pos = end  # everything in [pos, end) has been scanned
    cut_short = False
    while pos > 0 and found < n:
        if end - pos >= limit:
            cut_short = True
            break
        start = max(0, pos - _BLOCK)
        block = os.pread(fd, pos - start, start)
        if len(block) != pos - start:
            break  # truncated under us: whatever was found is all there is
        local: list[int] = []
        i = len(block)
        while found < n:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            local.append(i)
            found += 1
        if local:
            hits.append((start, local))
        pos = start

    oldest_stop = hits[-1][0] + hits[-1][1][-1] if hits else end  # end of the oldest line
    lines: list[str] = []
    if cut_short:
        # The oldest wanted line starts before the scan limit: show its end.
        seen = oldest_stop - pos
        take = min(max_line_bytes, seen)
        lines.append(_decode_tail_of_line(os.pread(fd, take, oldest_stop - take), seen))
    if found < n and not cut_short and pos <= 0:
        first = 0  # the file's first line is among the wanted ones
    elif hits:
        first = oldest_stop + 1
    else:
        return lines

    region = os.pread(fd, end - first, first) if end - first <= _ONE_READ_LIMIT else None
    if (
        region is not None
        and len(region) == end - first
        and max(map(len, region.split(b"\n"))) <= max_line_bytes
    ):
        # Common case, decoded in one go: a newline byte never occurs inside a
        # UTF-8 sequence, so splitting the text equals splitting the bytes.
        texts = region.decode("utf-8", errors="replace").split("\n")
        lines.extend(t[:-1] if t.endswith("\r") else t for t in texts)
        return lines

    # Some line is too long (or the region is big): handle line by line.
    spans: list[tuple[int, int]] = []
    stop = end
    for block_start, indexes in hits:
        for i in indexes:
            spans.append((block_start + i + 1, stop))
            stop = block_start + i
    if first == 0:
        spans.append((0, stop))
    spans.reverse()
    for a, b in spans:
        if region is not None:
            raw = region[a - first : min(b, a + max_line_bytes) - first]
        else:
            raw = os.pread(fd, min(b - a, max_line_bytes), a) if b > a else b""
        lines.append(_decode_line(raw, b - a))
    return lines


def read_last_lines(
    path: str | os.PathLike[str], n: int, *, max_line_bytes: int = 64 * 1024
) -> list[str]:
    """The last ``n`` lines of the file at ``path``, oldest first, without newlines.

    Reads backwards from the end, never the whole file: the cost depends on
    ``n`` and the lines' lengths, not on the file's size.  A line longer than
    ``max_line_bytes`` is cut (see the module docstring); if the start of the
    oldest wanted line is more than 32 MiB back (e.g. one giant line), that
    line is shown by its last ``max_line_bytes`` behind a
    ``[line truncated, over …]`` marker.

    Raises :class:`core.errors.ActionFailed` if the file is missing, not
    readable, a directory or not a regular file; the message names the path.
    """
    if max_line_bytes < 1:
        raise ValueError("max_line_bytes must be at least 1")
    name = os.fspath(path)
    fd, st = _open_log(name)
    try:
        return _last_lines(fd, st.st_size, n, max_line_bytes)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- inotify

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_IN_MODIFY = 0x00000002
_IN_ATTRIB = 0x00000004
_IN_MOVED_FROM = 0x00000040
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_DELETE = 0x00000200
_IN_DELETE_SELF = 0x00000400
_IN_MOVE_SELF = 0x00000800
_IN_ONLYDIR = 0x01000000

# The file: appends and truncation (MODIFY), unlink while open (ATTRIB: the link
# count drops), rename.  Its directory: a file appearing or leaving at our name.
_FILE_MASK = _IN_MODIFY | _IN_ATTRIB | _IN_MOVE_SELF | _IN_DELETE_SELF
_DIR_MASK = (
    _IN_CREATE
    | _IN_MOVED_TO
    | _IN_MOVED_FROM
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
    | _IN_ONLYDIR
)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    import ctypes  # only followers need it; keeps `import core.logtail` light

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        init1 = libc.inotify_init1
        add = libc.inotify_add_watch
        rm = libc.inotify_rm_watch
    except (OSError, AttributeError):
        return None
    init1.argtypes = [ctypes.c_int]
    init1.restype = ctypes.c_int
    add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    add.restype = ctypes.c_int
    rm.argtypes = [ctypes.c_int, ctypes.c_int]
    rm.restype = ctypes.c_int
    return libc


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


class _Inotify:
    """One inotify instance; events only wake the tail, which then re-checks."""

    def __init__(self) -> None:
        libc = _libc()
        if libc is None:
            raise OSError(errno.ENOSYS, "inotify is not available")
        self._libc = libc
        fd = int(libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC))
        if fd < 0:
            err = _errno()
            raise OSError(err, os.strerror(err))
        self.fd = fd

    def add(self, path: str, mask: int) -> int:
        wd = int(self._libc.inotify_add_watch(self.fd, os.fsencode(path), mask))
        if wd < 0:
            err = _errno()
            raise OSError(err, os.strerror(err), path)
        return wd

    def remove(self, wd: int) -> None:
        # EINVAL when the kernel already dropped it (the inode went away): fine.
        self._libc.inotify_rm_watch(self.fd, wd)

    def drain(self) -> None:
        while True:
            try:
                if not os.read(self.fd, 64 * 1024):
                    return
            except BlockingIOError:
                return
            except OSError:
                return

    def close(self) -> None:
        os.close(self.fd)  # drops every watch with it


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

        # The line being assembled (at most max_line_bytes kept) and its full length.
        self._partial = bytearray()
        self._partial_total = 0
        self._partial_since = 0.0
        self._swallow_newline = False

        self._inotify: _Inotify | None = None
        self._file_wd: int | None = None
        self._wake_r = -1
        self._wake_w = -1
        self._poller: select.poll | None = None
        self.mode: Literal["inotify", "poll", "none"] = "none"

        fd, st = _open_log(self.path)
        self._set_file(fd, st)
        self._offset = self._size_at_open = st.st_size
        if not follow:
            return
        try:
            # The self-pipe: close() writes a byte so a blocked poll() returns.
            self._wake_r, self._wake_w = os.pipe()  # close-on-exec by default
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._poller = select.poll()
            self._poller.register(self._wake_r, select.POLLIN)
            self.mode = "poll"
            if mode != "poll":
                self._start_inotify(required=mode == "inotify")
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
                if self._wake_w >= 0:
                    try:
                        os.write(self._wake_w, b"x")
                    except OSError:
                        pass  # pipe full: the consumer is being woken already
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

    def _start_inotify(self, *, required: bool) -> None:
        try:
            ino = _Inotify()
        except OSError as e:
            if required:
                raise ActionFailed(
                    f"cannot follow {self.path}: inotify unavailable ({e.strerror or e}); "
                    "use polling",
                    title=_LOG_ERROR_TITLE,
                ) from e
            return
        try:
            ino.add(str(Path(self._abspath).parent), _DIR_MASK)
            self._inotify = ino
            self._watch_file()
        except OSError as e:
            self._inotify = None
            self._file_wd = None
            ino.close()
            if required:
                raise ActionFailed(
                    f"cannot follow {self.path}: inotify watch failed ({e.strerror or e}); "
                    "raise fs.inotify.max_user_watches or use polling",
                    title=_LOG_ERROR_TITLE,
                ) from e
            return
        if self._poller is not None:
            self._poller.register(ino.fd, select.POLLIN)
        self.mode = "inotify"

    def _watch_file(self) -> None:
        """Watch the open file itself (its inode, not whatever is at the path)."""
        if self._inotify is None or self._fd is None:
            return
        proc_path = f"/proc/self/fd/{self._fd}"
        # /proc/self/fd/N resolves to the inode we opened, so a rename racing
        # with the open cannot make us watch a different file.
        target = proc_path if Path(proc_path).exists() else self._abspath
        self._file_wd = self._inotify.add(target, _FILE_MASK)

    def _unwatch_file(self) -> None:
        if self._inotify is not None and self._file_wd is not None:
            self._inotify.remove(self._file_wd)
        self._file_wd = None

    def _fall_back_to_polling(self) -> None:
        if self._inotify is not None:
            if self._poller is not None:
                self._poller.unregister(self._inotify.fd)
            self._inotify.close()
            self._inotify = None
            self._file_wd = None
        self.mode = "poll"

    def _set_file(self, fd: int, st: os.stat_result) -> None:
        self._fd = fd
        self._ident = (st.st_dev, st.st_ino)
        self._offset = 0

    def _close_file(self) -> None:
        self._unwatch_file()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _release(self) -> None:
        """Close every descriptor; called with the lock held (or from __del__)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        self._poller = None

    def _read_initial(self, out: list[LogLine]) -> None:
        self._initial_done = True
        fd, size = self._fd, self._size_at_open
        if fd is None:
            return
        try:
            texts = _last_lines(fd, size, self._lines, self.max_line_bytes)
            # The file's last line had no newline yet: it is shown now, so a
            # newline completing it must not add an empty line (module docstring).
            unterminated = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        except OSError as e:
            raise ActionFailed(
                f"cannot read {self.path}: {e.strerror or e}", title=_LOG_ERROR_TITLE
            ) from e
        out.extend(LogLine(text) for text in texts)
        self._swallow_newline = unterminated

    def _wait_cap(self, now: float) -> float:
        cap = _SAFETY_RECHECK if self.mode == "inotify" else self.poll_interval
        if self._partial_total and self.partial_timeout is not None:
            cap = min(cap, max(0.0, self._partial_since + self.partial_timeout - now))
        return cap

    def _wait(self, timeout: float) -> None:
        if self._poller is None:
            return
        for fd, _ in self._poller.poll(math.ceil(timeout * 1000)):
            if self._inotify is not None and fd == self._inotify.fd:
                self._inotify.drain()

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
        self._flush_stale_partial(out)

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
            self._end_of_file(out)
            self._close_file()

    def _drain(self, out: list[LogLine]) -> bool:
        """Read to the end of the file; False if stopped early by the batch limit."""
        fd = self._fd
        while fd is not None:
            chunk = os.pread(fd, _FOLLOW_CHUNK, self._offset)
            if not chunk:
                return True
            self._offset += len(chunk)
            self._feed(chunk, out)
            if len(out) >= _MAX_BATCH:
                return False
        return True

    def _check_file(self, out: list[LogLine]) -> None:
        if self._fd is None:
            return
        st = os.fstat(self._fd)
        if st.st_size < self._offset:
            self._end_of_file(out)
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
            self._end_of_file(out)
            self._notice(out, DELETED_NOTICE)
            self._close_file()
            self._reopen(out)  # it may be back already (delete + create)
        elif at_path is not None:
            # Rotated: what was appended to the old file before the switch still counts.
            self._drain(out)
            self._end_of_file(out)
            self._notice(out, ROTATED_NOTICE)
            self._close_file()
            self._reopen(out)
        # else: renamed away and nothing new at the path yet; writers may still
        # append to the old file, so keep following it.

    def _reopen(self, out: list[LogLine]) -> None:
        try:
            fd, st = _open_log(self._abspath)
        except ActionFailed as e:
            missing = isinstance(e.__cause__, FileNotFoundError)
            if not missing and e.message != self._last_error:
                self._notice(out, f"— {e.message}; waiting —")
            self._last_error = None if missing else e.message
            return
        self._last_error = None
        self._set_file(fd, st)
        try:
            self._watch_file()
        except OSError:
            self._fall_back_to_polling()
        self._drain(out)

    def _notice(self, out: list[LogLine], text: str) -> None:
        out.append(LogLine(text, notice=True))

    def _feed(self, chunk: bytes, out: list[LogLine]) -> None:
        parts = chunk.split(b"\n")
        limit = self.max_line_bytes
        for seg in parts[:-1]:
            if self._partial_total:
                self._add_partial(seg)
                raw, total = bytes(self._partial), self._partial_total
                self._partial.clear()
                self._partial_total = 0
            else:
                if self._swallow_newline and seg in (b"", b"\r"):
                    self._swallow_newline = False
                    continue
                raw, total = seg[:limit], len(seg)
            self._swallow_newline = False
            out.append(LogLine(_decode_line(raw, total)))
        tail = parts[-1]
        if tail:
            self._add_partial(tail)
            self._swallow_newline = False
            self._partial_since = time.monotonic()

    def _add_partial(self, data: bytes) -> None:
        room = self.max_line_bytes - len(self._partial)
        if room > 0:
            self._partial += data[:room]
        self._partial_total += len(data)

    def _flush_partial(self, out: list[LogLine]) -> None:
        if not self._partial_total:
            return
        out.append(LogLine(_decode_line(bytes(self._partial), self._partial_total)))
        self._partial.clear()
        self._partial_total = 0
        self._swallow_newline = False

    def _end_of_file(self, out: list[LogLine]) -> None:
        """The current file's content is over: its last partial line is complete."""
        self._flush_partial(out)
        self._swallow_newline = False

    def _flush_stale_partial(self, out: list[LogLine]) -> None:
        if (
            self._partial_total
            and self.partial_timeout is not None
            and time.monotonic() - self._partial_since >= self.partial_timeout
        ):
            self._flush_partial(out)
            self._swallow_newline = True
