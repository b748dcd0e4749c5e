"""LogPane: a bounded, batch-written log view with a cursor, search, filter and copy.

The pane holds at most ``max_lines`` lines (older ones drop off the top) and
takes them in batches (:meth:`LogPane.add`), so a fast log stays cheap: a batch
costs the work for its own lines, never a re-render of the whole buffer.

Search is a case-insensitive substring (``re:`` in front makes it a regular
expression) of the line's own text (never a source's label in front of it).
Every match is highlighted; ``n``/``N`` walk them.  Filter mode
shows only matching lines, with ``grep -C``-like context and a separator
between groups that are not adjacent.  Lines can carry a *source* (the merged
log view gives each session one): a coloured label in front of the text, and
sources can be hidden and shown again without losing their lines.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Input

from core.logmerge import timestamp_length
from core.model import LogLine
from tui.theme_style import theme_style

__all__ = ["CONTEXT_STEPS", "SEPARATOR_TEXT", "LogPane", "LogView", "SourceStyle"]

CONTEXT_STEPS = (0, 2, 5)
"""What ``c`` cycles through: lines of context around each match in filter mode."""

SEPARATOR_TEXT = "--"
"""How :meth:`LogPane.shown_lines` reports the separator between match groups."""

_LABEL_MAX = 20  # a longer source label is cut (on screens under 80 columns wide:
# a quarter of a wider one) so the text keeps most of the width
_BAR = " │ "  # between a source label and the line's text
_MAX_SPANS = 200  # highlights per line; a pathological pattern cannot stall a render

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(text: str) -> str:
    """Printable text: colour codes dropped, tabs expanded, other controls shown as �."""
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\t" in text:
        text = text.expandtabs()
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def _fit(label: str, width: int) -> str:
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


class _Buffer:
    """The lines, and which of them the view shows (no Textual in here).

    Lines have absolute numbers that never change: ``dropped`` is the number
    of the first line still held.  The view is a list of *rows*: a line
    number, or a separator (a negative number, see :func:`_sep`).  A line
    shown with a source label in front has its own text from ``starts[i]``
    on: the search looks there only.
    """

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max(1, max_lines)
        self.texts: list[str] = []  # what is shown (label prefix included)
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


class LogView(ScrollView, can_focus=False):
    """Draws the rows of a :class:`LogPane` (one Strip per visible row).

    Not focusable itself: the pane around it takes focus and owns the keys.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--cursor",
        "log-view--separator",
        "log-view--placeholder",
        "log-view--label-bar",
    }

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        overflow: scroll;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .log-view--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .log-view--separator { color: $foreground-muted; }
        & > .log-view--placeholder { color: $foreground-muted; text-style: italic; }
        & > .log-view--label-bar { color: $foreground-muted; }
    }
    """

    def __init__(self, pane: LogPane) -> None:
        super().__init__()
        self._pane = pane
        self._cache: LRUCache[tuple[int, bool, bool], Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}

    def clear_cache(self) -> None:
        self._cache.clear()
        self._styles.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.clear_cache()

    def _theme(self, variable: str, **flags: bool) -> Style:
        key = variable + "".join(sorted(k for k, v in flags.items() if v))
        style = self._styles.get(key)
        if style is None:
            style = theme_style(self.app, variable, bold=flags.get("bold", False))
            if flags.get("reverse"):
                style += Style(reverse=True)
            if flags.get("underline"):
                style += Style(underline=True)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        pane, buf = self._pane, self._pane._buf
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        index = scroll_y + y
        if index >= buf.row_count:
            if index == 0 and pane.placeholder:
                style = base + self.get_component_rich_style("log-view--placeholder")
                return Strip([Segment(pane.placeholder, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        line = buf.row(index)
        if line < 0:
            style = base + self.get_component_rich_style("log-view--separator")
            return Strip([Segment("╌" * width, style)], width)
        cursor = index == pane.cursor_row and pane.has_focus_within
        current = line == pane._current
        strip = self._cache.get((line, cursor, current))
        if strip is None:
            strip = self._render_text(line, base, cursor, current)
            self._cache[(line, cursor, current)] = strip
        fill = base + self.get_component_rich_style("log-view--cursor") if cursor else base
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _render_text(self, line: int, base: Style, cursor: bool, current: bool) -> Strip:
        pane, buf = self._pane, self._pane._buf
        n = line - buf.dropped
        shown = buf.texts[n]
        start = buf.starts[n]  # the label "name │ " comes before it
        if not pane.show_timestamps:
            cut = timestamp_length(shown[start:])
            if cut:
                shown = shown[:start] + shown[start + cut :]
        style = base + self.get_component_rich_style("log-view--cursor") if cursor else base
        text = Text(shown, style=style, no_wrap=True, end="")
        source = buf.source[n]
        if start and source is not None and source in pane.sources:
            label_end = start - len(_BAR)
            if cursor:  # the cursor's colours win: a label could match its background
                text.stylize(Style(bold=True), 0, label_end)
            else:
                colour = self._theme(pane.sources[source].colour, bold=True)
                text.stylize(colour, 0, label_end)
                bar = self.get_component_rich_style("log-view--label-bar")
                text.stylize(bar, label_end, start)
        if buf.notice[n] and not cursor:
            text.stylize(self._theme("log-notice"), start)
        pattern = buf.pattern
        if pattern is not None:
            if current:
                hit = self._theme("log-match-current", bold=True, reverse=True, underline=True)
            else:
                hit = self._theme("log-match", reverse=True)
            # matched on the line's own text: the spans move right past the label
            for i, m in enumerate(pattern.finditer(shown[start:] if start else shown)):
                if i >= _MAX_SPANS:
                    break
                if m.end() > m.start():
                    text.stylize(hit, start + m.start(), start + m.end())
        # Text.render leaves a line without spans unstyled: no colours at all,
        # which a terminal draws in its own default colours (dark patches in a
        # light theme); the pane's colours go under every segment
        segments = Segment.apply_style(text.render(self.app.console), style)
        return Strip(segments, cell_len(shown))

    def on_resize(self, event: events.Resize) -> None:
        self._pane.settle()

    async def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < self._pane._buf.row_count:
            self._pane.move_cursor_to_row(row)


class LogPane(Widget, can_focus=True):
    """The log of one session (or several, merged), with a cursor.

    | Key | Action |
    | :- | :- |
    | / | Search (``re:`` in front for a regular expression); enter jumps |
    | n / N | Next / previous match (wraps) |
    | & | Filter: show only matching lines |
    | c | Context lines around matches in filter mode: 0, 2, 5 |
    | y | Copy the cursor line to the clipboard (OSC 52, works over SSH) |
    | j / k, down / up | Move the cursor |
    | home / end, pageup / pagedown | Jump; at the end the pane follows new lines |
    | escape | Clear the search, then leave filter mode |

    Callers feed lines with :meth:`add` (or :meth:`add_sourced`) from the UI
    thread, in batches.  The border subtitle shows the search state.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next", id="logs.next"),
        Binding("N", "prev_match", "Prev", show=False, id="logs.prev"),
        Binding("ampersand", "toggle_filter", "Filter", id="logs.filter"),
        Binding("c", "cycle_context", "Context", show=False, id="logs.context"),
        Binding("y", "copy_line", "Copy", id="logs.copy"),
        Binding("j", "line_down", "Down", show=False, id="logs.line_down"),
        Binding("k", "line_up", "Up", show=False, id="logs.line_up"),
        Binding("down", "line_down", "Down", show=False),
        Binding("up", "line_up", "Up", show=False),
        Binding("home", "first_line", "Top", show=False),
        Binding("end", "last_line", "End", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("t", "toggle_timestamps", "Times", show=False, id="logs.timestamps"),
        Binding("escape", "close", "Close search", show=False, id="logs.close"),
    ]

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        layout: vertical;
        & > Input.log-search {
            display: none;
            dock: bottom;
            width: 1fr;
        }
        & > Input.log-search.-open {
            display: block;
        }
    }
    """

    def __init__(
        self,
        *,
        max_lines: int = 5000,
        id: str | None = None,  # noqa: A002 - Textual's name for it
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._buf = _Buffer(max_lines)
        self.source = ""
        """What the dashboard shows in here (the session's name)."""
        self.following = False
        self.show_timestamps = True  # t: the timestamp at the start of each line shown
        """Set by the owner while new lines keep coming (informational)."""
        self.placeholder = ""
        """Shown (dim) when there are no rows: a message, or why a filter shows nothing."""
        self.sources: dict[str, SourceStyle] = {}
        self.label_width = 0
        self.search_text = ""
        """What the search box holds (the search in force)."""
        self.query_error = ""
        self._cursor_line: int | None = None  # a line number; None: at the end
        self._stick = True  # the cursor stays on the last row as lines arrive
        self._current: int | None = None  # the match n/N last went to
        self._typeahead = False  # see on_key
        self._submit_on_focus = False
        self._view = LogView(self)
        self._box = Input(
            placeholder="search (re: regex) · enter jump · esc clear",
            compact=True,
            # see on_key: typed-ahead keys must not be selected (and replaced)
            # when the box takes the focus
            select_on_focus=False,
            classes="log-search",
        )

    def compose(self) -> ComposeResult:
        yield self._view
        yield self._box

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: Theme) -> None:
        self._view.clear_cache()
        self._view.refresh()

    # -- the old Log API (the dashboard uses these) -----------------------------

    @property
    def max_lines(self) -> int:
        return self._buf.max_lines

    @property
    def lines(self) -> Sequence[str]:
        """Every line held (as shown, label included), oldest first; read only."""
        return self._buf.texts

    @property
    def line_count(self) -> int:
        return len(self._buf.texts)

    def reset(self, title: str) -> None:
        """Empty the pane for a new log; the search and filter stay."""
        self.clear()
        self.source = title

    def clear(self) -> None:
        self._buf.clear()
        self.placeholder = ""
        self._cursor_line = None
        self._stick = True
        self._current = None
        self._changed(scroll="end")

    def message(self, text: str) -> None:
        """Empty the pane and show ``text`` instead of lines."""
        self.clear()
        self.placeholder = text
        self._view.refresh()

    def add(self, lines: Sequence[LogLine]) -> None:
        """Append a batch of lines (one refresh per batch)."""
        self._append(
            ((f"── {t} ──" if ln.notice else t), 0, ln.text, ln.notice, None)
            for ln in lines
            for t in (_clean(ln.text),)
        )

    # -- sources (the merged view) ----------------------------------------------

    def set_sources(self, sources: Mapping[str, SourceStyle]) -> None:
        """Name the sources that :meth:`add_sourced` lines come from; call
        before adding their lines (the label column's width is fixed here)."""
        self.sources = dict(sources)
        widest = max((len(s.label) for s in sources.values()), default=0)
        # a wide terminal gives long labels their room: up to a quarter of it
        room = self.app.size.width // 4 if self.is_attached else 0
        self.label_width = min(max(_LABEL_MAX, room), widest)
        self._view.clear_cache()
        self._view.refresh()

    def add_sourced(self, lines: Sequence[tuple[str, LogLine]]) -> None:
        """Append a batch of ``(source key, line)``; each line shows its source's label."""
        width = self.label_width
        labels = {key: _fit(s.label, width) for key, s in self.sources.items()}

        def items() -> Iterable[tuple[str, int, str, bool, str | None]]:
            for key, ln in lines:
                text = _clean(ln.text)
                shown = f"── {text} ──" if ln.notice else text
                label = labels.get(key)
                if label is None:
                    yield shown, 0, ln.text, ln.notice, key
                else:
                    prefix = label + _BAR
                    yield prefix + shown, len(prefix), ln.text, ln.notice, key

        self._append(items())

    def set_hidden_sources(self, keys: Collection[str]) -> None:
        """Hide the lines of these sources (they are kept; showing them again
        puts them back in place)."""
        if frozenset(keys) == self._buf.hidden:
            return
        self._regroup(lambda: self._buf.set_hidden(keys))

    @property
    def hidden_sources(self) -> frozenset[str]:
        return self._buf.hidden

    # -- state for callers and tests --------------------------------------------

    @property
    def filter_mode(self) -> bool:
        return self._buf.filter

    @property
    def context(self) -> int:
        return self._buf.context

    @property
    def match_count(self) -> int:
        return len(self._buf.matches)

    @property
    def match_position(self) -> int | None:
        """1-based index of the current match (where n/N went), or None."""
        cur = self._current
        if cur is None:
            return None
        i = bisect_left(self._buf.matches, cur)
        if i < len(self._buf.matches) and self._buf.matches[i] == cur:
            return i + 1
        return None

    @property
    def search_open(self) -> bool:
        return self._box.has_class("-open")

    @property
    def cursor_row(self) -> int:
        """The row the cursor is on (the last row while it follows the end)."""
        count = self._buf.row_count
        if self._stick or self._cursor_line is None:
            return max(0, count - 1)
        return self._buf.row_of(self._cursor_line)

    @property
    def cursor_text(self) -> str | None:
        """The raw text of the cursor line (no label), or None on an empty view."""
        line = self._line_at(self.cursor_row)
        return None if line is None else self._buf.raw[line - self._buf.dropped]

    @property
    def at_end(self) -> bool:
        """True while the cursor follows the last row (new lines scroll into view)."""
        return self._stick

    def shown_lines(self) -> list[str]:
        """The text of every row in view order; separators as ``--``."""
        buf = self._buf
        return [
            SEPARATOR_TEXT if (r := buf.row(i)) < 0 else buf.text(r) for i in range(buf.row_count)
        ]

    def search(self, query: str) -> None:
        """Set the search text (what typing in the search box does)."""
        if self._box.value != query:
            with self._box.prevent(Input.Changed):
                self._box.value = query
        self._set_query(query)

    # -- internals --------------------------------------------------------------

    def _line_at(self, row: int) -> int | None:
        buf = self._buf
        if not 0 <= row < buf.row_count:
            return None
        line = buf.row(row)
        if line >= 0:
            return line
        # a separator: the line after it
        return buf.row(row + 1) if row + 1 < buf.row_count else None

    def _append(self, items: Iterable[tuple[str, int, str, bool, str | None]]) -> None:
        view = self._view
        was_end = view.is_vertical_scroll_end or view.max_scroll_y == 0
        top = self._line_at(round(view.scroll_y))  # kept on top unless following
        before, end = self._buf.row_count, self._buf.end
        self._buf.append(items)
        if self._buf.end != end:
            self.placeholder = ""  # a message stands in for lines until some come
        if self._current is not None and self._current < self._buf.dropped:
            self._current = None
        if self._stick and was_end:
            self._changed(scroll="end")
        else:
            self._changed(scroll=top)
        if self._buf.row_count != before or self._buf.pattern is not None:
            self._update_subtitle()

    def _changed(self, *, scroll: str | int | None = None) -> None:
        """The rows changed: size the view, scroll, redraw.

        ``scroll``: "end", "cursor" (centre it if out of view), a line number to
        keep at the top, or None (leave the offset).
        """
        buf, view = self._buf, self._view
        if not self._stick and self._cursor_line is not None and self._cursor_line < buf.dropped:
            self._cursor_line = buf.dropped
        view.virtual_size = Size(buf.width, buf.row_count)
        if buf.row_count == 0 and buf.filter and buf.pattern is not None:
            self.placeholder = f"no lines match {self.search_text!r}"
        elif self.placeholder.startswith("no lines match"):
            self.placeholder = ""
        if scroll == "end":
            view.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
            # once more after the layout, which may add a scrollbar
            view.call_after_refresh(self._settle_end)
        elif scroll == "cursor":
            self._show_cursor(centre=True)
        elif isinstance(scroll, int):
            view.scroll_to(y=buf.row_of(scroll), animate=False, immediate=True, force=True)
        view.refresh()

    def _settle_end(self) -> None:
        if self._stick:
            self._view.scroll_end(animate=False, immediate=True, force=True, x_axis=False)

    def settle(self) -> None:
        """After a layout change: keep following the end, or keep the cursor in view."""
        if self._stick:
            self._view.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
        else:
            self._show_cursor()

    def _show_cursor(self, *, centre: bool = False) -> None:
        view = self._view
        height = max(1, view.scrollable_content_region.height)
        row = self.cursor_row
        top = round(view.scroll_y)
        if top <= row < top + height:
            return
        if centre:
            target = row - height // 2
        elif row < top:
            target = row
        else:
            target = row - height + 1
        view.scroll_to(y=max(0, target), animate=False, immediate=True, force=True)

    def move_cursor_to_row(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped); on the last row it follows the end."""
        buf = self._buf
        count = buf.row_count
        if count == 0:
            return
        row = max(0, min(row, count - 1))
        line = self._line_at(row)
        if buf.row(row) < 0:  # never rest on a separator
            row += 1
        self._stick = row >= count - 1
        self._cursor_line = line
        self._show_cursor()
        self._view.refresh()

    def _regroup(self, change: Callable[[], None]) -> None:
        """Change what is shown (filter, hidden sources) keeping the cursor's line."""
        keep = None if self._stick else self._line_at(self.cursor_row)
        change()
        if keep is not None:
            self._cursor_line = keep
        self._view.clear_cache()
        self._changed(scroll="end" if self._stick else "cursor")
        self._update_subtitle()
        self.refresh_bindings()

    def _set_query(self, query: str) -> None:
        if query == self.search_text and not self.query_error:
            return
        self.search_text = query
        try:
            pattern = compile_query(query)
            self.query_error = ""
        except re.error as e:
            pattern = None
            self.query_error = f"bad regex: {e}"
        self._current = None
        self._regroup(lambda: self._buf.set_pattern(pattern))

    def _update_subtitle(self) -> None:
        buf = self._buf
        parts: list[str] = []
        if self.query_error:
            parts.append(self.query_error)
        elif buf.filter:
            if buf.pattern is None:
                parts.append("filter: type to filter")
            else:
                n = len(buf.matches)
                parts.append(f"filter: {self.search_text!r} · {n} line{'s' * (n != 1)}")
            parts.append(f"context {buf.context}")
        if buf.pattern is not None:
            pos = self.match_position
            total = len(buf.matches)
            if pos is not None:
                parts.append(f"match {pos}/{total}")
            elif not buf.filter:
                parts.append(f"{total} match{'es' * (total != 1)}" if total else "no matches")
        self.border_subtitle = Content(" · ".join(parts)) if parts else ""

    # -- focus and the search box -----------------------------------------------

    def on_focus(self, event: events.Focus) -> None:
        self._view.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._view.refresh()

    @on(events.DescendantFocus)
    @on(events.DescendantBlur)
    def _focus_moved(self) -> None:
        self._view.refresh()

    @on(Input.Changed, ".log-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._set_query(event.value)

    @on(Input.Submitted, ".log-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._set_query(event.value)
        self._close_box()
        if self._buf.pattern is not None:
            self._jump(forward=True, include_cursor=True)

    def on_key(self, event: events.Key) -> None:
        # Keys typed in the same burst as "/" (one packet over SSH) reach the
        # pane before the search box has the focus.  They belong in the box,
        # never in the screen's bindings (where "d" means delete).  A
        # printable key sent to the box is taken by the box and never bubbles
        # here, so whatever arrives while typeahead is on was meant for it.
        if self._typeahead:
            box = self._box
            if event.is_printable and event.character:
                box.insert_text_at_cursor(event.character)
            elif event.key == "enter":
                self._submit_on_focus = True  # once the box has the focus
            else:  # editing keys: the box's own bindings may run for them too
                return
            event.stop()
            event.prevent_default()
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id == "logs.search" and self.has_focus:
            self._typeahead = True

    @on(events.DescendantFocus)
    def _box_focused(self, event: events.DescendantFocus) -> None:
        if event.widget is self._box:
            self._typeahead = False
            if self._submit_on_focus:
                self._submit_on_focus = False
                self._box.post_message(Input.Submitted(self._box, self._box.value))

    def _open_box(self) -> None:
        box = self._box
        box.add_class("-open")
        box.value = self.search_text
        box.focus()
        box.select_all()

    def _close_box(self) -> None:
        self._box.remove_class("-open")
        self.focus()

    # -- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "prev_match"):
            return self._buf.pattern is not None
        if action == "close":
            # nothing to close: escape goes on to the screen (e.g. "back")
            return bool(self.search_text or self._buf.filter or self.search_open)
        return True

    def action_search(self) -> None:
        self._open_box()

    def action_next_match(self) -> None:
        self._jump(forward=True)

    def action_prev_match(self) -> None:
        self._jump(forward=False)

    def _jump(self, *, forward: bool, include_cursor: bool = False) -> None:
        matches = self._buf.matches
        if not matches:
            self.notify(f"No match for {self.search_text!r}", severity="warning", timeout=2)
            self._update_subtitle()
            return
        here = self._line_at(self.cursor_row)
        if here is None:
            here = matches[0]
        if forward:
            i = bisect_left(matches, here) if include_cursor else bisect_right(matches, here)
            wrapped = i >= len(matches)
            target = matches[0 if wrapped else i]
        else:
            i = bisect_left(matches, here) - 1
            wrapped = i < 0
            target = matches[-1 if wrapped else i]
        if wrapped:
            self.notify("search wrapped", timeout=2)
        self._current = target
        self._cursor_line = target
        self._stick = self._buf.row_of(target) >= self._buf.row_count - 1
        self._view.clear_cache()
        self._show_cursor(centre=True)
        self._view.refresh()
        self._update_subtitle()

    def action_toggle_filter(self) -> None:
        on = not self._buf.filter
        self._regroup(lambda: self._buf.set_filter(on))
        if on and self._buf.pattern is None:
            self._open_box()

    def action_cycle_context(self) -> None:
        steps = CONTEXT_STEPS
        now = self._buf.context
        nxt = steps[(steps.index(now) + 1) % len(steps)] if now in steps else steps[0]
        self._regroup(lambda: self._buf.set_filter(self._buf.filter, nxt))
        if not self._buf.filter:
            self.notify(f"Context {nxt} (used in filter mode: &)", timeout=2)

    def action_toggle_timestamps(self) -> None:
        """Show or hide each line's leading timestamp (display only: search,
        copy and the merged order still use the whole line)."""
        self.show_timestamps = not self.show_timestamps
        self._view.clear_cache()
        self._view.refresh()
        self.notify("Timestamps shown" if self.show_timestamps else "Timestamps hidden", timeout=2)

    def action_copy_line(self) -> None:
        text = self.cursor_text
        if text is None:
            self.notify("Nothing to copy", severity="warning", timeout=2)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied line ({len(text)} chars) to the clipboard", timeout=2)

    def action_line_down(self) -> None:
        self.move_cursor_to_row(self.cursor_row + 1)

    def action_line_up(self) -> None:
        row = self.cursor_row - 1
        if row >= 0 and self._buf.row_count and self._buf.row(row) < 0:
            row -= 1  # step over a separator
        self.move_cursor_to_row(max(0, row))

    def action_first_line(self) -> None:
        self.move_cursor_to_row(0)

    def action_last_line(self) -> None:
        self.move_cursor_to_row(self._buf.row_count - 1)
        self._view.scroll_end(animate=False, immediate=True, force=True, x_axis=False)

    def action_page_down(self) -> None:
        self.move_cursor_to_row(self.cursor_row + self._page())

    def action_page_up(self) -> None:
        self.move_cursor_to_row(self.cursor_row - self._page())

    def _page(self) -> int:
        return max(1, self._view.scrollable_content_region.height - 1)

    def action_scroll_left(self) -> None:
        self._view.scroll_left(animate=False)

    def action_scroll_right(self) -> None:
        self._view.scroll_right(animate=False)

    def action_close(self) -> None:
        if self.search_text:
            self.search("")
            self._close_box()
        elif self._buf.filter:
            self._regroup(lambda: self._buf.set_filter(False))
            self._close_box()
        elif self.search_open:
            self._close_box()
        self.refresh_bindings()
