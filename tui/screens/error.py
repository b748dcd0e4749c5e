"""ErrorScreen: the one place errors are shown, with their title."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from core.errors import SesstuiError


class ErrorScreen(ModalScreen[None]):
    """A modal with an error's title and the message that says what to do."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="error.close")
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.error_title = title
        self.error_message = message

    @classmethod
    def for_error(cls, error: BaseException) -> ErrorScreen:
        if isinstance(error, SesstuiError):
            return cls(error.title, error.message)
        return cls("Unexpected error", f"{type(error).__name__}: {error}")

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box") as box:
            box.border_title = Content(self.error_title)
            yield Static(self.error_message, id="error-message", markup=False)
            yield Button("OK", id="error-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#error-ok", Button).focus()

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
