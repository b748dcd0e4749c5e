"""Several sessions' logs as one time-ordered stream.

:class:`MergedTail` follows the log of each session in its own daemon thread.
The *backlog* (the lines each log already had) is merged by the timestamp at
the start of each line; after that, lines are delivered in the order they
arrive, stamped with their arrival time.  Read it like a
:class:`core.backend.LineStream`: call :meth:`MergedTail.read_available` from
one worker thread, :meth:`MergedTail.close` from any thread (it waits a short
while in all for the source threads, never longer).

Timestamps understood at the start of a line (after an optional ``[``):

* ISO-8601: ``2026-11-21T10:00:00``, with ``.123`` or ``,123`` fractions and
  ``Z`` or ``+01:00`` / ``+0100`` offsets; a space may replace the ``T``;
* syslog: ``Nov 21 10:00:00`` (the current year; a date more than a day ahead
  is taken from the year before).

Times without an offset are local.  A line without a timestamp takes the time
of the line before it from the same source (the first ones take the time the
stream was opened), so multi-line records stay together.

Nothing here raises once constructed: a source that cannot be tailed, or whose
stream fails or ends, shows up as a notice line from that source.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

from core.backend import LineStream, pump
from core.inventory import describe_error
from core.model import LogLine, SessionRef

__all__ = ["CLOSE_WAIT", "MergedLine", "MergedTail", "Tailer", "parse_timestamp"]

# How long the backlog may take to arrive: the merged backlog is delivered when
# every source has sent its own, or after this long, whichever comes first.
BACKLOG_WAIT = 1.0
# A source's backlog ends at the first read that waits this long for nothing.
_QUIET = 0.05
# The first read of a source may wait this long for its initial lines.
_FIRST_READ = 0.3
# Live reads wake at least this often to notice close().
_READ_SLICE = 0.25
# close() waits this long in all for the source threads to end.
CLOSE_WAIT = 0.5

_ISO = re.compile(
    r"\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})"
    r"(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?(?![\d:])"
)
# a bare clock time ("12:10:23", "12:10:23.5"), as many tools print: today's
_CLOCK = re.compile(r"\[?(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?![\d:])")
_SYSLOG = re.compile(r"\[?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?![\d:])")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def timestamp_length(text: str) -> int:
    """How many characters a timestamp at the start of ``text`` takes, with a
    closing ``]`` and the space after it (0 when it has none): what a log view
    hides when timestamps are off.  One space only: the indentation of what
    follows (a traceback line under a container's time) stays.  The same
    formats as :func:`parse_timestamp`."""
    if not text or not (text[0].isdigit() or text[0] == "[" or text[0].isupper()):
        return 0
    for pattern in (_ISO, _CLOCK, _SYSLOG):
        m = pattern.match(text)
        if m is not None and (pattern is not _SYSLOG or m.group(1) in _MONTHS):
            end = m.end()
            if text.startswith("[") and text[end : end + 1] == "]":
                end += 1
            if text[end : end + 1] == " ":
                end += 1
            return end
    return 0


def parse_timestamp(text: str, *, now: float | None = None) -> float | None:
    """The POSIX time of a timestamp at the start of ``text``, or None.

    ``now`` (default: the current time) picks the year of a syslog-style
    timestamp, which has none, and the day of a bare clock time (``12:10:23``).
    """
    if not text:
        return None
    first = text[0]
    try:
        if first.isdigit() or first == "[":
            m = _ISO.match(text)
            if m is not None:
                year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
                frac = m.group(7)
                micro = int((frac + "000000")[:6]) if frac else 0
                tz = _offset(m.group(8))
                when = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
                return when.timestamp()  # naive: local time
            m = _CLOCK.match(text)
            if m is not None:
                ref = datetime.fromtimestamp(time.time() if now is None else now)
                hour, minute, second = (int(g) for g in m.groups()[:3])
                frac = m.group(4)
                micro = int((frac + "000000")[:6]) if frac else 0
                when = ref.replace(hour=hour, minute=minute, second=second, microsecond=micro)
                if when - ref > timedelta(hours=1):  # "23:59:58" read just after midnight
                    when -= timedelta(days=1)
                return when.timestamp()
        if first.isupper() or first == "[":
            m = _SYSLOG.match(text)
            if m is not None and m.group(1) in _MONTHS:
                ref = datetime.fromtimestamp(time.time() if now is None else now)
                month = _MONTHS[m.group(1)]
                day, hour, minute, second = (int(g) for g in m.groups()[1:])
                when = datetime(ref.year, month, day, hour, minute, second)
                if when - ref > timedelta(days=1):  # "Dec 31" read on Jan 1
                    when = when.replace(year=ref.year - 1)
                return when.timestamp()
    except ValueError:  # 2026-13-45 and friends: not a time after all
        return None
    return None


class Tailer(Protocol):
    """What :class:`MergedTail` needs: :class:`core.inventory.Inventory` has it."""

    def tail(self, ref: SessionRef, *, lines: int = 100, follow: bool = False) -> LineStream: ...


@dataclass(frozen=True, slots=True)
class MergedLine:
    """One line of the merged stream: where it came from and when."""

    source: SessionRef
    label: str
    line: LogLine
    time: float

    def __str__(self) -> str:
        return f"{self.label}: {self.line.text}"


class MergedTail:
    """Follow several sessions' logs as one stream (see the module docs).

    ``lines`` is the backlog per source.  ``labels`` names sources (default:
    ``backend:id``).  Threads start at once; use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        inventory: Tailer,
        refs: Sequence[SessionRef],
        *,
        lines: int = 100,
        labels: Mapping[SessionRef, str] | None = None,
        backlog_wait: float = BACKLOG_WAIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.refs = list(dict.fromkeys(refs))  # the same session twice is one source
        self.labels = {r: (labels or {}).get(r) or str(r) for r in self.refs}
        self._inventory = inventory
        self._lines = lines
        self._clock = clock
        self._cond = threading.Condition()
        self._closed = False
        self._out: list[MergedLine] = []
        # the backlog phase: per-source backlogs until all are in (or the wait ends)
        self._backlogs: dict[int, list[MergedLine]] | None = {}
        self._early: list[MergedLine] = []  # live lines that came during the phase
        self._deadline = time.monotonic() + backlog_wait
        self._streams: dict[int, LineStream] = {}
        self._ended = 0  # source threads that are over (their stream done or failed)
        self._threads = [
            threading.Thread(target=self._run, args=(i, ref), name=f"logmerge {ref}", daemon=True)
            for i, ref in enumerate(self.refs)
        ]
        for t in self._threads:
            t.start()
        if not self.refs:
            self._finish_backlog()

    # -- reading ---------------------------------------------------------------

    def read_available(self, timeout: float) -> list[MergedLine]:
        """Wait up to ``timeout`` s for lines; return all there are (maybe none).

        The first lines returned are the merged backlog.  Returns ``[]`` at
        once after :meth:`close`.
        """
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed or self._finished():
                    return []
                now = time.monotonic()
                if self._backlogs is not None and now >= self._deadline:
                    self._finish_backlog()
                if self._out:
                    out, self._out = self._out, []
                    return out
                if now >= end:
                    return []
                wait = end - now
                if self._backlogs is not None:
                    wait = min(wait, max(0.0, self._deadline - now))
                self._cond.wait(wait)

    def __iter__(self) -> Iterator[MergedLine]:
        while not self.done:
            yield from self.read_available(_READ_SLICE)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def done(self) -> bool:
        """True when no more lines will come: closed, or every source ended
        (each says so with a notice) and every line was read."""
        with self._cond:
            return self._closed or self._finished()

    def _finished(self) -> bool:
        # lock held
        return self._ended == len(self.refs) and self._backlogs is None and not self._out

    @property
    def alive(self) -> int:
        """How many source threads still run (0 soon after :meth:`close`)."""
        return sum(t.is_alive() for t in self._threads)

    def close(self, timeout: float = CLOSE_WAIT) -> None:
        """Stop: reading returns ``[]`` at once, every stream is closed (which
        wakes its reader), then wait up to ``timeout`` s *in all* for the source
        threads to end (0: do not wait).

        A thread stuck in the backend (say in ``tail()`` on a hung server) is
        not waited for past the deadline: it is a daemon thread, and it closes
        the stream it gets and ends as soon as the backend returns.  Closing a
        stream may run a backend command (tmux ``pipe-pane``): a UI calls this
        from a thread of its own.  Calling it again waits again.
        """
        with self._cond:
            streams = [] if self._closed else list(self._streams.values())
            self._closed = True
            self._cond.notify_all()
        for s in streams:
            try:
                s.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s in all (None: for ever) for the source
        threads to end; True if they all have (the calling one aside)."""
        me = threading.current_thread()
        others = [t for t in self._threads if t is not me]
        end = None if timeout is None else time.monotonic() + timeout
        for t in others:
            t.join(None if end is None else max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in others)

    def __enter__(self) -> MergedTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the source threads ------------------------------------------------------

    def _run(self, index: int, ref: SessionRef) -> None:
        try:
            self._follow(index, ref)
        finally:
            with self._cond:
                self._ended += 1
                self._cond.notify_all()  # a reader waiting may now be done

    def _follow(self, index: int, ref: SessionRef) -> None:
        label = self.labels[ref]
        try:
            stream = self._inventory.tail(ref, lines=self._lines, follow=True)
        except Exception as exc:  # noqa: BLE001 - becomes a notice from this source
            self._backlog_done(index, [self._notice(ref, f"cannot tail: {describe_error(exc)}")])
            return
        with self._cond:
            if self._closed:
                stream.close()
                return
            self._streams[index] = stream
        opened = self._clock()
        reported = False
        try:
            backlog = self._read_backlog(stream)
            self._backlog_done(index, self._stamp(ref, label, backlog, opened))
            reported = True

            def live(batch: list[LogLine]) -> None:
                now = self._clock()
                self._live([MergedLine(ref, label, ln, now) for ln in batch])

            # ends when the stream is done (a finished log never spins) or closed
            pump(stream, live, stop=lambda: self._closed, wait=_READ_SLICE)
            if not self._closed:
                self._live([self._notice(ref, "log ended")])
        except Exception as exc:  # noqa: BLE001 - becomes a notice from this source
            if not self._closed:
                if not reported:
                    self._backlog_done(index, [])
                self._live([self._notice(ref, f"tail failed: {describe_error(exc)}")])
        finally:
            stream.close()

    def _read_backlog(self, stream: LineStream) -> list[LogLine]:
        """The lines a stream has at once: reads until one waits ``_QUIET`` for
        nothing, the backlog is full or the phase is over."""
        out: list[LogLine] = []
        wait = min(_FIRST_READ, max(0.0, self._deadline - time.monotonic()))
        while not self._closed:
            batch = stream.read_available(wait)
            if not batch:
                break
            out.extend(batch)
            if len(out) >= self._lines or time.monotonic() >= self._deadline:
                break
            wait = _QUIET
        return out

    def _stamp(
        self, ref: SessionRef, label: str, lines: list[LogLine], opened: float
    ) -> list[MergedLine]:
        when = None
        out = []
        now = self._clock()
        for ln in lines:
            parsed = None if ln.notice else parse_timestamp(ln.text, now=now)
            if parsed is not None:
                when = parsed
            out.append(MergedLine(ref, label, ln, opened if when is None else when))
        return out

    def _notice(self, ref: SessionRef, text: str) -> MergedLine:
        return MergedLine(ref, self.labels[ref], LogLine(text, notice=True), self._clock())

    def _backlog_done(self, index: int, lines: list[MergedLine]) -> None:
        with self._cond:
            if self._backlogs is None:  # the phase is over: deliver as it comes
                self._out.extend(lines)
            else:
                self._backlogs[index] = lines
                if len(self._backlogs) == len(self.refs):
                    self._finish_backlog()
            self._cond.notify_all()

    def _finish_backlog(self) -> None:
        """Deliver the merged backlog, then what arrived live meanwhile (lock held)."""
        backlogs = self._backlogs or {}
        # heapq.merge keeps each source's own order even where its times go back
        merged = heapq.merge(*(backlogs[i] for i in sorted(backlogs)), key=lambda m: m.time)
        self._out.extend(merged)
        self._out.extend(self._early)
        self._early = []
        self._backlogs = None
        self._cond.notify_all()

    def _live(self, lines: list[MergedLine]) -> None:
        with self._cond:
            if self._backlogs is not None:
                self._early.extend(lines)
            else:
                self._out.extend(lines)
            self._cond.notify_all()
