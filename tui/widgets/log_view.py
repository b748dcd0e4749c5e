"""LogView: draws a :class:`LogBuffer`'s rows (Textual's line API) and keeps
the cursor: the line it is on, or following the end.

With wrap off a row is one screen line (cut at the right; left/right scroll).
With wrap on a row takes as many screen lines as its text needs at the view's
width, broken between words where it can; each continuation starts with
:data:`MARK` (after the label column, if any), so one line never looks like two.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.logmerge import timestamp_length
from tui.theme_style import theme_style
from tui.widgets.log_buffer import BAR, MAX_SPANS, LogBuffer, SourceStyle, fit_label

MARK = "↳ "
"""What starts a wrapped line's continuation rows."""


def _fit(text: str, pos: int, cells: int) -> int:
    """The end of the longest run of ``text`` from ``pos`` that fits in
    ``cells`` columns (at least one character)."""
    if text.isascii():
        return min(len(text), pos + max(1, cells))
    used, i, n = 0, pos, len(text)
    while i < n:
        used += get_character_cell_size(text[i])
        if used > cells:
            break
        i += 1
    return max(i, pos + 1) if pos < n else n


def wrap_points(text: str, first: int, rest: int) -> tuple[int, ...]:
    """Where ``text`` breaks into rows ``first`` columns wide, then ``rest``:
    the start of every row after the first.  A break comes after the last
    space that fits (a space just past the edge may end the row and is cut
    off); a word longer than a row is cut."""
    points: list[int] = []
    pos, cells, n = 0, first, len(text)
    while True:
        end = _fit(text, pos, cells)
        if end >= n:
            return tuple(points)
        space = text.rfind(" ", pos + 1, end + 1)
        pos = space + 1 if space > pos else end
        points.append(pos)
        cells = rest


LOG_VIEW_CSS = """
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
    & > .log-view--wrap-mark { color: $foreground-muted; }
    &.-wrap { overflow-x: hidden; }
}
"""


class LogView(ScrollView, can_focus=False):
    """Draws the rows of a :class:`LogBuffer` (one Strip per visible row).

    Not focusable itself: the pane around it takes focus and owns the keys;
    ``focused()`` says whether the pane has it (the cursor shows only then).
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--cursor",
        "log-view--separator",
        "log-view--placeholder",
        "log-view--label-bar",
        "log-view--wrap-mark",
    }

    DEFAULT_CSS = LOG_VIEW_CSS

    def __init__(self, buf: LogBuffer, focused: Callable[[], bool]) -> None:
        super().__init__()
        self.buf = buf
        self.focused = focused
        self.placeholder = ""
        """Shown (dim) when there are no rows: a message, or why a filter shows nothing."""
        self.search_text = ""  # the search in force (for "no lines match ...")
        self.show_timestamps = True  # t: the timestamp at the start of each line shown
        self.sources: dict[str, SourceStyle] = {}
        self.label_width = 0
        """The label column's width: a line of a source in :attr:`sources` shows
        its label fitted to it, then the bar, then its text (drawn, never stored)."""
        self.cursor_line: int | None = None  # a line number; None: at the end
        self.stick = True  # the cursor stays on the last row as lines arrive
        self.current: int | None = None  # the match n/N last went to
        self.wrap = False  # w: long lines wrap at the view's width
        self._cache: LRUCache[tuple[int, bool, bool], list[Strip]] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._wrap_width = 0  # the width the row heights below were worked out for
        self._points: dict[int, tuple[int, ...]] = {}  # wrap: a line's row breaks
        self._tops: list[int] | None = None  # wrap: each row's first screen line, then the total

    # -- drawing ------------------------------------------------------------------

    def clear_cache(self) -> None:
        self._cache.clear()
        self._styles.clear()

    def set_wrap(self, on: bool) -> None:
        """Wrap long lines (or cut them); the cursor stays on its line."""
        self.wrap = on
        self.set_class(on, "-wrap")
        self.scroll_to(x=0, animate=False, immediate=True, force=True)
        self.relayout()

    def relayout(self) -> None:
        """What a line shows changed (timestamps, wrap): work out the rows again."""
        self._points.clear()
        self.clear_cache()
        self.changed(scroll="end" if self.stick else "cursor")

    def prefix(self, n: int) -> str:
        """The label and bar drawn before line index ``n`` ("" without a source)."""
        source = self.buf.source[n]
        style = self.sources.get(source) if source is not None else None
        return "" if style is None else fit_label(style.label, self.label_width) + BAR

    def _shown(self, n: int) -> tuple[str, int]:
        """Line index ``n``'s text as drawn and where its own text starts."""
        buf = self.buf
        prefix = self.prefix(n)
        shown = prefix + buf.texts[n]
        start = len(prefix) + buf.starts[n]
        if not self.show_timestamps:
            cut = timestamp_length(shown[start:])
            if cut:
                shown = shown[:start] + shown[start + cut :]
        return shown, start

    def _breaks(self, line: int) -> tuple[int, ...]:
        """Wrap: where ``line``'s drawn text breaks into rows (offsets in it)."""
        points = self._points.get(line)
        if points is None:
            shown, start = self._shown(line - self.buf.dropped)
            width = self._wrap_width
            rest = max(1, width - start - cell_len(MARK))
            own = wrap_points(shown[start:], max(1, width - start), rest)
            points = tuple(start + p for p in own)
            self._points[line] = points
        return points

    def _layout(self) -> None:
        """Wrap: each row's height at the view's width (one per row when off)."""
        if not self.wrap:
            self._tops = None
            return
        width = max(1, self.scrollable_content_region.width)
        if width != self._wrap_width:
            self._wrap_width = width
            self._points.clear()
            self._cache.clear()
        buf = self.buf
        if len(self._points) > 2 * buf.max_lines:  # lines dropped off the top
            self._points = {k: v for k, v in self._points.items() if k >= buf.dropped}
        tops, y, row, breaks = [0], 0, buf.row, self._breaks
        for i in range(buf.row_count):
            line = row(i)
            y += 1 if line < 0 else len(breaks(line)) + 1
            tops.append(y)
        self._tops = tops

    def row_at(self, y: int) -> int:
        """The row drawn on screen line ``y`` of the content (past the end: row_count)."""
        tops = self._tops
        if tops is None:
            return y
        return bisect_right(tops, y) - 1 if y < tops[-1] else len(tops) - 1

    def y_of(self, row: int) -> int:
        """The first screen line (of the content) that ``row`` is drawn on."""
        tops = self._tops
        return row if tops is None else tops[max(0, min(row, len(tops) - 1))]

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
        buf = self.buf
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        index = self.row_at(scroll_y + y)
        if index >= buf.row_count:
            if index == 0 and self.placeholder:
                style = base + self.get_component_rich_style("log-view--placeholder")
                return Strip([Segment(self.placeholder, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        part = scroll_y + y - self.y_of(index)  # which of a wrapped line's rows
        line = buf.row(index)
        if line < 0:
            style = base + self.get_component_rich_style("log-view--separator")
            return Strip([Segment("╌" * width, style)], width)
        cursor = index == self.cursor_row and self.focused()
        current = line == self.current
        strips = self._cache.get((line, cursor, current))
        if strips is None:
            strips = self._render_text(line, base, cursor, current)
            self._cache[(line, cursor, current)] = strips
        fill = base + self.get_component_rich_style("log-view--cursor") if cursor else base
        strip = strips[min(part, len(strips) - 1)]
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _render_text(self, line: int, base: Style, cursor: bool, current: bool) -> list[Strip]:
        """The line's strips: one, or (wrap on) one per row it takes."""
        buf = self.buf
        n = line - buf.dropped
        shown, start = self._shown(n)
        style = base + self.get_component_rich_style("log-view--cursor") if cursor else base
        text = Text(shown, style=style, no_wrap=True, end="")
        source = buf.source[n]
        labelled = False
        if start and source is not None and source in self.sources:
            labelled = True
            label_end = start - len(BAR)
            if cursor:  # the cursor's colours win: a label could match its background
                text.stylize(Style(bold=True), 0, label_end)
            else:
                colour = self._theme(self.sources[source].colour, bold=True)
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
                if i >= MAX_SPANS:
                    break
                if m.end() > m.start():
                    text.stylize(hit, start + m.start(), start + m.end())
        console = self.app.console
        points = self._breaks(line) if self.wrap else ()
        if not points:
            # Text.render leaves a line without spans unstyled: no colours at all,
            # which a terminal draws in its own default colours (dark patches in a
            # light theme); the pane's colours go under every segment
            return [Strip(Segment.apply_style(text.render(console), style), cell_len(shown))]
        # the continuations: the label column left blank (its bar kept), then the mark
        lead = Text(" " * (start - len(BAR)), style=style, end="") if start else Text(end="")
        if start:
            bar_style = (
                style
                if cursor or not labelled
                else style + self.get_component_rich_style("log-view--label-bar")
            )
            lead.append(BAR, bar_style)
        mark = style if cursor else style + self.get_component_rich_style("log-view--wrap-mark")
        lead.append(MARK, mark)
        strips = []
        for i, piece in enumerate(text.divide(points)):
            row = Text.assemble(lead, piece, end="", no_wrap=True) if i else piece
            segments = Segment.apply_style(row.render(console), style)
            strips.append(Strip(segments, row.cell_len))
        return strips

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap and self.scrollable_content_region.width != self._wrap_width:
            self.changed()  # the rows' heights change with the width
        self.settle()

    async def on_click(self, event: events.Click) -> None:
        row = self.row_at(self.scroll_offset.y + event.y)
        if 0 <= row < self.buf.row_count:
            self.move_cursor_to_row(row)

    # -- the cursor ---------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The row the cursor is on (the last row while it follows the end)."""
        count = self.buf.row_count
        if self.stick or self.cursor_line is None:
            return max(0, count - 1)
        return self.buf.row_of(self.cursor_line)

    def line_at(self, row: int) -> int | None:
        buf = self.buf
        if not 0 <= row < buf.row_count:
            return None
        line = buf.row(row)
        if line >= 0:
            return line
        # a separator: the line after it
        return buf.row(row + 1) if row + 1 < buf.row_count else None

    def settle(self) -> None:
        """After a layout change: keep following the end, or keep the cursor in view."""
        if self.stick:
            self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
        else:
            self.show_cursor()

    def _settle_end(self) -> None:
        if self.stick:
            self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)

    def show_cursor(self, *, centre: bool = False) -> None:
        height = max(1, self.scrollable_content_region.height)
        row = self.cursor_row
        first, last = self.y_of(row), self.y_of(row + 1) - 1
        top = round(self.scroll_y)
        if top <= first and last < top + height:
            return
        if centre:
            target = first - height // 2
        elif first < top or last - first >= height:
            target = first  # a wrapped line taller than the view: its start
        else:
            target = last - height + 1
        self.scroll_to(y=max(0, target), animate=False, immediate=True, force=True)

    def move_cursor_to_row(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped); on the last row it follows the end."""
        buf = self.buf
        count = buf.row_count
        if count == 0:
            return
        row = max(0, min(row, count - 1))
        line = self.line_at(row)
        if buf.row(row) < 0:  # never rest on a separator
            row += 1
        self.stick = row >= count - 1
        self.cursor_line = line
        self.show_cursor()
        self.refresh()

    @property
    def match_position(self) -> int | None:
        """1-based index of the current match (where n/N went), or None."""
        cur = self.current
        if cur is None:
            return None
        matches = self.buf.matches
        i = bisect_left(matches, cur)
        if i < len(matches) and matches[i] == cur:
            return i + 1
        return None

    def jump(self, *, forward: bool, include_cursor: bool = False) -> bool | None:
        """Move to the next (or previous) match; True when it wrapped around,
        None when there is no match."""
        matches = self.buf.matches
        if not matches:
            return None
        here = self.line_at(self.cursor_row)
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
        self.current = target
        self.cursor_line = target
        self.stick = self.buf.row_of(target) >= self.buf.row_count - 1
        self.clear_cache()
        self.show_cursor(centre=True)
        self.refresh()
        return wrapped

    # -- the rows -------------------------------------------------------------------

    def reset(self) -> None:
        """No lines: the cursor follows the end again."""
        self.placeholder = ""
        self.cursor_line = None
        self.stick = True
        self.current = None

    def append(self, items: Iterable[tuple[str, int, str, bool, str | None]]) -> bool:
        """Add lines to the buffer and show them; True when the row count
        changed or a search is on (the pane's subtitle may change)."""
        buf = self.buf
        was_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
        y = round(self.scroll_y)
        row = self.row_at(y)
        top = self.line_at(row)  # kept on top unless following
        part = y - self.y_of(row) if self.wrap and row < buf.row_count else 0  # its row on top
        before, end = buf.row_count, buf.end
        buf.append(items)
        if buf.end != end:
            self.placeholder = ""  # a message stands in for lines until some come
        if self.current is not None and self.current < buf.dropped:
            self.current = None
        if self.stick and was_end:
            self.changed(scroll="end")
        else:
            self.changed(scroll=top)
            if part and top is not None and buf.row(buf.row_of(top)) == top:
                y = self.y_of(buf.row_of(top)) + part
                self.scroll_to(y=y, animate=False, immediate=True, force=True)
        return buf.row_count != before or buf.pattern is not None

    def changed(self, *, scroll: str | int | None = None) -> None:
        """The rows changed: size the view, scroll, redraw.

        ``scroll``: "end", "cursor" (centre it if out of view), a line number to
        keep at the top, or None (leave the offset).
        """
        buf = self.buf
        if not self.stick and self.cursor_line is not None and self.cursor_line < buf.dropped:
            self.cursor_line = buf.dropped
        self._layout()
        if self._tops is None:
            labels = self.label_width + len(BAR) if self.sources else 0
            self.virtual_size = Size(buf.width + labels, buf.row_count)
        else:
            self.virtual_size = Size(self._wrap_width, self._tops[-1])
        if buf.row_count == 0 and buf.filter and buf.pattern is not None:
            self.placeholder = f"no lines match {self.search_text!r}"
        elif self.placeholder.startswith("no lines match"):
            self.placeholder = ""
        if scroll == "end":
            self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
            # once more after the layout, which may add a scrollbar
            self.call_after_refresh(self._settle_end)
        elif scroll == "cursor":
            self.show_cursor(centre=True)
        elif isinstance(scroll, int):
            y = self.y_of(buf.row_of(scroll))
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        self.refresh()
