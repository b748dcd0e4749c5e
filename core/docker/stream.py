"""Container logs as a :class:`core.backend.LineStream`.

The engine sends stdout and stderr as chunks of bytes: frames of a
multiplexed stream, one log message each, or raw terminal output for a TTY
container.  :class:`EngineLines` turns them into lines: UTF-8 decoded with
replacement (a character split across chunks stays whole), a partial line
kept until its newline, each line cleaned of escape sequences like a pane's
(see :func:`core.tmux.stream.clean_line`).

Asked with ``timestamps``, the engine starts each message with the time it
read it (RFC 3339 with nanoseconds, ``2026-12-06T06:14:07.123456789Z``).  A
line then starts with that time in UTC to the millisecond
(``2026-12-06T06:14:07.123Z stopped``): a time the merged view orders by and a
log pane hides with its timestamps (see :func:`core.logmerge.timestamp_length`).
The engine cuts a line longer than its buffer (16 KiB) into messages, each with
the first one's time (older engines: its own): they are joined again.  In a
multiplexed stream, a shorter message without a newline (a last line without
one, on stdout or stderr) is a line of its own; a TTY's unframed output cannot
tell it from the next one, whose time then stays in the text.

When the chunks end by themselves (the container exited, was removed, or the
engine went away), ``ending`` is asked for a notice line that says which, and
the stream is done.  :meth:`ContainerLogStream.close` may be called from any
thread: it closes the engine's response (docker-py's ``CancellableStream``
shuts its socket down), so a reader blocked on the socket and one waiting in
:meth:`read_available` both return at once.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Literal, Protocol

from core.model import LogLine
from core.tmux.stream import clean_line

# the engine's time at the start of a message: RFC 3339, nanoseconds, a space
_STAMP = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ")
# the engine cuts a longer line into messages this long (its copier's buffer)
PART_BYTES = 16 * 1024

Framing = Literal["plain", "framed", "raw"]


class Closable(Protocol):
    def close(self) -> None: ...


# that time as a line starts with it (see split_stamp)
_SHOWN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z(?: |$)")


def without_time(text: str) -> str:
    """A container line's text without the engine's time in front (the
    container's own leading spaces kept)."""
    m = _SHOWN.match(text)
    return text[m.end() :] if m else text


def split_stamp(message: bytes) -> tuple[str | None, bytes]:
    """The engine's time at the start of ``message``, as the line shows it
    (UTC, milliseconds: ``2026-12-06T06:14:07.123Z``), and the rest; ``None``
    and ``message`` when it has none."""
    m = _stamp(message)
    return (None, message) if m is None else (m[0], message[m[1] :])


def _stamp(message: bytes, pos: int = 0) -> tuple[str, int, bytes] | None:
    """The time at ``pos`` as shown, where it ends, and as the engine sent it."""
    m = _STAMP.match(message, pos)
    if m is None:
        return None
    base, frac, zone = (g.decode("ascii") if g else "" for g in m.groups())
    millis = (frac + "000")[:3]
    if zone != "Z":
        try:
            when = datetime.fromisoformat(f"{base}{zone}").astimezone(UTC)
        except ValueError:
            return None
        base = when.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis}Z", m.end(), m.group(0)


class EngineLines:
    """Bytes from the engine in, lines out (see the module docs).

    ``framing``: ``plain`` (no times asked for), ``framed`` (each chunk is
    one timestamped message: a multiplexed stream) or ``raw`` (timestamped
    messages in pieces of any size: a TTY container's stream).
    """

    def __init__(self, framing: Framing = "plain") -> None:
        self.framing = framing
        self._buf = bytearray()
        self._stamp: str | None = None  # the time of the line in _buf (framed)
        self._raw_stamp = b""  # that time as the engine sent it
        self._last_part = 0  # how long the message that left _buf unfinished was

    def feed(self, chunk: bytes) -> list[LogLine]:
        if self.framing != "framed":
            return [self._line(raw) for raw in self._split(chunk)]
        found = _stamp(chunk)
        stamp, end, raw_stamp = found if found else (None, 0, b"")
        out: list[LogLine] = []
        if found and self._buf and not self._continues(raw_stamp):
            # an unfinished message that is whole (its stream ended, or it was
            # the other stream's): the new one starts a line
            out.append(self._make(self._stamp, bytes(self._buf)))
            self._buf.clear()
        if not self._buf:
            self._stamp, self._raw_stamp = stamp, raw_stamp
        self._last_part = len(chunk) - end
        for raw in self._split(chunk[end:]):
            out.append(self._make(self._stamp, raw))
            self._stamp, self._raw_stamp = stamp, raw_stamp
        return out

    def _continues(self, raw_stamp: bytes) -> bool:
        """Whether a message with this time goes on with the unfinished line:
        the engine gives every part of a long line the time of the first (older
        engines: their own), and cuts it where its buffer is full."""
        return raw_stamp == self._raw_stamp or self._last_part >= PART_BYTES

    def finish(self) -> list[LogLine]:
        """The last line, when it had no newline."""
        if not self._buf:
            return []
        raw = bytes(self._buf)
        self._buf.clear()
        if self.framing == "framed":
            return [self._make(self._stamp, raw)]
        return [self._line(raw)]

    def _split(self, chunk: bytes) -> list[bytes]:
        """Complete lines, the new chunk's newlines only looked for once."""
        buf = self._buf
        start = len(buf)
        buf += chunk
        out: list[bytes] = []
        pos = 0
        end = buf.find(b"\n", start)
        while end >= 0:
            out.append(bytes(buf[pos:end]))
            pos = end + 1
            end = buf.find(b"\n", pos)
        if pos:
            del buf[:pos]
        return out

    def _line(self, raw: bytes) -> LogLine:
        found = None if self.framing == "plain" else _stamp(raw)
        if found is None:
            return self._make(None, raw)
        stamp, end, raw_stamp = found
        # a TTY's long line: its parts come one after the other, each with the
        # time of the first (older engines: their own, after a full buffer)
        body = raw[end:].replace(raw_stamp, b"")
        if len(body) > PART_BYTES:
            body = _joined(body)
        return self._make(stamp, body)

    @staticmethod
    def _make(stamp: str | None, raw: bytes) -> LogLine:
        text = clean_line(raw.decode("utf-8", errors="replace"))
        if stamp is None:
            return LogLine(text)
        return LogLine(f"{stamp} {text}" if text else stamp)


def _joined(body: bytes) -> bytes:
    """``body`` without the engine's times where a full part ends."""
    out = bytearray()
    while len(body) > PART_BYTES:
        found = _stamp(body, PART_BYTES)
        if found is None:
            break
        out += body[:PART_BYTES]
        body = body[found[1] :]
    return bytes(out + body)


def split_lines(data: bytes, framing: Framing = "plain") -> list[LogLine]:
    """All lines of a finished log (a trailing partial line included)."""
    lines = EngineLines(framing)
    return lines.feed(data) + lines.finish()


class ContainerLogStream:
    """Initial lines, then (when ``chunks`` is given) lines read from the
    engine by a background thread until they end or the stream is closed."""

    def __init__(
        self,
        initial: list[LogLine],
        chunks: Iterable[bytes] | None = None,
        *,
        closer: Closable | None = None,
        ending: Callable[[], LogLine | None] | None = None,
        name: str = "container",
        framing: Framing = "plain",
    ) -> None:
        self._lines: deque[LogLine] = deque(initial)
        self._cond = threading.Condition()
        self._closed = False
        self._done = chunks is None
        self._closer = closer
        self._ending = ending
        self._framing = framing
        self._thread: threading.Thread | None = None
        if chunks is not None:
            self._thread = threading.Thread(
                target=self._pump, args=(chunks,), name=f"docker-logs-{name}", daemon=True
            )
            self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def done(self) -> bool:
        """True when no more lines will come (all read, or closed)."""
        with self._cond:
            return self._closed or (self._done and not self._lines)

    def _push(self, lines: list[LogLine]) -> None:
        if not lines:
            return
        with self._cond:
            if self._closed:
                return
            self._lines.extend(lines)
            self._cond.notify_all()

    def _pump(self, chunks: Iterable[bytes]) -> None:
        lines = EngineLines(self._framing)
        try:
            for chunk in chunks:
                if self._closed:
                    return
                self._push(lines.feed(chunk))
            self._push(lines.finish())
            if not self._closed and self._ending is not None:
                notice = self._ending()
                if notice is not None:
                    self._push([notice])
        except Exception as e:  # noqa: BLE001 - the reader must end the stream, never die loudly
            if not self._closed:
                self._push([LogLine(f"— log stream failed: {e} —", notice=True)])
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def read_available(self, timeout: float | None = 0.0) -> list[LogLine]:
        """Wait up to ``timeout`` s (``None``: until a line comes or the stream
        ends) and return every line there is."""
        with self._cond:
            if timeout is None or timeout > 0:
                self._cond.wait_for(
                    lambda: bool(self._lines) or self._done or self._closed, timeout
                )
            if self._closed:
                return []
            out = list(self._lines)
            self._lines.clear()
            return out

    def __iter__(self) -> Iterator[LogLine]:
        while not self.done:
            yield from self.read_available(None)

    def close(self) -> None:
        """End the stream at once; safe from any thread, and more than once."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._lines.clear()
            self._cond.notify_all()
            closer, self._closer = self._closer, None
        if closer is not None:
            try:
                closer.close()
            except Exception:  # noqa: BLE001, S110 - closing a dead stream is fine
                pass

    def __enter__(self) -> ContainerLogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
