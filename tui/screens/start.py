"""StartScreen: pick a spec that does not run, or a stopped session, to start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from core.inventory import Startable, StartChoices


def _describe(item: Startable) -> Text:
    line = Text.assemble((item.name, "bold"), "  ", (item.backend, "dim"), "  ", item.what)
    line.truncate(200, overflow="ellipsis")
    return line


class StartScreen(ModalScreen[str | None]):
    """Offers what :meth:`core.inventory.Inventory.startable` found (specs
    that do not run, stopped sessions); Enter starts one, dismissing with its
    key.  With nothing to offer it says why.

    | Key | Action |
    | :- | :- |
    | enter | Start the highlighted spec |
    | escape | Cancel |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="start.cancel"),
    ]

    def __init__(self, choices: StartChoices | Sequence[Startable]) -> None:
        super().__init__()
        self.specs = list(choices)
        self.reason = choices.reason if isinstance(choices, StartChoices) else ""

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box") as box:
            box.border_title = "Start a session"
            box.border_subtitle = "enter start · esc cancel"
            if self.specs:
                yield OptionList(*(Option(_describe(s), id=s.key) for s in self.specs), id="specs")
            else:
                reason = self.reason or "nothing to start (no data yet: refresh with r)"
                yield Label(reason[:1].upper() + reason[1:] + ".", id="start-empty")

    @on(OptionList.OptionSelected, "#specs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
