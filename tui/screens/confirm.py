"""ConfirmScreen: a question with a choice of buttons; Cancel has the focus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

Variant = Literal["default", "primary", "success", "warning", "error"]


class ConfirmScreen(ModalScreen[str | None]):
    """Dismisses with the id of the button pressed, or None on cancel.

    | Key | Action |
    | :- | :- |
    | escape, n | Cancel |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("n", "cancel", "Cancel", show=False, id="confirm.no"),
    ]

    def __init__(
        self, title: str, message: str, choices: Sequence[tuple[str, str, Variant]]
    ) -> None:
        """``choices``: (id, label, variant) for each button after Cancel."""
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box") as box:
            box.border_title = Content(self.title_text)
            yield Static(self.message, id="confirm-message", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel")
                for ident, label, variant in self.choices:
                    yield Button(label, id=ident, variant=variant)

    def on_mount(self) -> None:
        # the safe choice has the focus: Enter right away cancels
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
