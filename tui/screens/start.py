"""StartScreen: pick a configured session spec that is not running."""

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

from core.settings import SessionSpec


def _describe(spec: SessionSpec) -> Text:
    command = " ".join(spec.command) if spec.command else "(default shell)"
    line = Text.assemble((spec.name, "bold"), "  ", (spec.backend, "dim"), "  ", command)
    line.truncate(200, overflow="ellipsis")
    return line


class StartScreen(ModalScreen[str | None]):
    """Offers the specs that are not running; Enter starts one.

    | Key | Action |
    | :- | :- |
    | enter | Start the highlighted spec |
    | escape | Cancel |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="start.cancel"),
    ]

    def __init__(self, specs: Sequence[SessionSpec]) -> None:
        super().__init__()
        self.specs = list(specs)

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box") as box:
            box.border_title = "Start a session"
            box.border_subtitle = "enter start · esc cancel"
            if self.specs:
                yield OptionList(*(Option(_describe(s), id=s.name) for s in self.specs), id="specs")
            else:
                yield Label(
                    "Nothing to start: every spec under `sessions:` is running, "
                    "or none is configured (see config.example.yml).",
                    id="start-empty",
                )

    @on(OptionList.OptionSelected, "#specs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
