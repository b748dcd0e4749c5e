"""Reading log text: the last lines of a file, and followed bytes cut into lines.

* :func:`read_last_lines` -- the last *n* lines of a file.  It reads backwards
  from the end in 64 KiB blocks, so a 1 GiB log costs the same as a 1 MiB one.
* :class:`LineAssembler` -- bytes appended to a followed file, as lines
  (used by :class:`core.logtail.FileTail`).

Text rules, shared by both:

* bytes are decoded as UTF-8 with replacement characters, so binary junk
  never raises; a trailing ``\\r`` (CRLF) is dropped, and so is the newline;
* a final line without a newline counts as a line;
* a line longer than ``max_line_bytes`` is cut at that many bytes (on a
  character boundary) and ends with a marker such as
  ``… [line truncated, 1.2 MiB]`` naming the full length, so a giant line
  cannot exhaust memory or the screen.

Partial lines while following: see :class:`LineAssembler`.  Nothing here has
process-wide effects.
"""

from __future__ import annotations

import codecs
import os
import stat
import time

from core.errors import ActionFailed
from core.model import LogLine
from core.sizes import format_size

__all__ = ["LOG_ERROR_TITLE", "LineAssembler", "last_lines", "open_log", "read_last_lines"]

_BLOCK = 64 * 1024
# A backwards scan gives up after this many bytes without finding the start of
# the line it is in, so one giant line (or a NUL-filled sparse file) cannot make
# the read cost grow with the file.
_SCAN_LIMIT = 32 * 1024 * 1024
# Below this the region holding the wanted lines is fetched with one pread.
_ONE_READ_LIMIT = 1024 * 1024
# Follow reads this much per syscall and stops a batch after this many lines,

LOG_ERROR_TITLE = "Cannot read log"


# --------------------------------------------------------------------------- text


def decode_line(raw: bytes, total: int) -> str:
    """``raw`` is the line (or its first bytes when ``total > len(raw)``)."""
    if total <= len(raw):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("utf-8", errors="replace")
    # final=False drops a multi-byte character the cut split in half instead of
    # showing a replacement character for it.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    size = format_size(total, tenths=True)
    return decoder.decode(raw, final=False) + f"… [line truncated, {size}]"


def decode_tail_of_line(raw: bytes, seen: int) -> str:
    """The end of a line whose start lies beyond the scan limit."""
    # Skip UTF-8 continuation bytes so the text starts on a character.
    skip = 0
    while skip < min(3, len(raw)) and 0x80 <= raw[skip] <= 0xBF:
        skip += 1
    text = raw[skip:]
    if text.endswith(b"\r"):
        text = text[:-1]
    size = format_size(seen, tenths=True)
    return f"[line truncated, over {size}] …" + text.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- files


def open_log(path: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading; an :class:`ActionFailed` says what to do."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise ActionFailed(
            f"cannot read {path}: no such file; check the path "
            "(the session may not have written its log yet)",
            title=LOG_ERROR_TITLE,
        ) from e
    except PermissionError as e:
        raise ActionFailed(
            f"cannot read {path}: permission denied; check its mode and its "
            "directories' (ls -l), or run as its owner",
            title=LOG_ERROR_TITLE,
        ) from e
    except OSError as e:
        raise ActionFailed(f"cannot read {path}: {e.strerror or e}", title=LOG_ERROR_TITLE) from e
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        return fd, st
    os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        raise ActionFailed(
            f"cannot read {path}: it is a directory, not a log file; pick a file inside it",
            title=LOG_ERROR_TITLE,
        )
    raise ActionFailed(
        f"cannot read {path}: not a regular file (a FIFO, socket or device); "
        "only regular log files can be tailed",
        title=LOG_ERROR_TITLE,
    )


def last_lines(fd: int, size: int, n: int, max_line_bytes: int) -> list[str]:
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
        lines.append(decode_tail_of_line(os.pread(fd, take, oldest_stop - take), seen))
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
        lines.append(decode_line(raw, b - a))
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
    fd, st = open_log(name)
    try:
        return last_lines(fd, st.st_size, n, max_line_bytes)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- following


class LineAssembler:
    """Cuts the bytes appended to a followed file into lines.

    Bytes after the last newline are held until their newline arrives.  If no
    more bytes arrive for ``partial_timeout`` seconds the held text is shown as
    a line anyway (:meth:`flush_stale`) -- a prompt such as ``Password: `` or a
    progress message should not stay invisible.  Text that completes such a
    flushed line later appears as a line of its own; a bare newline completing
    it is swallowed, so ``"prompt: "`` followed by ``"\\n"`` shows one line, not
    an extra blank one.  ``partial_timeout=None`` holds partial lines until
    their newline.  At most ``max_line_bytes`` of a line are kept.
    """

    __slots__ = (
        "_partial",
        "_total",
        "max_line_bytes",
        "partial_timeout",
        "since",
        "swallow_newline",
    )

    def __init__(self, max_line_bytes: int, partial_timeout: float | None) -> None:
        self.max_line_bytes = max_line_bytes
        self.partial_timeout = partial_timeout
        # The line being assembled (at most max_line_bytes kept) and its full length.
        self._partial = bytearray()
        self._total = 0
        self.since = 0.0  # when the held text last grew (time.monotonic)
        # The last line shown had no newline yet: a bare newline completing it is no line.
        self.swallow_newline = False

    def stale_in(self, now: float) -> float | None:
        """Seconds until the held text is due to be flushed; None when nothing is held
        (or partial lines are never flushed)."""
        if not self._total or self.partial_timeout is None:
            return None
        return max(0.0, self.since + self.partial_timeout - now)

    def feed(self, chunk: bytes, out: list[LogLine]) -> None:
        """Append the complete lines of ``chunk`` to ``out``; hold the rest."""
        parts = chunk.split(b"\n")
        limit = self.max_line_bytes
        for seg in parts[:-1]:
            if self._total:
                self._add(seg)
                raw, total = bytes(self._partial), self._total
                self._partial.clear()
                self._total = 0
            else:
                if self.swallow_newline and seg in (b"", b"\r"):
                    self.swallow_newline = False
                    continue
                raw, total = seg[:limit], len(seg)
            self.swallow_newline = False
            out.append(LogLine(decode_line(raw, total)))
        tail = parts[-1]
        if tail:
            self._add(tail)
            self.swallow_newline = False
            self.since = time.monotonic()

    def _add(self, data: bytes) -> None:
        room = self.max_line_bytes - len(self._partial)
        if room > 0:
            self._partial += data[:room]
        self._total += len(data)

    def _flush(self, out: list[LogLine]) -> None:
        if not self._total:
            return
        out.append(LogLine(decode_line(bytes(self._partial), self._total)))
        self._partial.clear()
        self._total = 0
        self.swallow_newline = False

    def end_of_file(self, out: list[LogLine]) -> None:
        """The current file's content is over: its last partial line is complete."""
        self._flush(out)
        self.swallow_newline = False

    def flush_stale(self, out: list[LogLine]) -> None:
        """Show the held text as a line once ``partial_timeout`` has passed."""
        if (
            self._total
            and self.partial_timeout is not None
            and time.monotonic() - self.since >= self.partial_timeout
        ):
            self._flush(out)
            self.swallow_newline = True
