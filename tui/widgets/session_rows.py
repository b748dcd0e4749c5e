"""The sessions table's model: every session listed, the rows a filter
shows, the marks and the order (no Textual in here; the table writes the cells)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from core.model import Session, same_listing
from core.query import Query, QueryError, parse_query
from tui.widgets.session_cells import COLUMNS, FIELDS, NATURAL, SORTABLE, row_key, sort_value


class SessionRows:
    """What the table shows, by row key ``backend:id``."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.sessions: dict[str, Session] = {}  # every session (sizes kept)
        self.shown: dict[str, Session] = {}  # the rows in the table now
        self.listed: dict[str, Session] = {}  # the last listing, as the backends gave it
        self._last: list[Session] = []  # ... in its order
        self.filter_text = ""
        self.filter_query: Query = parse_query("")
        # multi-select: row keys marked with space / select-all
        self.marked: set[str] = set()
        # the order: by one column (reversible), grouped by backend or not
        self.sort_column = "age"
        self.sort_reverse = False
        self.grouped = True
        self.backend_order: dict[str, int] = {}

    def merge(self, sessions: Sequence[Session]) -> bool:
        """Take a new listing; sizes already measured stay until a new
        measurement replaces them, and a record listed as before is kept.
        False when the listing is the last one (the very same sessions, in
        the same order: what a store with no change lists again)."""
        if same_listing(sessions, self._last):
            return False  # (10k rows: 0.15 ms, against 10 ms to merge them)
        self._last = list(sessions)
        merged: dict[str, Session] = {}
        listed = self.listed
        now_listed: dict[str, Session] = {}
        for new in sessions:
            key = row_key(new)
            now_listed[key] = new
            old = self.sessions.get(key)
            if old is not None and (listed.get(key) is new or listed.get(key) == new):
                merged[key] = old  # listed as before: the same record, nothing to compare
            elif new.size is None and old is not None and old.size is not None:
                merged[key] = replace(new, size=old.size)
            else:
                merged[key] = new
        self.listed = now_listed
        self.sessions = merged
        self.marked &= merged.keys()  # a session that is gone is no longer selected
        return True

    def set_filter(self, text: str) -> QueryError | None:
        """Filter with a query; one that does not parse keeps the last good one
        in force and is returned."""
        try:
            query = parse_query(text)
        except QueryError as exc:
            return exc
        self.filter_text = text
        self.filter_query = query
        return None

    def matches(self, s: Session, now: datetime) -> bool:
        query = self.filter_query
        return query.is_empty or query.matches(s, now)

    def changes(
        self, only: Sequence[Session] | None, restyle: Collection[str], now: datetime
    ) -> tuple[list[str], list[Session]]:
        """The rows to drop and the sessions to write (all, or just ``only``):
        a row whose session is unchanged is left alone, unless its key is in
        ``restyle``."""
        query = self.filter_query
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
            want = {row_key(s): s for s in only if self.matches(s, now)}
            gone = [row_key(s) for s in only if row_key(s) not in want]
            gone = [k for k in gone if k in self.shown]
            targets = list(want.values())
        return gone, targets

    @staticmethod
    def changed_fields(prev: Session, s: Session) -> set[str]:
        return {f for f in FIELDS.values() if getattr(prev, f) != getattr(s, f)}

    def total_bytes(self, sessions: Iterable[Session] | None = None) -> int:
        """Disk bytes of ``sessions`` (default: the rows shown) that are measured."""
        chosen = self.shown.values() if sessions is None else sessions
        return sum(s.size.disk for s in chosen if s.size is not None)

    # -- order ------------------------------------------------------------------

    def ordered_keys(self, rows: Mapping[str, Session] | None = None) -> list[str]:
        """The row keys (default: of the rows shown) in the order the table shows them."""
        shown = self.shown if rows is None else rows
        now = self.clock()
        col = self.sort_column
        ages = {k: sort_value(s, "age", now) for k, s in shown.items()}
        values = ages if col == "age" else {k: sort_value(s, col, now) for k, s in shown.items()}
        # ties keep a stable order: newest first, then by key
        base = sorted(shown, key=lambda k: (ages[k], k))
        known = sorted((k for k in base if values[k][0] == 0), key=values.__getitem__)
        if self.sort_reverse:
            known.reverse()
        keys = known + [k for k in base if values[k][0] != 0]  # unknowns last, always
        if self.grouped:
            order = self.backend_order
            keys.sort(key=lambda k: order.get(shown[k].backend, len(order)))
        return keys

    def heads(self, keys: Sequence[str]) -> dict[str, bool]:
        """For rows in this order: is each the first of its backend?"""
        heads: dict[str, bool] = {}
        previous = None
        for k in keys:
            backend = self.sessions[k].backend
            heads[k] = backend != previous
            previous = backend
        return heads

    def set_sort(self, column: str, reverse: bool | None) -> None:
        if column not in SORTABLE:
            raise ValueError(f"cannot sort by {column!r}")
        self.sort_column = column
        if reverse is not None:
            self.sort_reverse = reverse

    def sort_description(self) -> str:
        """The order in words, e.g. "Sorted by size, largest first"."""
        first, last = NATURAL.get(self.sort_column, ("A to Z", "Z to A"))
        label = dict(COLUMNS)[self.sort_column].lower()
        grouped = ", grouped by backend" if self.grouped else ""
        return f"Sorted by {label}, {last if self.sort_reverse else first}{grouped}"

    # -- marks ----------------------------------------------------------------------

    def marked_unordered(self) -> list[Session]:
        """The marked sessions, in no particular order (cheap: no sort)."""
        return [self.sessions[k] for k in self.marked if k in self.sessions]

    def marked_sessions(self) -> list[Session]:
        """The marked sessions, in table order (hidden ones included)."""
        if not self.marked:
            return []
        order = {k: i for i, k in enumerate(self.ordered_keys())}
        keys = sorted(self.marked, key=lambda k: order.get(k, len(order)))
        return [self.sessions[k] for k in keys if k in self.sessions]

    def toggle_mark(self, key: str) -> bool:
        """Mark or unmark one row; True when it is now marked."""
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        return key in self.marked

    def mark_all_shown(self) -> set[str]:
        """Mark every row shown; when all are marked already, unmark them.
        Returns the rows whose mark changed (or might have)."""
        shown = set(self.shown)
        if shown and shown <= self.marked:
            self.marked -= shown
        else:
            self.marked |= shown
        return shown
