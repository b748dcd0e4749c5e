"""The log pane's lines and which of them show (no Textual in here).

A search is a case-insensitive substring (``re:`` in front makes it a regular
expression) of the line's own text (never a source's label in front of it).
Filter mode shows only matching lines, with ``grep -C``-like context and a
separator between groups that are not adjacent.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

__all__ = ["CONTEXT_STEPS", "SEPARATOR_TEXT", "LogBuffer", "SourceStyle", "compile_query"]

CONTEXT_STEPS = (0, 2, 5)
"""What ``c`` cycles through: lines of context around each match in filter mode."""

SEPARATOR_TEXT = "--"
"""How :meth:`LogPane.shown_lines` reports the separator between match groups."""

LABEL_MIN = 8  # the label column is a quarter of the pane's width, never narrower
# than this (unless every label is shorter): the text keeps most of the width
BAR = " │ "  # between a source label and the line's text
MAX_SPANS = 200  # highlights per line; a pathological pattern cannot stall a render

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean(text: str) -> str:
    """Printable text: colour codes dropped, tabs expanded, other controls shown as �."""
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\t" in text:
        text = text.expandtabs()
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def fit_label(label: str, width: int) -> str:
    """``label`` padded to ``width``; a longer one loses its middle (the ends
    of session names tell them apart)."""
    if len(label) <= width:
        return label.ljust(width)
    head = (width - 1) // 2
    return label[:head] + "…" + label[len(label) - (width - 1 - head) :]


def _sep(before: int) -> int:
    """A separator row placed before line ``before`` (rows hold line numbers >= 0)."""
    return -before - 1


def _row_key(row: int) -> int:
    # sorts a separator just before the line it precedes
    return 2 * row if row >= 0 else -2 * row - 3


def compile_query(query: str) -> re.Pattern[str] | None:
    """The pattern for a search box text; ``re:`` in front means a regular
    expression.  Raises :class:`re.error` for a bad expression; empty -> None."""
    if query.startswith("re:"):
        body = query[3:]
        return re.compile(body, re.IGNORECASE) if body else None
    return re.compile(re.escape(query), re.IGNORECASE) if query else None


@dataclass(frozen=True, slots=True)
class SourceStyle:
    """How lines of one source look: the label in front and its colour (a
    theme variable name such as ``"primary"``)."""

    label: str
    colour: str


class LogBuffer:
    """The lines, and which of them the view shows (no Textual in here).

    Lines have absolute numbers that never change: ``dropped`` is the number
    of the first line still held.  The view is a list of *rows*: a line
    number, or a separator (a negative number, see :func:`_sep`).  A line
    shown with a source label in front has its own text from ``starts[i]``
    on: the search looks there only.
    """

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max(1, max_lines)
        self.texts: list[str] = []  # what is shown (a source's label is drawn in front)
        self.starts: list[int] = []  # where the line's own text starts in it
        self.raw: list[str] = []  # what the log said (copied by `y`)
        self.notice: list[bool] = []
        self.source: list[str | None] = []
        self.dropped = 0
        self.width = 0
        self.hidden: frozenset[str] = frozenset()
        self.base: list[int] | None = None  # eligible lines when sources are hidden
        self.pattern: re.Pattern[str] | None = None
        self.matches: list[int] = []
        self.filter = False
        self.context = 0
        self.rows: list[int] | None = None  # the filtered view

    # -- contents --------------------------------------------------------------

    @property
    def end(self) -> int:
        """The number the next line will get."""
        return self.dropped + len(self.texts)

    def text(self, line: int) -> str:
        return self.texts[line - self.dropped]

    def clear(self) -> None:
        self.dropped = self.end
        for lst in (self.texts, self.starts, self.raw, self.notice, self.source, self.matches):
            lst.clear()
        self.width = 0
        self.base = [] if self.hidden else None
        self.rows = self._build_rows() if self._filtering else None

    def _matching(self, numbers: Iterable[int]) -> list[int]:
        """Those of ``numbers`` whose own text the pattern matches."""
        if self.pattern is None:
            return []
        search, texts, starts, off = self.pattern.search, self.texts, self.starts, self.dropped
        out = []
        for n in numbers:
            i = n - off
            start = starts[i]
            # sliced, not search(text, start): "^" and lookbehinds must not see the label
            if search(texts[i][start:] if start else texts[i]):
                out.append(n)
        return out

    def append(self, items: Iterable[tuple[str, int, str, bool, str | None]]) -> int:
        """Add (shown, start of its own text, raw, notice, source) lines;
        returns how many dropped off the top."""
        start = self.end
        width = self.width
        for shown, own, raw, notice, source in items:
            self.texts.append(shown)
            self.starts.append(own)
            self.raw.append(raw)
            self.notice.append(notice)
            self.source.append(source)
            width = max(width, cell_len(shown))
        self.width = width
        new = range(start, self.end)
        if self.base is not None:
            hidden = self.hidden
            new_base = [n for n in new if self.source[n - self.dropped] not in hidden]
            self.base.extend(new_base)
            eligible: Iterable[int] = new_base
        else:
            eligible = new
        if self.pattern is not None:
            self.matches.extend(self._matching(eligible))
        removed = self._trim()
        if self._filtering:
            self.rows = self._build_rows()
        return removed

    def _trim(self) -> int:
        extra = len(self.texts) - self.max_lines
        if extra <= 0:
            return 0
        for lst in (self.texts, self.starts, self.raw, self.notice, self.source):
            del lst[:extra]
        self.dropped += extra
        for numbers in (self.base, self.matches):
            if numbers:
                del numbers[: bisect_left(numbers, self.dropped)]
        return extra

    # -- what is shown ---------------------------------------------------------

    @property
    def _filtering(self) -> bool:
        return self.filter and self.pattern is not None

    def eligible(self) -> Sequence[int]:
        """Line numbers not hidden by a source, in order."""
        return self.base if self.base is not None else range(self.dropped, self.end)

    def set_hidden(self, hidden: Collection[str]) -> None:
        self.hidden = frozenset(hidden)
        if self.hidden:
            self.base = [
                self.dropped + i for i, s in enumerate(self.source) if s not in self.hidden
            ]
        else:
            self.base = None
        self._refilter()

    def set_pattern(self, pattern: re.Pattern[str] | None) -> None:
        self.pattern = pattern
        self._refilter()

    def set_filter(self, on: bool, context: int | None = None) -> None:
        self.filter = on
        if context is not None:
            self.context = context
        self.rows = self._build_rows() if self._filtering else None

    def _refilter(self) -> None:
        self.matches = self._matching(self.eligible())
        self.rows = self._build_rows() if self._filtering else None

    def _build_rows(self) -> list[int]:
        if self.context <= 0:
            return list(self.matches)
        seq = self.eligible()
        if isinstance(seq, range):
            positions: Iterable[int] = (m - self.dropped for m in self.matches)
        else:
            positions = (bisect_left(seq, m) for m in self.matches)
        rows: list[int] = []
        ctx, last = self.context, len(seq) - 1
        group_end = -2  # the last position shown so far
        for p in positions:
            lo, hi = max(0, p - ctx), min(last, p + ctx)
            if hi <= group_end:
                continue
            if lo > group_end + 1 and rows:
                rows.append(_sep(seq[lo]))
            rows.extend(seq[max(lo, group_end + 1) : hi + 1])
            group_end = hi
        return rows

    @property
    def row_count(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        if self.base is not None:
            return len(self.base)
        return len(self.texts)

    def row(self, index: int) -> int:
        """The line number (or separator) shown in row ``index``."""
        if self.rows is not None:
            return self.rows[index]
        if self.base is not None:
            return self.base[index]
        return self.dropped + index

    def row_of(self, line: int) -> int:
        """The row showing ``line``, or else the next line shown (last row at most)."""
        count = self.row_count
        if count == 0:
            return 0
        if self.rows is not None:
            i = bisect_left(self.rows, _row_key(line), key=_row_key)
            if i < count and self.rows[i] < 0:
                i += 1
        elif self.base is not None:
            i = bisect_left(self.base, line)
        else:
            i = line - self.dropped
        return max(0, min(i, count - 1))


def search_status(buf: LogBuffer, text: str, error: str, position: int | None) -> str:
    """The pane's subtitle: the search (``text``, or its ``error``), the
    filter and its context, and the match ``position`` of how many."""
    parts: list[str] = []
    if error:
        parts.append(error)
    elif buf.filter:
        if buf.pattern is None:
            parts.append("filter: type to filter")
        else:
            n = len(buf.matches)
            parts.append(f"filter: {text!r} · {n} line{'s' * (n != 1)}")
        parts.append(f"context {buf.context}")
    if buf.pattern is not None:
        total = len(buf.matches)
        if position is not None:
            parts.append(f"match {position}/{total}")
        elif not buf.filter:
            parts.append(f"{total} match{'es' * (total != 1)}" if total else "no matches")
    return " · ".join(parts)
