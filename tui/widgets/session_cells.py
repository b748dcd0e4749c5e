"""The sessions table's cells and columns: what each column shows and how
it sorts.  Cells are made when a row is drawn (the rows on screen only), so
ages and TTLs are worked out at the clock's time then."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rich.style import Style
from rich.text import Text

from core.durations import duration_text
from core.model import Session, SessionRef
from tui.formatting import age_text, size_text


class SortText(Text):
    """A cell that knows how it sorts (its text may not, e.g. ``3h`` vs ``2d``)."""

    def __init__(self, text: str, key: object, style: str | Style = "") -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis")
        self.key = key

    # Not measured (Rich's protocol: no __rich_measure__, the caller's default):
    # the tables that sort with it have fixed column widths, and DataTable
    # measures every new cell (10k rows: 80k measures).
    __rich_measure__ = None  # type: ignore[assignment]


FILTER_BINDING = "sessions.filter"
# the columns whose width never changes (Name and Info share the rest)
FIXED_WIDTHS = {"backend": 8, "state": 7, "age": 5, "active": 7, "size": 9, "ttl": 6}
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


SORTABLE = tuple(key for key, _ in COLUMNS)
# live stats (S): shown before Info when on; not a sort key (it changes each reading)
STATS_COLUMN = ("stats", "Stats")
LABELS = dict((*COLUMNS, STATS_COLUMN))
TIME_COLUMNS = ("age", "active", "ttl")
# how a time cell looks: plain, "none" (no TTL: a dim "-"), "soon" (a TTL under a
# minute, in the warning colour)
TimeLook = Literal["plain", "none", "soon"]
TimeSaid = tuple[str, TimeLook]  # a time cell's text and look

# the Session field each column shows: a row whose fields are unchanged keeps its cells
FIELDS: dict[str, str] = {
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
NATURAL: dict[str, tuple[str, str]] = {
    "age": ("newest first", "oldest first"),
    "active": ("most recently active first", "least recently active first"),
    "size": ("largest first", "smallest first"),
    "ttl": ("soonest to expire first", "latest to expire first"),
}


def ref_key(ref: SessionRef) -> str:
    return f"{ref.backend}:{ref.id}"


def row_key(s: Session) -> str:
    """``s``'s row key, :func:`ref_key` of its ref (without making the ref:
    a KV row makes it when read)."""
    return f"{s.backend}:{s.id}"


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


LOCKED = ("backend", "name")
"""Columns the column chooser cannot hide (a row needs them to make sense)."""


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """The user's choice of columns (the column chooser, per view): their
    order, and the ones hidden.  Every key of COLUMNS is in ``order``."""

    order: tuple[str, ...] = SORTABLE
    hidden: frozenset[str] = frozenset()

    @classmethod
    def of(cls, order: Iterable[str], hidden: Iterable[str]) -> ColumnChoice:
        """A choice from saved lists: unknown keys dropped, missing ones (a
        column newer than the save) after the others in their default order,
        the locked columns never hidden."""
        known = [k for k in dict.fromkeys(order) if k in SORTABLE]
        known += [k for k in SORTABLE if k not in known]
        gone = frozenset(k for k in hidden if k in SORTABLE and k not in LOCKED)
        return cls(tuple(known), gone)

    def shown(self, key: str) -> bool:
        return key not in self.hidden


DEFAULT_COLUMNS = ColumnChoice()


def visible_columns(
    *, wide: bool, ttl: bool, stats: bool, choice: ColumnChoice = DEFAULT_COLUMNS
) -> tuple[tuple[str, str], ...]:
    """The columns shown, in the ``choice``'s order without its hidden ones:
    below WIDE columns the Info column yields its room to Name (the detail
    panel shows the same information); TTL only when some backend has TTLs;
    the live stats before Info when on (else last)."""
    hidden = set(choice.hidden)
    if not ttl:
        hidden.add("ttl")
    if not wide:
        hidden.add("info")
    shown = tuple((k, LABELS[k]) for k in choice.order if k not in hidden)
    if stats:
        keys = [k for k, _ in shown]
        at = keys.index("info") if "info" in keys else len(shown)
        shown = (*shown[:at], STATS_COLUMN, *shown[at:])
    return shown


def column_widths(
    width: int, *, wide: bool, ttl: bool, stats: bool, choice: ColumnChoice = DEFAULT_COLUMNS
) -> dict[str, int]:
    """Each column's width in a table ``width`` cells wide: fixed ones, and
    Name (and Info when wide and shown) share the rest; hidden columns
    leave their room to them."""
    cols = [k for k, _ in visible_columns(wide=wide, ttl=ttl, stats=stats, choice=choice)]
    fixed = {k: FIXED_WIDTHS[k] for k in cols if k in FIXED_WIDTHS}
    if stats:
        fixed["stats"] = 16 if wide else 12  # "12.3% 1.2 GiB" / "12.3% 1.2 G…"
    avail = max(14, width - 2 * len(cols) - sum(fixed.values()) - 1)
    if "info" in cols:
        name_w = min(34, avail * 2 // 3)
        return {**fixed, "name": name_w, "info": max(6, avail - name_w)}
    return {**fixed, "name": avail}


def column_label(key: str, sort_column: str, reverse: bool) -> str:
    """A column's header: the sort column shows its direction."""
    label = LABELS[key]
    if key != sort_column:
        return label
    return label + ("▲" if reverse else "▼")


def stats_cell(text: str) -> SortText:
    """The live stats cell ("…" while not read yet; "-" none; "?" unknown)."""
    return SortText(text, text, style="dim" if text in ("…", "-", "?") else "")


class CellMaker:
    """A row's cells and the time cells' texts, in the theme's colours
    (cached per theme: 10k rows, a few colours)."""

    def __init__(self, style_of: Callable[[str, str, bool], Style]) -> None:
        self.style_of = style_of  # (theme, variable, bold) -> style
        self.theme = ""
        self._styles: dict[tuple[str, str, bool], Style] = {}

    def style(self, variable: str, *, bold: bool = False) -> Style:
        key = (self.theme, variable, bold)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self.style_of(self.theme, variable, bold)
        return style

    def cells(
        self,
        s: Session,
        *,
        marked: bool,
        head: bool,
        sized: bool,
        stats: str,
        now: datetime,
        said: Mapping[str, TimeSaid] | None = None,
    ) -> dict[str, Text]:
        """The cells of ``s``'s row at ``now``: ``head``, the first row of its
        backend (grouped); ``sized``, its backend measures sizes; ``stats``,
        its stats text; ``said``, what its time cells say, when the caller
        has it already (:meth:`times_said`)."""
        state_style = self.style(f"state-{s.state.value}")
        times = self.times_said(s, now) if said is None else said
        return {
            "backend": Text(s.backend, style="" if head else "dim", no_wrap=True, end=""),
            "name": Text(
                MARK + s.name if marked else s.name,
                style=self.style("accent", bold=True) if marked else "",
                no_wrap=True,
                overflow="ellipsis",
                end="",
            ),
            "state": Text(s.state.value, style=state_style, no_wrap=True, end=""),
            "age": self.said_text(*times["age"]),
            "active": self.said_text(*times["active"]),
            "size": Text(
                size_text(s.size, pending="…" if sized else "-"),
                style="" if s.size else "dim",
                no_wrap=True,
                end="",
            ),
            "ttl": self.said_text(*times["ttl"]),
            "info": Text(s.info, style="dim", no_wrap=True, overflow="ellipsis", end=""),
            "stats": stats_cell(stats),
        }

    def time_said(self, column: str, when: datetime | None, now: datetime) -> TimeSaid:
        """What a time cell says at ``now``: its text (an age, or the TTL left)
        and how it looks (see :data:`TimeLook`).  A tick compares these, and
        makes a cell of them only when they changed."""
        if column != "ttl":
            return age_text(when, now), "plain"
        if when is None:
            return "-", "none"
        left = when - now
        return duration_text(left), "soon" if left.total_seconds() < 60 else "plain"

    def times_said(self, s: Session, now: datetime) -> dict[str, TimeSaid]:
        """What each time cell of ``s``'s row says at ``now``, by column."""
        return {c: self.time_said(c, getattr(s, FIELDS[c]), now) for c in TIME_COLUMNS}

    def said_text(self, text: str, look: TimeLook) -> Text:
        """The time cell that says ``text``, looking ``look``."""
        if look == "none":
            return Text(text, style="dim", no_wrap=True, end="")
        style = self.style("state-expired") if look == "soon" else ""
        return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")
