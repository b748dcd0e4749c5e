"""JournalScreen: the actions taken, newest first, with their CLI commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core.journal import Journal, JournalEntry, JournalRead
from tui.formatting import ago_text
from tui.theme_style import theme_style
from tui.widgets.sessions_table import SortText
from tui.widgets.vim_table import VimTable

MAX_ROWS = 1000  # the newest entries shown; `sesstui journal -n 0` prints all
RESULT_COLOUR = {"ok": "success", "failed": "error", "partial": "warning"}
# columns with a fixed width; Target takes the rest of the screen
FIXED = {"when": 19, "action": 6, "result": 7, "source": 6}
COLUMNS = (
    ("when", "When"),
    ("action", "Action"),
    ("target", "Target"),
    ("result", "Result"),
    ("source", "Source"),
)


def entry_key(entry: JournalEntry) -> str:
    """A row key that stays the same across reloads."""
    return "|".join(
        (entry.time.isoformat(), str(entry.pid), entry.action, entry.result, entry.command)
    )


def when_text(when: datetime, now: datetime) -> str:
    """``  5m ago 14:25:03`` today; `` 3d ago 11-18 14:25`` on other days."""
    local = when.astimezone(now.tzinfo)
    clock = local.strftime("%H:%M:%S") if local.date() == now.date() else f"{local:%m-%d %H:%M}"
    return f"{ago_text(local, now):>7} {clock}"


class JournalScreen(Screen[None]):
    """The journal of actions (TUI, CLI and API), newest first; the
    highlighted entry's equivalent command is shown below, ready to copy.

    | Key | Action |
    | :- | :- |
    | y | Copy the highlighted entry's command (OSC 52) |
    | r | Read the journal again |
    | escape, q | Back |
    """

    CSS_PATH = Path(__file__).parent / "journal.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy", "Copy command", id="journal.copy"),
        Binding("r", "reload", "Reload", id="journal.reload"),
        Binding("escape,q", "back", "Back", id="journal.back"),
    ]

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.journal = journal
        self.clock = clock
        self.entries: dict[str, JournalEntry] = {}  # by row key
        self.order: dict[str, int] = {}  # row key -> position in the file
        self.problems: tuple[str, ...] = ()
        self.loaded = False  # True once the first read is shown

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-main"):
            table: DataTable[Text] = VimTable[Text](id="journal-table", cursor_type="row")
            table.border_title = "Journal"
            yield table
            yield Static("", id="journal-problems", markup=False)
            with Vertical(id="journal-info") as info:
                info.border_title = "Command"
                info.border_subtitle = "y copies"
                yield Static("", id="journal-command", markup=False)
                yield Static("", id="journal-detail", markup=False)
        yield Footer(compact=True)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#journal-table", DataTable)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.table.add_column(label, key=key)
        self._fit_columns()
        self.watch(self.app, "theme", self._restyle, init=False)
        self.set_interval(30, self._tick)
        self.action_reload()

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        table = self.table
        # border 2, one cell of padding each side of every column, scrollbar 1
        room = table.size.width or self.size.width
        target = max(12, room - 2 - 2 * len(COLUMNS) - sum(FIXED.values()) - 1)
        for key, col in table.columns.items():
            col.auto_width = False
            col.width = FIXED.get(str(key.value), target)
        table.refresh()

    # -- reading --------------------------------------------------------------

    def action_reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="journal-read")
    def _read(self) -> None:
        try:
            read = self.journal.read(MAX_ROWS)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never lost
            self.app.call_from_thread(self._show_error, exc)
            return
        self.app.call_from_thread(self._show, read)

    def _show_error(self, exc: Exception) -> None:
        self.problems = (str(exc),)
        box = self.query_one("#journal-problems", Static)
        box.update(str(exc))
        box.set_class(True, "-error")
        box.display = True
        self.loaded = True

    def _show(self, read: JournalRead) -> None:
        table = self.table
        selected = self._selected_key()
        seen: Counter[str] = Counter()
        fresh: dict[str, JournalEntry] = {}
        for entry in read.entries:
            base = entry_key(entry)
            seen[base] += 1
            fresh[f"{base}#{seen[base]}"] = entry
        for key in [k for k in self.entries if k not in fresh]:
            table.remove_row(key)
        now = self.clock()
        added = False
        for order, (key, entry) in enumerate(fresh.items()):
            self.order[key] = order  # file order breaks ties of equal times
            if key in self.entries:
                table.update_cell(key, "when", self._when(key, entry, now))
            else:
                table.add_row(*self._cells(key, entry, now), key=key)
                added = True
        self.entries = fresh
        self.order = {k: v for k, v in self.order.items() if k in fresh}
        if added:
            table.sort("when", key=lambda cell: cell.key, reverse=True)
        self._show_problems(read)
        count = len(fresh)
        newest = f"newest {count}" if count >= MAX_ROWS else str(count)
        table.border_subtitle = f"{newest} {'entry' if count == 1 else 'entries'}"
        if selected in fresh:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        elif count:
            table.move_cursor(row=0, animate=False)
        self._describe(self.selected)
        self.loaded = True

    def _show_problems(self, read: JournalRead) -> None:
        self.problems = tuple(str(p) for p in read.problems)
        box = self.query_one("#journal-problems", Static)
        box.set_class(False, "-error")
        if not self.problems:
            box.display = False
            return
        first = read.problems[0]
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        box.update(f"⚠ {first.file.name}:{first.line}: skipped a corrupt line{more}")
        box.display = True

    def _when(self, key: str, entry: JournalEntry, now: datetime) -> SortText:
        order = (entry.time.timestamp(), self.order.get(key, 0))
        return SortText(when_text(entry.time, now), order)

    def _cells(self, key: str, entry: JournalEntry, now: datetime) -> list[Text]:
        colour = theme_style(self.app, RESULT_COLOUR.get(entry.result, "foreground"))
        return [
            self._when(key, entry, now),
            Text(entry.action, style="bold", no_wrap=True),
            Text(entry.target_text(), no_wrap=True, overflow="ellipsis"),
            Text(entry.result, style=colour, no_wrap=True),
            Text(entry.source, no_wrap=True),
        ]

    def _tick(self) -> None:
        """Ages move on while the screen is open."""
        now = self.clock()
        for key, entry in self.entries.items():
            self.table.update_cell(key, "when", self._when(key, entry, now))

    def _restyle(self) -> None:
        for key, entry in self.entries.items():
            colour = theme_style(self.app, RESULT_COLOUR.get(entry.result, "foreground"))
            self.table.update_cell(key, "result", Text(entry.result, style=colour))

    # -- the highlighted entry ------------------------------------------------

    def _selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - cursor outside the rows while they change
            return None

    @property
    def selected(self) -> JournalEntry | None:
        key = self._selected_key()
        return self.entries.get(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#journal-table")
    def _highlighted(self) -> None:
        self._describe(self.selected)

    def _describe(self, entry: JournalEntry | None) -> None:
        command = self.query_one("#journal-command", Static)
        detail = self.query_one("#journal-detail", Static)
        if entry is None:
            command.update("No actions recorded yet.")
            detail.update(
                "Start, stop, extend, prune, delete or attach here or with the CLI, "
                "and each shows up here with its command."
            )
            return
        command.update(Content(f"$ {entry.command}" if entry.command else "(no command)"))
        who = f"{entry.user} (pid {entry.pid})" if entry.user else f"pid {entry.pid}"
        when = entry.time.strftime("%Y-%m-%d %H:%M:%S")  # as recorded, with no tz guess
        parts = [f"{entry.result} · {entry.source} · {who} · {when}"]
        if entry.detail:
            parts.append(entry.detail)
        detail.update(" · ".join(parts))

    def action_copy(self) -> None:
        entry = self.selected
        if entry is None or not entry.command:
            self.notify("Nothing to copy", severity="warning")
            return
        self.app.copy_to_clipboard(entry.command)
        self.notify(entry.command, title="Copied to the clipboard", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)
