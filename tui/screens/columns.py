"""ColumnsScreen: the column chooser (show, hide and order the table's columns)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import keys_for
from tui.widgets.session_cells import DEFAULT_COLUMNS, LABELS, LOCKED, ColumnChoice

_SHORT = {"escape": "esc"}


class ColumnsScreen(ModalScreen[ColumnChoice | None]):
    """The sessions table's columns in their order, a checkbox each; dismisses
    with the new choice (enter) or None (escape: nothing changes).

    | Key | Action |
    | :- | :- |
    | j/k, down/up | Move the cursor |
    | space | Show / hide the column |
    | J/K, shift+down/up | Move the column down / up |
    | r | Reset to the default columns |
    | enter | Apply |
    | escape | Cancel |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="columns.down"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="columns.up"),
        Binding("space", "toggle_column", "Show/hide", id="columns.toggle"),
        Binding("J,shift+down", "move(1)", "Move down", id="columns.move_down"),
        Binding("K,shift+up", "move(-1)", "Move up", id="columns.move_up"),
        Binding("r", "reset", "Reset", id="columns.reset"),
        Binding("enter", "apply", "Apply", id="columns.apply"),
        Binding("escape", "cancel", "Cancel", id="columns.cancel"),
    ]

    def __init__(self, choice: ColumnChoice, view: str) -> None:
        super().__init__()
        self.order = list(choice.order)
        self.hidden = set(choice.hidden)
        self.view = view
        self.cursor = 0

    @property
    def choice(self) -> ColumnChoice:
        """The choice as it stands in the dialog."""
        return ColumnChoice.of(self.order, self.hidden)

    def compose(self) -> ComposeResult:
        with Vertical(id="columns-box") as box:
            box.border_title = f"Columns of {self.view or 'the default view'}"
            yield Static(id="columns-list")
            yield Static(id="columns-help", markup=False)

    def on_mount(self) -> None:
        # the keys in force (ui.keymap may have moved them)
        def key(ident: str) -> str:
            keys = keys_for(self, ident)
            return _SHORT.get(keys[0], keys[0]) if keys else "?"

        box = self.query_one("#columns-box")
        box.border_subtitle = f"{key('columns.apply')} apply · {key('columns.cancel')} cancel"
        self.query_one("#columns-help", Static).update(
            f"{key('columns.toggle')} show/hide · "
            f"{key('columns.move_down')}/{key('columns.move_up')} move · "
            f"{key('columns.reset')} reset\n"
            "Backend and Name are always shown; TTL only with TTL backends, "
            "Info from 100 columns wide, Stats with S."
        )
        self._draw()

    def _draw(self) -> None:
        lines = Text()
        for at, key in enumerate(self.order):
            box = "[x]" if key not in self.hidden else "[ ]"
            note = "  (always shown)" if key in LOCKED else ""
            line = Text.assemble(f" {box} {LABELS[key]}", (note, "dim"))
            if at == self.cursor:
                line.stylize("reverse")
            if at:
                lines.append("\n")
            lines.append_text(line)
        self.query_one("#columns-list", Static).update(lines)

    def action_cursor(self, step: int) -> None:
        self.cursor = max(0, min(len(self.order) - 1, self.cursor + step))
        self._draw()

    def action_toggle_column(self) -> None:
        key = self.order[self.cursor]
        if key in LOCKED:
            self.notify(f"{LABELS[key]} is always shown", severity="warning", timeout=3)
            return
        self.hidden ^= {key}
        self._draw()

    def action_move(self, step: int) -> None:
        to = self.cursor + step
        if not 0 <= to < len(self.order):
            return
        order = self.order
        order[self.cursor], order[to] = order[to], order[self.cursor]
        self.cursor = to
        self._draw()

    def action_reset(self) -> None:
        self.order = list(DEFAULT_COLUMNS.order)
        self.hidden = set(DEFAULT_COLUMNS.hidden)
        self._draw()

    def action_apply(self) -> None:
        self.dismiss(self.choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
