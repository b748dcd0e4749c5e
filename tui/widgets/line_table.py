"""LineTable: a keyed table drawn with Textual's line API.

It stores no cells.  A row is a key; the widget keeps the keys in order,
the cursor and the columns, and asks :meth:`LineTable.row_cells` for the
cells of the rows it draws, the rows on screen only.  A drawn row is kept
(per key) until :meth:`LineTable.redraw_rows` or :meth:`LineTable.redraw`
drops it, so scrolling back costs nothing and a row that did not change is
never drawn twice; :meth:`LineTable.update_cells` changes a few cells of a
kept row (a clock's tick) without drawing the rest of it.

Why not DataTable: it holds a Rich object per cell and works out every
row's height and offset over all rows on each change; 100,000 rows cost
seconds and hundreds of MB, and a cell written anywhere makes it walk them
all again.  Here a change costs what is on screen.

| Key | Action |
| :- | :- |
| up/down, j/k | Move |
| pageup/pagedown | A page up / down |
| home/end, g/G | First / last row |
| enter | Select the row |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PADDING = 1
"""Blank cells on each side of a column's text (as DataTable draws them)."""

LINE_TABLE_CSS = """
LineTable {
    background: $surface;
    color: $foreground;
    overflow-x: hidden;
    overflow-y: auto;
    &:focus { background-tint: $foreground 5%; }
    & > .line-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    &:focus > .line-table--header { background-tint: $foreground 5%; }
    &:ansi > .line-table--header {
        background: ansi_bright_blue;
        color: ansi_default;
    }
    & > .line-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    &:focus > .line-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
}
"""


VIM_KEYS: list[BindingType] = [
    # as in less and vim, with their own ids (a keymap can move them alone);
    # every table of the app has them
    Binding("j", "cursor_down", "Cursor down", show=False, id="table.down"),
    Binding("k", "cursor_up", "Cursor up", show=False, id="table.up"),
    Binding("g", "scroll_top", "Top", show=False, id="table.top"),
    Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
]


@dataclass(slots=True, frozen=True)
class _Drawn:
    """A drawn row: its segments per column, the styles they were drawn in,
    and the line they make."""

    parts: list[list[Segment]]
    style: Style
    post: Style | None
    strip: Strip


@dataclass(slots=True)
class Column:
    """A column: its key, its header and its width (text cells, padding apart)."""

    key: str
    label: Text
    width: int


class LineTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows by key, drawn on demand; a row cursor; a header that stays put."""

    DEFAULT_CSS = LINE_TABLE_CSS

    COMPONENT_CLASSES: ClassVar[set[str]] = {"line-table--header", "line-table--cursor"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
        *VIM_KEYS,
    ]

    class RowHighlighted(Message):
        """The cursor is on another row (or the row under it changed)."""

        def __init__(self, table: LineTable, cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> LineTable:
            return self.table

    class RowSelected(RowHighlighted):
        """Enter, or a click on the row the cursor is on."""

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: LineTable, column_key: str) -> None:
            super().__init__()
            self.table = table
            self.column_key = column_key

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.columns: dict[str, Column] = {}
        self._widths: list[int] = []  # the columns' widths, in order
        self._column_at: dict[str, int] = {}  # column key -> its place
        self._starts: list[int] = [0]  # where each column starts, then the line's end
        self._order: list[str] = []
        self._index: dict[str, int] | None = {}  # key -> row, rebuilt when asked after a change
        self.cursor_row = 0
        self._highlighted: tuple[int, str | None] = (-1, None)  # what RowHighlighted last said
        self._lines: LRUCache[tuple[str, bool], _Drawn] = LRUCache(512)
        self._header: Strip | None = None
        self._base: Style | None = None  # the widget's own style (rich_style), kept
        self._styles: dict[tuple[str | Style, Style, Style | None], Style] = {}

    # -- what a subclass gives ---------------------------------------------------

    def row_cells(self, key: str) -> Sequence[Text]:
        """The cells of row ``key``, one per column in order (drawn now)."""
        raise NotImplementedError

    # -- rows ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def row_keys(self) -> Sequence[str]:
        """The row keys, top to bottom."""
        return self._order

    def get_row_index(self, key: str) -> int:
        """The row of ``key`` (KeyError when it is not shown)."""
        row = self._index_of(key)
        if row < 0:
            raise KeyError(key)
        return row

    def has_row(self, key: str) -> bool:
        return self._index_of(key) >= 0

    def _index_of(self, key: str) -> int:
        """The row of ``key``, -1 when it is not shown."""
        index = self._index
        if index is None:
            index = self._index = {k: i for i, k in enumerate(self._order)}
        return index.get(key, -1)

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def set_rows(self, keys: list[str], *, follow: str | None = None) -> None:
        """Show these rows in this order.  The cursor stays on the key ``follow``
        when given and still shown, else on its row (within the rows)."""
        self._order = keys
        self._index = None
        row = self.cursor_row
        if follow is not None and self.has_row(follow):
            row = self.get_row_index(follow)
        self.virtual_size = Size(self._total_width(), len(keys) + 1)
        self._move(row, scroll=row != self.cursor_row)
        self.refresh()

    def redraw_rows(self, keys: Iterable[str]) -> None:
        """Draw these rows again when next shown (their cells changed)."""
        lines = self._lines
        shown = self.visible_range()
        for key in keys:
            for cursor in (False, True):
                lines.discard((key, cursor))
            row = self._index_of(key)
            if row in shown:
                self.refresh_line(row + 1)  # (line 0 is the header)

    def update_cells(self, changes: Mapping[str, Mapping[str, Text]]) -> None:
        """Rows whose ``changes`` are new cells by column key: a kept row gets
        just those cells drawn again, and only their span goes to the screen
        (the rest of the line is neither made nor composed again).  The cells
        are what :meth:`row_cells` would give now: none is kept, and a row
        drawn later is made from :meth:`row_cells`."""
        index = self._column_at
        lines = self._lines
        shown = self.visible_range()
        scroll_x, scroll_y = self.scroll_offset
        starts = self._starts
        spans: list[Region] = []
        for key, cells in changes.items():
            at = [(index[c], cell) for c, cell in cells.items() if c in index]
            if not at:
                continue
            for cursor in (False, True):
                drawn = lines.get((key, cursor))
                if drawn is not None:
                    parts = drawn.parts.copy()
                    for i, cell in at:
                        parts[i] = self._cell(cell, i, drawn.style, drawn.post)
                    # (textual's LRUCache.set keeps an existing key's value)
                    lines.discard((key, cursor))
                    lines[(key, cursor)] = self._drawn(parts, drawn.style, drawn.post)
            row = self._index_of(key)
            if row in shown:
                first = min(i for i, _ in at)
                last = max(i for i, _ in at)
                x = starts[first] - scroll_x
                spans.append(Region(x, row + 1 - scroll_y, starts[last + 1] - starts[first], 1))
        if spans:
            self.refresh(*spans)  # (one call: Textual works out where the widget is per call)

    def redraw(self) -> None:
        """Draw every row again (a theme, the columns or the clock changed)."""
        self._lines.clear()
        self._header = None
        self._base = None
        self.refresh()

    def visible_range(self) -> range:
        """The rows on screen."""
        top = round(self.scroll_y)
        height = max(0, self.scrollable_content_region.height - 1)
        return range(top, min(top + height, len(self._order)))

    def visible_keys(self) -> list[str]:
        """The row keys on screen, top to bottom."""
        r = self.visible_range()
        return self._order[r.start : r.stop]

    # -- columns -----------------------------------------------------------------------

    def use_columns(self, columns: Sequence[Column]) -> None:
        """Show these columns, in this order."""
        self.columns = {c.key: c for c in columns}
        self._widths = [c.width for c in columns]
        self._column_at = {c.key: i for i, c in enumerate(columns)}
        self._starts = list(accumulate((w + 2 * PADDING for w in self._widths), initial=0))
        self.virtual_size = Size(self._total_width(), len(self._order) + 1)
        self.redraw()

    def _total_width(self) -> int:
        return self._starts[-1]

    # -- drawing -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self._header = None
        self._base = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self._base
        if base is None:
            # worked out over every ancestor (77 µs): once per style change, not per line
            base = self._base = self.rich_style
        if y == 0:
            if self._header is None:
                style = base + self.get_component_rich_style("line-table--header")
                labels = [c.label for c in self.columns.values()]
                self._header = self._drawn(self._parts(labels, style, None), style, None).strip
            return self._header.crop_extend(scroll_x, scroll_x + width, base)
        row = scroll_y + y - 1
        if row >= len(self._order):
            return Strip.blank(width, base)
        key = self._order[row]
        cursor = row == self.cursor_row
        drawn = self._lines.get((key, cursor))
        if drawn is None:
            post = self.get_component_rich_style("line-table--cursor") if cursor else None
            drawn = self._drawn(self._parts(self.row_cells(key), base, post), base, post)
            self._lines[(key, cursor)] = drawn
        fill = base + self.get_component_rich_style("line-table--cursor") if cursor else base
        return drawn.strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _drawn(self, parts: list[list[Segment]], style: Style, post: Style | None) -> _Drawn:
        # neighbours of one style made one segment: a row is a few segments, not
        # three per column, for every step of Textual's drawing after this one
        segments = Segment.simplify(segment for part in parts for segment in part)
        strip = Strip(segments, self._total_width())
        return _Drawn(parts, style, post, strip)

    def _parts(
        self, cells: Iterable[Text], style: Style, post: Style | None
    ) -> list[list[Segment]]:
        """One line's segments, per column (cells past the last column are left out)."""
        return [
            self._cell(cell, i, style, post)
            for i, cell in zip(range(len(self._widths)), cells, strict=False)
        ]

    def _cell(self, cell: Text, i: int, style: Style, post: Style | None) -> list[Segment]:
        """Column ``i``'s segments: the cell cut or padded to its width,
        padding around.  A cell of one style (every cell here) becomes one
        segment, without Rich's text layout; a cell with spans is laid out by
        Rich."""
        width = self._widths[i]
        pad = Segment(" " * PADDING, style + post if post else style)
        if cell.spans:
            text = cell.copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            return [pad, *Segment.apply_style(text.render(self.app.console), style, post), pad]
        plain = cell.plain
        used = cell_len(plain)
        if used > width:
            text = cell.copy()
            text.truncate(width, overflow="ellipsis")
            plain = text.plain
            used = cell_len(plain)
        fitted = Segment(plain + " " * (width - used), self._cell_style(cell, style, post))
        return [pad, fitted, pad]

    def _cell_style(self, cell: Text, style: Style, post: Style | None) -> Style:
        """``style`` (the line's), the cell's own, then ``post`` (the cursor's)."""
        key = (cell.style, style, post)
        got = self._styles.get(key)
        if got is None:
            own = cell.style if isinstance(cell.style, Style) else Style.parse(cell.style or "")
            got = style + own + post if post else style + own
            self._styles[key] = got
        return got

    # -- the cursor ------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """Put the cursor on ``row`` (kept within the rows) and scroll it into view."""
        self._move(row, scroll=True)

    def _move(self, row: int, *, scroll: bool) -> None:
        row = max(0, min(row, len(self._order) - 1))
        if row != self.cursor_row:
            was = self.cursor_row
            self.cursor_row = row
            # just the two lines: the rest of the screen is not composed again
            self.refresh_line(was + 1)
            self.refresh_line(row + 1)
        if scroll:
            self._scroll_to_cursor()
        here = (self.cursor_row, self.cursor_key)
        if here != self._highlighted:
            self._highlighted = here
            self.post_message(self.RowHighlighted(self, *here))

    def _scroll_to_cursor(self) -> None:
        # force: rows that just grew past the screen have no scrollbar yet, and
        # Textual refuses a scroll then (the cursor would be left off screen)
        height = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, force=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page())

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page())

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, self.cursor_key))

    # -- the mouse ---------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            for column in self.columns.values():
                x -= column.width + 2 * PADDING
                if x < 0:
                    self.post_message(self.HeaderSelected(self, column.key))
                    return
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._order):
            if row == self.cursor_row:
                self.action_select_cursor()
            else:
                self.move_cursor(row=row)
