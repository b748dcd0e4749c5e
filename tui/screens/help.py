"""HelpScreen: the keys actually in force (after remapping)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# bindings with these id prefixes are the app's own actions: listed first
OWN = ("sessions.", "logs.", "merged.", "app.")
# generic widget keys that do nothing useful in a row-cursor table
NOISE = {"cursor_left", "cursor_right", "page_left", "page_right", "select_cursor"}


def key_rows(screen: Screen[None]) -> list[tuple[str, str]]:
    """(keys as displayed, description) for every described binding in force,
    the app's own actions first, then navigation.  Keys that do the same
    (``↓`` and ``j``, ``home`` and ``g``) share one row: ``↓, j``."""
    rows: dict[tuple[str, str], list[str]] = {}
    own: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        b = active.binding
        if not b.description or b.action in NOISE:
            continue
        what = (b.action, b.description)
        keys = rows.setdefault(what, [])
        shown = screen.app.get_key_display(b)
        if shown not in keys:
            keys.append(shown)
        if (b.id or "").startswith(OWN):
            own.add(what)
    ordered = [w for w in rows if w in own] + [w for w in rows if w not in own]
    return [(", ".join(rows[w]), w[1]) for w in ordered]


def key_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, description in rows:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key of the screen below it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, parent: Screen[None]) -> None:
        super().__init__()
        self.parent_screen = parent
        self.rows = key_rows(parent)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "esc to close · ctrl+p for all commands"
            yield Static(key_table(self.rows), id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)
