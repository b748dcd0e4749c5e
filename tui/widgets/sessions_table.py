"""SessionsTable: the main table, kept in sync with the inventory by row key.

The rows it shows, their order and marks are its model's
(:mod:`tui.widgets.session_rows`); the cells and columns are in
:mod:`tui.widgets.session_cells`; this widget writes them into the DataTable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from core.model import Session, SessionRef, SizeInfo
from core.query import QueryError
from tui.theme_style import theme_style
from tui.widgets.session_cells import (
    CHUNK,
    COLUMNS,
    FIELDS,
    FILTER_BINDING,
    FIRST_SCREEN,
    MARK,
    SORTABLE,
    TIME_COLUMNS,
    WIDE,
    CellMaker,
    ColumnChoice,
    SortText,
    TimeCell,
    column_label,
    column_widths,
    ref_key,
    stats_cell,
    time_texts,
    visible_columns,
)
from tui.widgets.session_rows import SessionRows
from tui.widgets.vim_table import TypeaheadTable

__all__ = ["COLUMNS", "FIRST_SCREEN", "MARK", "SessionsTable", "SortText", "TimeCell"]


class _ModelView(TypeaheadTable[Text | TimeCell]):
    """The sessions table's model (:class:`SessionRows`), read through the
    table: what its owner and the tests look at."""

    model: SessionRows

    @property
    def sessions(self) -> dict[str, Session]:
        return self.model.sessions

    @property
    def shown(self) -> dict[str, Session]:
        return self.model.shown

    @property
    def marked(self) -> set[str]:
        return self.model.marked

    @property
    def filter_text(self) -> str:
        return self.model.filter_text

    @property
    def sort_column(self) -> str:
        return self.model.sort_column

    @property
    def sort_reverse(self) -> bool:
        return self.model.sort_reverse

    @property
    def grouped(self) -> bool:
        return self.model.grouped


class SessionsTable(_ModelView):
    """Every session of every backend, one row each, keyed by ``backend:id``.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Move |
    | home/end, g/G | First / last row |
    """

    typeahead_binding = FILTER_BINDING

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.clock = clock
        self.model = SessionRows(clock)
        # backends that measure sizes; the others show "-" instead of "pending"
        self.sized_backends: set[str] = set()
        self.ttl_column = False  # shown only when a configured backend has TTLs
        self.stats_column = False  # live stats (the dashboard's S)
        self.stats_texts: dict[str, str] = {}  # row key -> the stats text shown
        self.wide = False
        self.choice = ColumnChoice()  # the column chooser's order and hidden columns
        self._group_heads: dict[str, bool] = {}  # the first row of each backend
        self._rendered_heads: dict[str, bool] = {}  # what each backend cell shows
        self.maker = CellMaker(
            self, lambda _theme, var, bold: theme_style(self.app, var, bold=bold)
        )
        self._pending: list[str] = []  # row keys of a big first load still to add
        # the time texts of the rows on screen when last drawn (see tick)
        self._drawn_times: list[tuple[tuple[str, str], ...]] = []

    def on_mount(self) -> None:
        self._build_columns()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """A new theme: the cells coloured from it (states, selected names) are
        written again; time cells take their colours when drawn."""
        columns = {str(k.value) for k in self.columns}
        if not self.shown or "name" not in columns:
            return
        state = "state" in columns  # (the column chooser may hide it)
        for key, s in self.shown.items():
            if not state and key not in self.marked:
                continue
            cells = self._cells(s)
            if state:
                self.update_cell(key, "state", cells["state"])
            if key in self.marked:
                self.update_cell(key, "name", cells["name"])

    def on_resize(self) -> None:
        if (self.size.width >= WIDE) != self.wide:
            self._build_columns()  # a layout change, not a data refresh
        self._fit_columns()

    def _visible_columns(self) -> tuple[tuple[str, str], ...]:
        return visible_columns(
            wide=self.wide, ttl=self.ttl_column, stats=self.stats_column, choice=self.choice
        )

    def set_columns(self, choice: ColumnChoice) -> None:
        """Show the columns of ``choice`` in its order (a layout change: columns
        are rebuilt).  Sorted by a column it hides, the table falls back to
        the default sort (newest first; by name when Age is hidden too)."""
        if choice == self.choice:
            return
        self.choice = choice
        if not choice.shown(self.sort_column):
            self.model.set_sort("age" if choice.shown("age") else "name", False)
        if self.is_mounted:
            self._build_columns()

    def _build_columns(self) -> None:
        selected = self.selected
        self.wide = self.size.width >= WIDE
        self.clear(columns=True)
        self.model.shown = {}
        for key, _ in self._visible_columns():
            self.add_column(column_label(key, self.sort_column, self.sort_reverse), key=key)
        self._fit_columns()
        if self.sessions:
            self._apply()
        if selected is not None and ref_key(selected.ref) in self.shown:
            self.move_cursor(row=self.get_row_index(ref_key(selected.ref)), animate=False)

    def _relabel(self) -> None:
        for key, col in self.columns.items():
            col.label = Text(column_label(str(key.value), self.sort_column, self.sort_reverse))
        self.notify_style_update()  # drops the drawn header: the new labels show

    def _fit_columns(self) -> None:
        if not self.columns:
            return
        widths = column_widths(
            self.size.width,
            wide=self.wide,
            ttl=self.ttl_column,
            stats=self.stats_column,
            choice=self.choice,
        )
        for key, col in self.columns.items():
            col.auto_width = False
            col.width = widths[str(key.value)]
        self.refresh()

    # -- data ---------------------------------------------------------------

    @property
    def selected(self) -> Session | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - cursor outside the rows while they change
            return None
        return self.shown.get(str(key.value))

    def _cells(self, s: Session) -> dict[str, Text | TimeCell]:
        key = ref_key(s.ref)
        head = not self.grouped or self._group_heads.get(key, True)
        self._rendered_heads[key] = head
        self.maker.theme = self.app.theme
        stats = self.stats_texts.get(key, "…")
        sized = s.backend in self.sized_backends
        return self.maker.cells(s, marked=key in self.marked, head=head, sized=sized, stats=stats)

    def show_stats_column(self, show: bool) -> None:
        """Show or hide the live stats column (a layout change: columns are rebuilt)."""
        if show != self.stats_column:
            self.stats_column = show
            if not show:
                self.stats_texts = {}
            if self.is_mounted:
                self._build_columns()

    def set_stats(self, texts: Mapping[str, str]) -> None:
        """Show stats texts by row key; a text equal to the one shown writes nothing."""
        for key, text in texts.items():
            if self.stats_texts.get(key) == text:
                continue
            self.stats_texts[key] = text
            if self.stats_column and key in self.shown:
                self.update_cell(key, "stats", stats_cell(text))

    def time_text(self, column: str, when: datetime | None, now: datetime) -> Text:
        """What a time cell shows at ``now`` (see :meth:`CellMaker.time_text`)."""
        self.maker.theme = self.app.theme
        return self.maker.time_text(column, when, now)

    def show_ttl_column(self, show: bool) -> None:
        """Show or hide the TTL column (a layout change: columns are rebuilt)."""
        if show != self.ttl_column:
            self.ttl_column = show
            if self.is_mounted:
                self._build_columns()

    def visible_keys(self) -> list[str]:
        """The row keys on screen, top to bottom."""
        top = round(self.scroll_y)
        height = max(0, self.scrollable_content_region.height - self.header_height)
        return [str(r.key.value) for r in self.ordered_rows[top : top + height]]

    def tick(self) -> bool:
        """Bring the time cells (age, active, TTL) up to the clock.

        Only the rows on screen are looked at, and redrawn only when one of
        their texts changed (most "3d" stay "3d"); no cell is written, since
        time cells work their text out when drawn.  True when redrawn."""
        shown_columns = {str(k.value) for k in self.columns}
        columns = [c for c in TIME_COLUMNS if c in shown_columns]
        if not columns:
            return False
        rows = [s for k in self.visible_keys() if (s := self.shown.get(k)) is not None]
        texts = time_texts(self.time_text, columns, rows, self.clock())
        if texts == self._drawn_times:
            return False
        self._drawn_times = texts
        # DataTable caches drawn lines under its update count, which only cell
        # writes move (and each move rebuilds its row offsets over every row):
        # dropping the render caches redraws just the lines on screen.
        self.notify_style_update()
        return True

    def sync(self, sessions: Sequence[Session]) -> None:
        """Make the rows match ``sessions`` (after the filter) by row key.

        Unchanged rows are untouched, changed cells are updated in place, and
        the cursor stays on the same session when rows come and go.
        """
        self.model.merge(sessions)
        self._apply()

    def set_filter(self, text: str) -> QueryError | None:
        """Filter the rows with a query (see core.query).  A query that does not
        parse (half typed, or wrong) keeps the last good one in force and is
        returned, so the caller can show where it went wrong."""
        error = self.model.set_filter(text)
        if error is None:
            self._apply()
        return error

    def update_sizes(self, sizes: Iterable[tuple[SessionRef, SizeInfo]]) -> None:
        """Show measured sizes; a size equal to the one shown changes nothing."""
        changed: list[Session] = []
        for ref, size in sizes:
            key = ref_key(ref)
            s = self.sessions.get(key)
            if s is None or s.size == size:
                continue
            s = s.with_size(size)
            self.model.sessions[key] = s
            changed.append(s)
        if changed:
            self._apply(only=changed)

    def _apply(self, only: Sequence[Session] | None = None, restyle: Collection[str] = ()) -> None:
        """Make the rows match ``self.sessions`` (or just the sessions ``only``).

        Nothing changed, nothing done: a row whose session is unchanged keeps
        its cells, a changed one gets only the cells whose fields changed (and
        its name cell when its key is in ``restyle``), and rows are re-sorted
        only when a row came or a field the order depends on changed."""
        now = self.clock()
        selected = self.selected
        columns = [c for c, _ in self._visible_columns()]
        gone, targets = self.model.changes(only, restyle, now)
        if not gone and not targets:
            return
        for key in gone:
            self._drop_row(key)
        added = {ref_key(s.ref): s for s in targets if ref_key(s.ref) not in self.shown}
        if added:
            order = self.model.ordered_keys({**self.shown, **added})
            # new rows are drawn right the first time: no second pass over 10k cells
            self._group_heads = self.model.heads(order) if self.grouped else {}
            if not self.shown and len(order) > FIRST_SCREEN:
                # a big first load: the first screenful now, in order, the rest
                # in chunks after the screen has been drawn
                self._pending = order[FIRST_SCREEN:]
                self._add_rows(order[:FIRST_SCREEN], columns)
                self.call_after_refresh(self._add_pending)
                return
        resort = bool(added)
        order_fields = {FIELDS[self.sort_column], "created"}
        for s in targets:
            key = ref_key(s.ref)
            prev = self.shown.get(key)
            if prev is None:
                cells = self._cells(s)
                self.add_row(*(cells[c] for c in columns), key=key)
            else:
                fields = self.model.changed_fields(prev, s)
                dirty = [c for c in columns if FIELDS.get(c) in fields]
                if key in restyle and "name" not in dirty:
                    dirty.append("name")
                if dirty:
                    cells = self._cells(s)
                    for col in dirty:
                        self.update_cell(key, col, cells[col])
                resort = resort or bool(fields & order_fields)
            self.shown[key] = s
        if resort:
            self._reorder()
        elif gone:
            self._mark_group_heads(self._row_keys())  # a group may have lost its first row
        if selected is not None and ref_key(selected.ref) in self.shown:
            row = self.get_row_index(ref_key(selected.ref))
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)

    def _row_keys(self) -> list[str]:
        """The row keys in the order the table shows them now (no sort)."""
        return [str(r.key.value) for r in self.ordered_rows]

    def _drop_row(self, key: str) -> None:
        self.remove_row(key)
        del self.shown[key]
        self._rendered_heads.pop(key, None)

    def _add_rows(self, keys: Sequence[str], columns: Sequence[str]) -> None:
        """Append rows in the given order (they sort after the rows there)."""
        for key in keys:
            s = self.sessions[key]
            cells = self._cells(s)
            self.add_row(*(cells[c] for c in columns), key=key)
            self.shown[key] = s

    def _add_pending(self) -> None:
        """The next chunk of a big first load, until all rows are in."""
        chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
        now = self.clock()
        # a refresh or a filter in between may have added or dropped some
        keys = [
            k
            for k in chunk
            if k in self.sessions
            and k not in self.shown
            and self.model.matches(self.sessions[k], now)
        ]
        self._add_rows(keys, [c for c, _ in self._visible_columns()])
        if self._pending:
            self.call_after_refresh(self._add_pending)
        else:
            self._reorder()  # in case anything arrived out of order meanwhile

    @property
    def loading_rows(self) -> bool:
        """True while a big first load is still adding rows."""
        return bool(self._pending)

    # -- order ----------------------------------------------------------------

    def _reorder(self) -> None:
        keys = self.model.ordered_keys()
        if self._row_keys() != keys:
            selected = self.selected
            rank = {k: i for i, k in enumerate(keys)}
            self.sort("name", key=lambda cell: rank[cell.key])
            if selected is not None:  # the cursor stays on its session, not its row
                key = ref_key(selected.ref)
                if key in rank and rank[key] != self.cursor_row:
                    self.move_cursor(row=rank[key], animate=False)
        self._mark_group_heads(keys)

    def _mark_group_heads(self, keys: Sequence[str]) -> None:
        """When grouped, only the first row of each backend shows its name bright."""
        self._group_heads = self.model.heads(keys) if self.grouped else {}
        if "backend" not in {str(c.value) for c in self.columns}:
            return
        for k in keys:
            head = not self.grouped or self._group_heads[k]
            if self._rendered_heads.get(k) != head:
                s = self.shown[k]
                self.update_cell(
                    k, "backend", SortText(s.backend, s.backend, style="" if head else "dim")
                )
                self._rendered_heads[k] = head

    def set_sort(self, column: str, *, reverse: bool | None = None) -> None:
        """Sort by ``column`` (a key of COLUMNS); ``reverse`` None keeps the direction."""
        self.model.set_sort(column, reverse)
        self._relabel()
        self._reorder()

    def cycle_sort(self, step: int) -> str:
        """Sort by the next (``step`` 1) or previous (-1) visible column."""
        cols = [k for k, _ in self._visible_columns() if k in SORTABLE]
        at = cols.index(self.sort_column) if self.sort_column in cols else 0
        self.set_sort(cols[(at + step) % len(cols)])
        return self.sort_column

    def toggle_reverse(self) -> None:
        self.set_sort(self.sort_column, reverse=not self.sort_reverse)

    def set_grouped(self, grouped: bool) -> None:
        self.model.grouped = grouped
        self._reorder()  # the order changes, and which backend cells are dim

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click inverts."""
        event.stop()
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.toggle_reverse()
        else:
            self.set_sort(column, reverse=False)

    # -- multi-select ----------------------------------------------------------

    def _restyle(self, keys: Iterable[str]) -> None:
        """Redraw the name cell of these rows (marked or not)."""
        shown = [k for k in keys if k in self.shown]
        if shown:
            self._apply(only=[self.shown[k] for k in shown], restyle=set(shown))

    def toggle_mark(self, session: Session) -> bool:
        """Mark or unmark one session; True when it is now marked."""
        key = ref_key(session.ref)
        marked = self.model.toggle_mark(key)
        self._restyle([key])
        return marked

    def mark_all_shown(self) -> int:
        """Mark every row shown; when all are marked already, unmark them.
        Returns how many are marked afterwards."""
        self._restyle(self.model.mark_all_shown())
        return len(self.marked)

    def clear_marks(self) -> None:
        keys, self.model.marked = self.marked, set()
        self._restyle(keys)
