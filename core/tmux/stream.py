"""Pane output as a :class:`core.backend.LineStream`.

A pane's log is two things glued together: the scrollback tmux already holds
(``capture-pane``, already rendered: plain text) and, when following, what
the pane prints from then on, which ``pipe-pane`` copies into a file that a
:class:`core.logtail.FileTail` follows.

The piped bytes are the raw terminal stream, so each followed line is cleaned
by :func:`clean_line`: escape sequences (colours, cursor moves, window titles,
bracketed-paste marks) are removed, a carriage return keeps only the text
after it (a progress bar shows its last state), and other control characters
are dropped.  Tabs stay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

from core.logtail import FileTail
from core.model import LogLine

_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]              # CSI: colours, cursor, modes
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?   # OSC: titles, hyperlinks
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?        # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]                      # two-byte escapes, charset picks
    | \x9b[0-?]*[ -/]*[@-~]                # 8-bit CSI
    | \x1b$                                # a lone ESC at the end
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_line(text: str) -> str:
    """``text`` as a person would read it on the terminal, roughly: no escape
    sequences, the last carriage-return segment, no control characters."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    if "\r" in text:
        segments = [s for s in text.split("\r") if s]
        text = segments[-1] if segments else ""
    return _CONTROLS.sub("", text)


class PaneStream:
    """Scrollback lines first, then (when following) cleaned lines of a file.

    ``on_close`` runs once, when the stream is closed, from whichever thread
    closes it (the tmux backend stops its ``pipe-pane`` there).
    """

    def __init__(
        self,
        initial: list[LogLine],
        follow: FileTail | None = None,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._initial: list[LogLine] | None = initial
        self._follow = follow
        self._on_close = on_close
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def done(self) -> bool:
        """True when no more lines will come."""
        if self._closed:
            return True
        return self._initial is None and (self._follow is None or self._follow.done)

    def read_available(self, timeout: float | None = 0.0) -> list[LogLine]:
        """The scrollback at once on the first call; then wait up to ``timeout``
        seconds (``None``: until a line comes or the stream closes) for
        followed lines.  Call from one thread at a time."""
        if self._closed:
            return []
        if self._initial is not None:
            out, self._initial = self._initial, None
            if self._follow is not None:
                out.extend(self._cleaned(self._follow.read_available(0.0)))
            return out
        if self._follow is None:
            return []
        return self._cleaned(self._follow.read_available(timeout))

    @staticmethod
    def _cleaned(lines: list[LogLine]) -> list[LogLine]:
        return [line if line.notice else LogLine(clean_line(line.text)) for line in lines]

    def __iter__(self) -> Iterator[LogLine]:
        while not self.done:
            yield from self.read_available(None)

    def close(self) -> None:
        """End the stream; a reader blocked in another thread returns at once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            hook, self._on_close = self._on_close, None
        if self._follow is not None:
            self._follow.close()
        if hook is not None:
            hook()

    def __enter__(self) -> PaneStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
