"""SessionsTable: the main table, kept in sync with the inventory by row key."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input

from core.durations import duration_text
from core.model import Session, SessionRef, SizeInfo
from tui.formatting import age_text, size_text
from tui.theme_style import theme_style


class SortText(Text):
    """A cell that knows how it sorts (its text may not, e.g. ``3h`` vs ``2d``)."""

    def __init__(self, text: str, key: object, style: str | Style = "") -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis")
        self.key = key


FILTER_BINDING = "sessions.filter"
WIDE = 100  # terminal columns from which the Info column is shown

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


def ref_key(ref: SessionRef) -> str:
    return f"{ref.backend}:{ref.id}"


def matches(session: Session, needle: str) -> bool:
    """The ``/`` filter: case-insensitive substring over the visible fields."""
    if not needle:
        return True
    hay = " ".join(
        (
            session.backend,
            session.kind,
            session.name,
            session.state.value,
            session.info,
            session.path or "",
        )
    ).lower()
    return all(part in hay for part in needle.lower().split())


class SessionsTable(DataTable[Text]):
    """Every session of every backend, one row each, keyed by ``backend:id``.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Move |
    | home/end, g/G | First / last row |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.backend_order: dict[str, int] = {}
        # backends that measure sizes; the others show "-" instead of "pending"
        self.sized_backends: set[str] = set()
        self.ttl_column = False  # shown only when a configured backend has TTLs
        self.wide = False
        self.shown: dict[str, Session] = {}
        self.filter_text = ""
        self.typeahead_target: Input | None = None

    def on_key(self, event: events.Key) -> None:
        # Not a key dispatcher: the filter binding still runs through BINDINGS.
        # Bindings run only after a key has bubbled back to the app, so keys
        # typed in the same burst as the filter key (one packet over SSH) reach
        # this table first; from the filter key on, hand them to the box until
        # it has focus.
        target = self.typeahead_target
        if target is not None and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            target.insert_text_at_cursor(event.character)
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id == FILTER_BINDING:
            boxes = self.screen.query("#filter").results(Input)
            self.typeahead_target = next(boxes, None)

    def on_mount(self) -> None:
        self._build_columns()

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
        return tuple(c for c in COLUMNS if c[0] not in hidden)

    def _build_columns(self) -> None:
        selected = self.selected
        self.wide = self.size.width >= WIDE
        self.clear(columns=True)
        self.shown = {}
        for key, label in self._visible_columns():
            self.add_column(label, key=key)
        self._fit_columns()
        if self.sessions:
            self._apply()
        if selected is not None and ref_key(selected.ref) in self.shown:
            self.move_cursor(row=self.get_row_index(ref_key(selected.ref)), animate=False)

    def _fit_columns(self) -> None:
        fixed = {"backend": 8, "state": 7, "age": 5, "active": 6, "size": 9}
        if self.ttl_column:
            fixed["ttl"] = 6
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

    def _cells(self, s: Session, now: datetime) -> dict[str, Text]:
        colour = theme_style(self.app, f"state-{s.state.value}")
        created = s.created.timestamp() if s.created else 0.0
        last = s.last_active.timestamp() if s.last_active else 0.0
        return {
            "backend": SortText(s.backend, s.backend),
            "name": SortText(s.name, (self.backend_order.get(s.backend, 99), -created, s.name)),
            "state": SortText(s.state.value, s.state.value, style=colour),
            "age": SortText(age_text(s.created, now), -created),
            "active": SortText(age_text(s.last_active, now), -last),
            "size": SortText(
                size_text(s.size, pending="…" if s.backend in self.sized_backends else "-"),
                s.size.disk if s.size else -1,
                style="" if s.size else "dim",
            ),
            "ttl": self._ttl_cell(s, now),
            "info": SortText(s.info, s.info, style="dim"),
        }

    def _ttl_cell(self, s: Session, now: datetime) -> SortText:
        if s.expires is None:
            return SortText("-", float("inf"), style="dim")
        left = s.expires - now
        soon = left.total_seconds() < 60
        style = theme_style(self.app, "state-expired") if soon else Style()
        return SortText(duration_text(left), left.total_seconds(), style=style)

    def show_ttl_column(self, show: bool) -> None:
        """Show or hide the TTL column (a layout change: columns are rebuilt)."""
        if show != self.ttl_column:
            self.ttl_column = show
            if self.is_mounted:
                self._build_columns()

    def tick_ttls(self) -> None:
        """Count TTLs down every second: only the TTL cells of rows that have one."""
        if "ttl" not in {str(k.value) for k in self.columns}:
            return
        now = self.clock()
        for key, s in self.shown.items():
            if s.expires is not None:
                self.update_cell(key, "ttl", self._ttl_cell(s, now))

    def sync(self, sessions: Sequence[Session]) -> None:
        """Make the rows match ``sessions`` (after the filter) by row key.

        Unchanged rows are untouched, changed cells are updated in place, and
        the cursor stays on the same session when rows come and go.
        """
        # keep sizes already measured until a new measurement replaces them
        merged: dict[str, Session] = {}
        for new in sessions:
            key = ref_key(new.ref)
            old = self.sessions.get(key)
            if new.size is None and old is not None and old.size is not None:
                new = replace(new, size=old.size)  # noqa: PLW2901 - the merged record
            merged[key] = new
        self.sessions = merged
        self._apply()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._apply()

    def update_sizes(self, sizes: Iterable[tuple[SessionRef, SizeInfo]]) -> None:
        changed: list[Session] = []
        for ref, size in sizes:
            key = ref_key(ref)
            s = self.sessions.get(key)
            if s is None:
                continue
            s = s.with_size(size)
            self.sessions[key] = s
            changed.append(s)
        self._apply(only=changed)

    def tick(self) -> None:
        """Re-render the time-based cells (ages) without new data."""
        self._apply(only=list(self.shown.values()))

    def _apply(self, only: Sequence[Session] | None = None) -> None:
        now = self.clock()
        selected = self.selected
        want = {k: s for k, s in self.sessions.items() if matches(s, self.filter_text)}
        added = False
        if only is None:
            for key in [k for k in self.shown if k not in want]:
                self.remove_row(key)
                del self.shown[key]
            targets: Iterable[Session] = want.values()
        else:
            targets = [s for s in only if ref_key(s.ref) in want]
        for s in targets:
            key = ref_key(s.ref)
            cells = self._cells(s, now)
            prev = self.shown.get(key)
            for col in [c for c in cells if c not in dict(self._visible_columns())]:
                cells.pop(col)
            if prev is None:
                self.add_row(*(cells[c] for c, _ in self._visible_columns()), key=key)
                added = True
            elif prev != s or only is not None:
                for col, cell in cells.items():
                    self.update_cell(key, col, cell)
            self.shown[key] = s
        if added:
            self.sort("name", key=lambda cell: cell.key)
        if selected is not None and ref_key(selected.ref) in self.shown:
            row = self.get_row_index(ref_key(selected.ref))
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)

    def total_bytes(self) -> int:
        return sum(s.size.disk for s in self.shown.values() if s.size is not None)
