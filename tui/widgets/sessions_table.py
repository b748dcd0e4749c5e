"""SessionsTable: the main table, kept in sync with the inventory by row key."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import DataTable, Input

from core.durations import duration_text
from core.model import Session, SessionRef, SizeInfo
from core.query import Query, QueryError, parse_query
from tui.formatting import age_text, size_text
from tui.theme_style import theme_style
from tui.widgets.vim_table import VimTable


class SortText(Text):
    """A cell that knows how it sorts (its text may not, e.g. ``3h`` vs ``2d``)."""

    def __init__(self, text: str, key: object, style: str | Style = "") -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis")
        self.key = key

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # one line, never wrapped: its width is its length.  DataTable measures
        # every new cell (10k rows: 80k measures); Text's own measure splits
        # the text into words for the minimum, which no column here uses.
        return Measurement(1, self.cell_len)


class TimeCell:
    """A cell that depends on the clock (age, last active, TTL): its text is
    worked out when the row is drawn, so time passing writes no cell; only
    the rows on screen are ever worked out (see :meth:`SessionsTable.tick`)."""

    __slots__ = ("column", "key", "table", "when")

    def __init__(
        self, table: SessionsTable, column: str, when: datetime | None, key: object
    ) -> None:
        self.table = table
        self.column = column
        self.when = when
        self.key = key  # how it sorts (see SortText)

    def text(self) -> Text:
        return self.table.time_text(self.column, self.when, self.table.clock())

    def __str__(self) -> str:
        return self.text().plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield self.text()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # the columns of time cells have a fixed width (SessionsTable._fit_columns):
        # what a cell says now is worked out when it is drawn, not when measured
        return Measurement(1, FIXED_WIDTHS[self.column])


FILTER_BINDING = "sessions.filter"
# the columns whose width never changes (Name and Info share the rest)
FIXED_WIDTHS = {"backend": 8, "state": 7, "age": 5, "active": 7, "size": 9, "ttl": 6}
WIDE = 100  # terminal columns from which the Info column is shown
# a first load bigger than this shows these rows at once and adds the rest in
# chunks after the screen is drawn (10k sessions: the first screen stays fast)
FIRST_SCREEN = 200
CHUNK = 2000

COLUMNS: tuple[tuple[str, str], ...] = (
    ("backend", "Backend"),
    ("name", "Name"),
    ("state", "State"),
    ("age", "Age"),
    ("active", "Active"),
    ("size", "Size"),
    ("ttl", "TTL"),
    ("info", "Info"),
)


SORTABLE = tuple(key for key, _ in COLUMNS)
# live stats (S): shown before Info when on; not a sort key (it changes each reading)
STATS_COLUMN = ("stats", "Stats")
_LABELS = dict((*COLUMNS, STATS_COLUMN))
TIME_COLUMNS = ("age", "active", "ttl")

# the Session field each column shows: a row whose fields are unchanged keeps its cells
_FIELDS: dict[str, str] = {
    "backend": "backend",
    "name": "name",
    "state": "state",
    "age": "created",
    "active": "last_active",
    "size": "size",
    "ttl": "expires",
    "info": "info",
}
MARK = "● "  # the prefix of a marked (multi-selected) row's name


# each column's natural order (first row first), and its inverse, in words
_NATURAL: dict[str, tuple[str, str]] = {
    "age": ("newest first", "oldest first"),
    "active": ("most recently active first", "least recently active first"),
    "size": ("largest first", "smallest first"),
    "ttl": ("soonest to expire first", "latest to expire first"),
}


def ref_key(ref: SessionRef) -> str:
    return f"{ref.backend}:{ref.id}"


def _ts(when: datetime | None) -> float | None:
    return when.timestamp() if when is not None else None


def sort_value(s: Session, column: str, now: datetime) -> tuple[int, object]:
    """How ``s`` sorts by ``column``: ``(0, value)``, or ``(1, 0)`` when the value
    is unknown, so unknowns sort last in either direction of the column.

    Each column's natural first row: youngest (age, active), largest (size),
    soonest to expire (ttl); text columns alphabetically.
    """
    value: object | None
    if column == "backend":
        value = s.backend
    elif column == "name":
        value = s.name.lower()
    elif column == "state":
        value = s.state.value
    elif column == "age":
        created = _ts(s.created)
        value = None if created is None else -created
    elif column == "active":
        last = _ts(s.last_active)
        value = None if last is None else -last
    elif column == "size":
        value = None if s.size is None else -s.size.disk
    elif column == "ttl":
        value = None if s.expires is None else (s.expires - now).total_seconds()
    else:
        value = s.info.lower() or None
    return (1, 0) if value is None else (0, value)


class SessionsTable(VimTable[Text | TimeCell]):
    """Every session of every backend, one row each, keyed by ``backend:id``.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Move |
    | home/end, g/G | First / last row |
    """

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.backend_order: dict[str, int] = {}
        # backends that measure sizes; the others show "-" instead of "pending"
        self.sized_backends: set[str] = set()
        self.ttl_column = False  # shown only when a configured backend has TTLs
        self.stats_column = False  # live stats (the dashboard's S)
        self.stats_texts: dict[str, str] = {}  # row key -> the stats text shown
        self.wide = False
        self.shown: dict[str, Session] = {}
        self.filter_text = ""
        self.filter_query: Query = parse_query("")
        self.typeahead_target: Input | None = None
        # multi-select: row keys marked with space / select-all
        self.marked: set[str] = set()
        # the order: by one column (reversible), grouped by backend or not
        self.sort_column = "age"
        self.sort_reverse = False
        self.grouped = True
        self._group_heads: dict[str, bool] = {}  # the first row of each backend
        self._rendered_heads: dict[str, bool] = {}  # what each backend cell shows
        self._styles: dict[tuple[str, str, bool], Style] = {}
        self._pending: list[str] = []  # row keys of a big first load still to add
        # the time texts of the rows on screen when last drawn (see tick)
        self._drawn_times: list[tuple[tuple[str, str], ...]] = []
        self._listed: dict[str, Session] = {}  # the last listing, as the backends gave it

    def on_key(self, event: events.Key) -> None:
        # Not a key dispatcher: the filter binding still runs through BINDINGS.
        # Bindings run only after a key has bubbled back to the app, so keys
        # typed in the same burst as the filter key (one packet over SSH) reach
        # this table first; from the filter key on, hand them to the box until
        # it has focus.
        target = self.typeahead_target
        if target is not None and event.is_printable and event.character:
            # (editing keys are not forwarded: the box's own bindings may run
            # for the same key once it has the focus, and delete twice)
            event.stop()
            event.prevent_default()
            target.insert_text_at_cursor(event.character)
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id == FILTER_BINDING:
            boxes = self.screen.query("#filter").results(Input)
            self.typeahead_target = next(boxes, None)

    def on_paste(self, event: events.Paste) -> None:
        # a paste right behind the filter key reaches the table too
        if self.typeahead_target is not None:
            event.stop()
            self.typeahead_target.insert_text_at_cursor(event.text)

    def on_mount(self) -> None:
        self._build_columns()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """A new theme: the cells coloured from it (states, selected names) are
        written again; time cells take their colours when drawn."""
        columns = {str(k.value) for k in self.columns}
        if not self.shown or not {"state", "name"} <= columns:
            return
        for key, s in self.shown.items():
            cells = self._cells(s)
            self.update_cell(key, "state", cells["state"])
            if key in self.marked:
                self.update_cell(key, "name", cells["name"])

    def on_resize(self) -> None:
        if (self.size.width >= WIDE) != self.wide:
            self._build_columns()  # a layout change, not a data refresh
        self._fit_columns()

    def _visible_columns(self) -> tuple[tuple[str, str], ...]:
        # below WIDE columns the Info column yields its room to Name; the
        # detail panel shows the same information
        hidden = {"ttl"} if not self.ttl_column else set()
        if not self.wide:
            hidden.add("info")
        shown = tuple(c for c in COLUMNS if c[0] not in hidden)
        if self.stats_column:
            at = len(shown) - (1 if self.wide else 0)  # before Info
            shown = (*shown[:at], STATS_COLUMN, *shown[at:])
        return shown

    def _build_columns(self) -> None:
        selected = self.selected
        self.wide = self.size.width >= WIDE
        self.clear(columns=True)
        self.shown = {}
        for key, label in self._visible_columns():
            self.add_column(self._label(key, label), key=key)
        self._fit_columns()
        if self.sessions:
            self._apply()
        if selected is not None and ref_key(selected.ref) in self.shown:
            self.move_cursor(row=self.get_row_index(ref_key(selected.ref)), animate=False)

    def _label(self, key: str, label: str) -> str:
        if key != self.sort_column:
            return label
        return label + ("▲" if self.sort_reverse else "▼")

    def _relabel(self) -> None:
        labels = _LABELS
        for key, col in self.columns.items():
            col.label = Text(self._label(str(key.value), labels[str(key.value)]))
        self.notify_style_update()  # drops the drawn header: the new labels show

    def _fit_columns(self) -> None:
        fixed = {k: FIXED_WIDTHS[k] for k in ("backend", "state", "age", "active", "size")}
        if self.ttl_column:
            fixed["ttl"] = FIXED_WIDTHS["ttl"]
        if self.stats_column:
            fixed["stats"] = 16 if self.wide else 12  # "12.3% 1.2 GiB" / "12.3% 1.2 G…"
        if not self.columns:
            return
        cols = self._visible_columns()
        avail = max(14, self.size.width - 2 * len(cols) - sum(fixed.values()) - 1)
        if self.wide:
            name_w = min(34, avail * 2 // 3)
            widths = {**fixed, "name": name_w, "info": max(6, avail - name_w)}
        else:
            widths = {**fixed, "name": avail}
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

    def _style(self, variable: str, *, bold: bool = False) -> Style:
        """A theme variable's style, cached per theme (10k rows, a few colours)."""
        key = (self.app.theme, variable, bold)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = theme_style(self.app, variable, bold=bold)
        return style

    def _cells(self, s: Session) -> dict[str, Text | TimeCell]:
        colour = self._style(f"state-{s.state.value}")
        created = s.created.timestamp() if s.created else 0.0
        last = s.last_active.timestamp() if s.last_active else 0.0
        key = ref_key(s.ref)
        marked = key in self.marked
        head = not self.grouped or self._group_heads.get(key, True)
        self._rendered_heads[key] = head
        expires = s.expires.timestamp() if s.expires else float("inf")
        return {
            "backend": SortText(s.backend, s.backend, style="" if head else "dim"),
            "name": SortText(
                MARK + s.name if marked else s.name,
                key,
                style=self._style("accent", bold=True) if marked else "",
            ),
            "state": SortText(s.state.value, s.state.value, style=colour),
            "age": TimeCell(self, "age", s.created, -created),
            "active": TimeCell(self, "active", s.last_active, -last),
            "size": SortText(
                size_text(s.size, pending="…" if s.backend in self.sized_backends else "-"),
                s.size.disk if s.size else -1,
                style="" if s.size else "dim",
            ),
            "ttl": TimeCell(self, "ttl", s.expires, expires),
            "info": SortText(s.info, s.info, style="dim"),
            "stats": self._stats_cell(key),
        }

    def _stats_cell(self, key: str) -> SortText:
        text = self.stats_texts.get(key, "…")
        return SortText(text, text, style="dim" if text in ("…", "-", "?") else "")

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
                self.update_cell(key, "stats", self._stats_cell(key))

    def time_text(self, column: str, when: datetime | None, now: datetime) -> Text:
        """What a time cell shows at ``now``: an age, or the TTL left (under a
        minute in the warning colour)."""
        if column != "ttl":
            return Text(age_text(when, now), no_wrap=True, overflow="ellipsis", end="")
        if when is None:
            return Text("-", style="dim", no_wrap=True, end="")
        left = when - now
        soon = left.total_seconds() < 60
        style = self._style("state-expired") if soon else Style()
        return Text(duration_text(left), style=style, no_wrap=True, overflow="ellipsis", end="")

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
        now = self.clock()
        texts = [
            tuple(
                (t.plain, str(t.style))
                for c in columns
                for t in (self.time_text(c, getattr(s, _FIELDS[c]), now),)
            )
            for k in self.visible_keys()
            if (s := self.shown.get(k)) is not None
        ]
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
        # keep sizes already measured until a new measurement replaces them
        merged: dict[str, Session] = {}
        listed = self._listed
        for new in sessions:
            key = ref_key(new.ref)
            old = self.sessions.get(key)
            if old is not None and (listed.get(key) is new or listed.get(key) == new):
                merged[key] = old  # listed as before: the same record, nothing to compare
            elif new.size is None and old is not None and old.size is not None:
                merged[key] = replace(new, size=old.size)
            else:
                merged[key] = new
        self._listed = {ref_key(new.ref): new for new in sessions}
        self.sessions = merged
        self.marked &= merged.keys()  # a session that is gone is no longer selected
        self._apply()

    def set_filter(self, text: str) -> QueryError | None:
        """Filter the rows with a query (see core.query).  A query that does not
        parse (half typed, or wrong) keeps the last good one in force and is
        returned, so the caller can show where it went wrong."""
        try:
            query = parse_query(text)
        except QueryError as exc:
            return exc
        self.filter_text = text
        self.filter_query = query
        self._apply()
        return None

    def update_sizes(self, sizes: Iterable[tuple[SessionRef, SizeInfo]]) -> None:
        """Show measured sizes; a size equal to the one shown changes nothing."""
        changed: list[Session] = []
        for ref, size in sizes:
            key = ref_key(ref)
            s = self.sessions.get(key)
            if s is None or s.size == size:
                continue
            s = s.with_size(size)
            self.sessions[key] = s
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
        query = self.filter_query
        columns = [c for c, _ in self._visible_columns()]
        if only is None:
            want = (
                self.sessions
                if query.is_empty
                else {k: s for k, s in self.sessions.items() if query.matches(s, now)}
            )
            gone = [k for k in self.shown if k not in want]
            shown = self.shown
            targets: list[Session] = [
                s
                for k, s in want.items()
                # the same record (a KV listing keeps unchanged ones) is not compared
                if ((prev := shown.get(k)) is not s and prev != s) or k in restyle
            ]
        else:
            # a measured size or a mark can move a row out of the filter
            want = {ref_key(s.ref): s for s in only if query.is_empty or query.matches(s, now)}
            gone = [ref_key(s.ref) for s in only if ref_key(s.ref) not in want]
            gone = [k for k in gone if k in self.shown]
            targets = list(want.values())
        if not gone and not targets:
            return
        for key in gone:
            self._drop_row(key)
        added = {ref_key(s.ref): s for s in targets if ref_key(s.ref) not in self.shown}
        if added:
            order = self.ordered_keys({**self.shown, **added})
            # new rows are drawn right the first time: no second pass over 10k cells
            self._group_heads = self._heads(order) if self.grouped else {}
            if not self.shown and len(order) > FIRST_SCREEN:
                # a big first load: the first screenful now, in order, the rest
                # in chunks after the screen has been drawn
                self._pending = order[FIRST_SCREEN:]
                self._add_rows(order[:FIRST_SCREEN], columns)
                self.call_after_refresh(self._add_pending)
                return
        resort = bool(added)
        order_fields = {_FIELDS[self.sort_column], "created"}
        for s in targets:
            key = ref_key(s.ref)
            prev = self.shown.get(key)
            if prev is None:
                cells = self._cells(s)
                self.add_row(*(cells[c] for c in columns), key=key)
            else:
                fields = {f for f in _FIELDS.values() if getattr(prev, f) != getattr(s, f)}
                dirty = [c for c in columns if _FIELDS.get(c) in fields]
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
        query, now = self.filter_query, self.clock()
        # a refresh or a filter in between may have added or dropped some
        keys = [
            k
            for k in chunk
            if k in self.sessions
            and k not in self.shown
            and (query.is_empty or query.matches(self.sessions[k], now))
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

    def total_bytes(self, sessions: Iterable[Session] | None = None) -> int:
        """Disk bytes of ``sessions`` (default: the rows shown) that are measured."""
        chosen = self.shown.values() if sessions is None else sessions
        return sum(s.size.disk for s in chosen if s.size is not None)

    # -- order ----------------------------------------------------------------

    def ordered_keys(self, rows: Mapping[str, Session] | None = None) -> list[str]:
        """The row keys (default: of the rows shown) in the order the table shows them."""
        shown = self.shown if rows is None else rows
        now = self.clock()
        col = self.sort_column
        values = {k: sort_value(s, col, now) for k, s in shown.items()}
        # ties keep a stable order: newest first, then by key
        base = sorted(shown, key=lambda k: (sort_value(shown[k], "age", now), k))
        known = sorted((k for k in base if values[k][0] == 0), key=values.__getitem__)
        if self.sort_reverse:
            known.reverse()
        keys = known + [k for k in base if values[k][0] != 0]  # unknowns last, always
        if self.grouped:
            order = self.backend_order
            keys.sort(key=lambda k: order.get(shown[k].backend, len(order)))
        return keys

    def _reorder(self) -> None:
        keys = self.ordered_keys()
        if self._row_keys() != keys:
            selected = self.selected
            rank = {k: i for i, k in enumerate(keys)}
            self.sort("name", key=lambda cell: rank[cell.key])
            if selected is not None:  # the cursor stays on its session, not its row
                key = ref_key(selected.ref)
                if key in rank and rank[key] != self.cursor_row:
                    self.move_cursor(row=rank[key], animate=False)
        self._mark_group_heads(keys)

    def _heads(self, keys: Sequence[str]) -> dict[str, bool]:
        """For rows in this order: is each the first of its backend?"""
        heads: dict[str, bool] = {}
        previous = None
        for k in keys:
            backend = self.sessions[k].backend
            heads[k] = backend != previous
            previous = backend
        return heads

    def _mark_group_heads(self, keys: Sequence[str]) -> None:
        """When grouped, only the first row of each backend shows its name bright."""
        self._group_heads = self._heads(keys) if self.grouped else {}
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
        if column not in SORTABLE:
            raise ValueError(f"cannot sort by {column!r}")
        self.sort_column = column
        if reverse is not None:
            self.sort_reverse = reverse
        self._relabel()
        self._reorder()

    def sort_description(self) -> str:
        """The order in words, e.g. "Sorted by size, largest first"."""
        first, last = _NATURAL.get(self.sort_column, ("A to Z", "Z to A"))
        label = dict(COLUMNS)[self.sort_column].lower()
        grouped = ", grouped by backend" if self.grouped else ""
        return f"Sorted by {label}, {last if self.sort_reverse else first}{grouped}"

    def cycle_sort(self, step: int) -> str:
        """Sort by the next (``step`` 1) or previous (-1) visible column."""
        cols = [k for k, _ in self._visible_columns() if k in SORTABLE]
        at = cols.index(self.sort_column) if self.sort_column in cols else 0
        self.set_sort(cols[(at + step) % len(cols)])
        return self.sort_column

    def toggle_reverse(self) -> None:
        self.set_sort(self.sort_column, reverse=not self.sort_reverse)

    def set_grouped(self, grouped: bool) -> None:
        self.grouped = grouped
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

    def marked_unordered(self) -> list[Session]:
        """The marked sessions, in no particular order (cheap: no sort)."""
        return [self.sessions[k] for k in self.marked if k in self.sessions]

    @property
    def marked_sessions(self) -> list[Session]:
        """The marked sessions, in table order (hidden ones included)."""
        if not self.marked:
            return []
        order = {k: i for i, k in enumerate(self.ordered_keys())}
        keys = sorted(self.marked, key=lambda k: order.get(k, len(order)))
        return [self.sessions[k] for k in keys if k in self.sessions]

    def _restyle(self, keys: Iterable[str]) -> None:
        """Redraw the name cell of these rows (marked or not)."""
        shown = [k for k in keys if k in self.shown]
        if shown:
            self._apply(only=[self.shown[k] for k in shown], restyle=set(shown))

    def toggle_mark(self, session: Session) -> bool:
        """Mark or unmark one session; True when it is now marked."""
        key = ref_key(session.ref)
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self._restyle([key])
        return key in self.marked

    def mark_all_shown(self) -> int:
        """Mark every row shown; when all are marked already, unmark them.
        Returns how many are marked afterwards."""
        shown = set(self.shown)
        if shown and shown <= self.marked:
            self.marked -= shown
        else:
            self.marked |= shown
        self._restyle(shown)
        return len(self.marked)

    def clear_marks(self) -> None:
        keys, self.marked = self.marked, set()
        self._restyle(keys)
