"""SessionsTable: the main table, kept in sync with the inventory by row key.

The rows it shows, their order and marks are its model's
(:mod:`tui.widgets.session_rows`); the cells and columns are in
:mod:`tui.widgets.session_cells`.  It is a line-API table
(:class:`~tui.widgets.line_table.LineTable`): no cell is stored, a row's
cells are made when it is drawn, and only the rows on screen are drawn.  A
change costs what is on screen, whether 10 or 100,000 rows are listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from rich.text import Text

from core.model import Session, SessionRef, SizeInfo
from core.query import QueryError
from tui.theme_style import theme_style
from tui.widgets.line_table import Column
from tui.widgets.session_cells import (
    COLUMNS,
    FIELDS,
    FILTER_BINDING,
    MARK,
    SORTABLE,
    TIME_COLUMNS,
    WIDE,
    CellMaker,
    ColumnChoice,
    SortText,
    TimeSaid,
    column_label,
    column_widths,
    ref_key,
    row_key,
    visible_columns,
)
from tui.widgets.session_rows import SessionRows
from tui.widgets.vim_table import TypeaheadTable

__all__ = ["COLUMNS", "MARK", "SessionsTable", "SortText"]


class _ModelView(TypeaheadTable):
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
    """Every session of every backend, one row each, keyed by ``backend:id``."""

    typeahead_binding = FILTER_BINDING

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.clock = clock
        self.model = SessionRows(clock)
        # backends that measure sizes; the others show "-" instead of "pending"
        self.sized_backends: set[str] = set()
        self.ttl_column = False  # shown only when a configured backend has TTLs
        self.stats_column = False  # live stats (the dashboard's S)
        self.stats_texts: dict[str, str] = {}  # row key -> the stats text shown
        self.wide = False
        self.choice = ColumnChoice()  # the column chooser's order and hidden columns
        self._heads: dict[str, bool] = {}  # grouped: is the row the first of its backend?
        self.maker = CellMaker(lambda _theme, var, bold: theme_style(self.app, var, bold=bold))
        # the time texts of the rows on screen when last drawn (see tick)
        self._drawn_times: dict[str, tuple[TimeSaid, ...]] = {}

    def on_mount(self) -> None:
        self._build_columns()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())

    def on_resize(self) -> None:
        self._build_columns()  # Name (and Info) take the width there is
        super().on_resize()

    def _visible_columns(self) -> tuple[tuple[str, str], ...]:
        return visible_columns(
            wide=self.wide, ttl=self.ttl_column, stats=self.stats_column, choice=self.choice
        )

    def set_columns(self, choice: ColumnChoice) -> None:
        """Show the columns of ``choice`` in its order.  Sorted by a column it
        hides, the table falls back to the default sort (newest first; by
        name when Age is hidden too)."""
        if choice == self.choice:
            return
        self.choice = choice
        if not choice.shown(self.sort_column):
            self.model.set_sort("age" if choice.shown("age") else "name", False)
            self._reorder()
        if self.is_mounted:
            self._build_columns()

    def _build_columns(self) -> None:
        """The columns (and their widths) for the table's width and settings."""
        self.wide = self.size.width >= WIDE
        widths = column_widths(
            self.size.width,
            wide=self.wide,
            ttl=self.ttl_column,
            stats=self.stats_column,
            choice=self.choice,
        )
        sort, reverse = self.sort_column, self.sort_reverse
        self.use_columns(
            [
                Column(key, Text(column_label(key, sort, reverse), no_wrap=True), widths[key])
                for key, _ in self._visible_columns()
            ]
        )

    # -- data ---------------------------------------------------------------

    @property
    def selected(self) -> Session | None:
        key = self.cursor_key
        return None if key is None else self.shown.get(key)

    def row_cells(self, key: str) -> list[Text]:
        s = self.shown[key]
        now = self.clock()
        said = self.maker.times_said(s, now)
        cells = self._cells(s, now, said)
        # what its time cells say as drawn (see tick)
        self._drawn_times[key] = tuple(said[c] for c in TIME_COLUMNS if c in self.columns)
        return [cells[c] for c in self.columns]

    def cell(self, key: str, column: str) -> Text:
        """What row ``key`` shows in ``column`` now (drawn or not)."""
        return self._cells(self.shown[key], self.clock())[column]

    def _cells(
        self, s: Session, now: datetime, said: Mapping[str, TimeSaid] | None = None
    ) -> dict[str, Text]:
        key = row_key(s)
        head = not self.grouped or self._heads.get(key, True)
        self.maker.theme = self.app.theme
        return self.maker.cells(
            s,
            marked=key in self.marked,
            head=head,
            sized=s.backend in self.sized_backends,
            stats=self.stats_texts.get(key, "…"),
            now=now,
            said=said,
        )

    def show_stats_column(self, show: bool) -> None:
        """Show or hide the live stats column."""
        if show != self.stats_column:
            self.stats_column = show
            if not show:
                self.stats_texts = {}
            if self.is_mounted:
                self._build_columns()

    def set_stats(self, texts: Mapping[str, str]) -> None:
        """Show stats texts by row key; a text equal to the one shown redraws nothing."""
        changed = [k for k, text in texts.items() if self.stats_texts.get(k) != text]
        self.stats_texts.update(texts)
        if self.stats_column:
            self.redraw_rows(changed)

    def time_said(self, column: str, when: datetime | None, now: datetime) -> TimeSaid:
        """What a time cell says at ``now`` (see :meth:`CellMaker.time_said`)."""
        return self.maker.time_said(column, when, now)

    def show_ttl_column(self, show: bool) -> None:
        """Show or hide the TTL column."""
        if show != self.ttl_column:
            self.ttl_column = show
            if self.is_mounted:
                self._build_columns()

    def tick(self) -> bool:
        """Bring the time cells (age, active, TTL) up to the clock.

        Only the rows on screen are looked at, and a row is drawn again only
        when one of its texts changed since it was drawn (most "3d" stay "3d";
        a fresh session's "5s" or a TTL under an hour change every second).
        True when a row was redrawn."""
        columns = [c for c in TIME_COLUMNS if c in self.columns]
        if not columns:
            return False
        now = self.clock()
        self.maker.theme = self.app.theme
        said_of = self.time_said
        make = self.maker.said_text
        fields = [(c, FIELDS[c]) for c in columns]
        drawn = self._drawn_times
        said: dict[str, tuple[TimeSaid, ...]] = {}
        stale: dict[str, dict[str, Text]] = {}
        shown = self.shown
        for key in self.visible_keys():
            s = shown.get(key)
            if s is None:
                continue
            said[key] = texts = tuple([said_of(c, getattr(s, f), now) for c, f in fields])
            was = drawn.get(key)
            if was != texts:
                # only the cells that changed ("5h59m" stays while "7s" moves on),
                # made only now: most ticks compare texts and make no cell
                stale[key] = {
                    c: make(*texts[i])
                    for i, c in enumerate(columns)
                    if was is None or was[i] != texts[i]
                }
        # (rows off screen are forgotten: drawn again when they come back, if changed)
        self._drawn_times = said
        self.update_cells(stale)
        return bool(stale)

    def sync(self, sessions: Sequence[Session]) -> bool:
        """Make the rows match ``sessions`` (after the filter) by row key.

        Unchanged rows are untouched, changed ones are drawn again when on
        screen, and the cursor stays on the same session when rows come and go.
        False when nothing was looked at: the very listing shown, unfiltered.
        """
        listed_anew = self.model.merge(sessions)
        if listed_anew or not self.model.filter_query.is_empty:
            self._apply()  # (a filter on ages or TTLs may show other rows with time)
            return True
        return False

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
            if s is None or s.size is size or s.size == size:
                continue  # (the size scanner hands out the object it measured last time)
            s = s.with_size(size)
            self.model.sessions[key] = s
            changed.append(s)
        if changed:
            self._apply(only=changed)

    def _apply(self, only: Sequence[Session] | None = None, restyle: Iterable[str] = ()) -> None:
        """Make the rows match ``self.sessions`` (or just the sessions ``only``).

        Nothing changed, nothing done: a row whose session is unchanged is not
        drawn again (unless its key is in ``restyle``), and rows are re-sorted
        only when a row came or a field the order depends on changed."""
        restyle = set(restyle)
        gone, targets = self.model.changes(only, restyle, self.clock())
        if not gone and not targets:
            return
        shown = self.shown
        for key in gone:
            del shown[key]
        resort = False
        order_fields = {FIELDS[self.sort_column], "created"}
        changed: list[str] = []
        for s in targets:
            key = row_key(s)
            prev = shown.get(key)
            if prev is None:
                resort = True
            else:
                fields = self.model.changed_fields(prev, s)
                resort = resort or bool(fields & order_fields)
                if fields or key in restyle:
                    changed.append(key)
            shown[key] = s
        if resort:
            self._reorder()
        elif gone:
            self._set_order([k for k in self.row_keys if k in shown])
        self.redraw_rows(changed)

    # -- order ----------------------------------------------------------------

    def _reorder(self) -> None:
        """Rows in the model's order; the cursor stays on its session."""
        self._set_order(self.model.ordered_keys())

    def _set_order(self, keys: list[str]) -> None:
        heads = self.model.heads(keys) if self.grouped else {}
        if heads != self._heads:
            self._heads = heads
            self.redraw()  # which backend cells are dim may have changed
        self.set_rows(keys, follow=self.cursor_key)

    def set_sort(self, column: str, *, reverse: bool | None = None) -> None:
        """Sort by ``column`` (a key of COLUMNS); ``reverse`` None keeps the direction."""
        self.model.set_sort(column, reverse)
        self._build_columns()  # the header shows the sort
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

    def on_line_table_header_selected(self, event: TypeaheadTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click inverts."""
        event.stop()
        column = event.column_key
        if column not in SORTABLE:
            return
        if column == self.sort_column:
            self.toggle_reverse()
        else:
            self.set_sort(column, reverse=False)

    # -- multi-select ----------------------------------------------------------

    def _restyle(self, keys: Iterable[str]) -> None:
        """Redraw the name cell of these rows (marked or not)."""
        shown = [k for k in keys if k in self.shown]
        if shown:
            self._apply(only=[self.shown[k] for k in shown], restyle=shown)

    def toggle_mark(self, session: Session) -> bool:
        """Mark or unmark one session; True when it is now marked."""
        key = row_key(session)
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
