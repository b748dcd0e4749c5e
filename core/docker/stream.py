"""Container logs as a :class:`core.backend.LineStream`.

The engine sends stdout and stderr as chunks of bytes (frames of a
multiplexed stream, or raw terminal output for a TTY container).  A reader
thread turns them into lines: UTF-8 decoded with replacement (a character
split across chunks stays whole), a partial line kept until its newline,
each line cleaned of escape sequences like a pane's (see
:func:`core.tmux.stream.clean_line`).

When the chunks end by themselves (the container exited, was removed, or the
engine went away), ``ending`` is asked for a notice line that says which, and
the stream is done.  :meth:`ContainerLogStream.close` may be called from any
thread: it closes the engine's response (docker-py's ``CancellableStream``
shuts its socket down), so a reader blocked on the socket and one waiting in
:meth:`read_available` both return at once.
"""

from __future__ import annotations

import codecs
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from core.model import LogLine
from core.tmux.stream import clean_line


class Closable(Protocol):
    def close(self) -> None: ...


def split_lines(data: bytes) -> list[LogLine]:
    """All lines of a finished log (a trailing partial line included)."""
    text = data.decode("utf-8", errors="replace")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [LogLine(clean_line(p)) for p in parts]


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
    ) -> None:
        self._lines: deque[LogLine] = deque(initial)
        self._cond = threading.Condition()
        self._closed = False
        self._done = chunks is None
        self._closer = closer
        self._ending = ending
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
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        partial = ""
        try:
            for chunk in chunks:
                if self._closed:
                    return
                text = partial + decoder.decode(chunk)
                *complete, partial = text.split("\n")
                self._push([LogLine(clean_line(t)) for t in complete])
            partial += decoder.decode(b"", final=True)
            if partial:
                self._push([LogLine(clean_line(partial))])
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
