"""ExtendScreen: a new lifetime for a TTL session, or expire it now."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from core.durations import parse_duration
from core.errors import UsageError


class ExtendScreen(ModalScreen[timedelta | None]):
    """Dismisses with the new TTL, ``timedelta(0)`` for expire-now, or None.

    | Key | Action |
    | :- | :- |
    | enter | Extend by what is typed |
    | escape | Cancel |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="extend.cancel"),
    ]

    def __init__(self, target: str, remaining: str) -> None:
        super().__init__()
        self.target = target
        self.remaining = remaining

    def compose(self) -> ComposeResult:
        with Vertical(id="extend-box") as box:
            box.border_title = Content(f"TTL of {self.target}")
            yield Label(Content(f"Expires in {self.remaining}. New lifetime from now:"))
            yield Input(placeholder="e.g. 30m, 2h, 1d", id="extend-ttl")
            yield Label("", id="extend-error")
            with Horizontal(id="extend-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Extend", id="extend", variant="primary")
                yield Button("Expire now", id="expire", variant="error")

    def on_mount(self) -> None:
        self.query_one("#extend-ttl", Input).focus()

    def _ttl(self) -> timedelta | None:
        text = self.query_one("#extend-ttl", Input).value
        error = self.query_one("#extend-error", Label)
        try:
            ttl = parse_duration(text)
        except UsageError as e:
            error.update(Content(e.message))
            return None
        if ttl.total_seconds() <= 0:
            error.update("A lifetime of zero expires the session: use Expire now.")
            return None
        return ttl

    @on(Input.Submitted, "#extend-ttl")
    @on(Button.Pressed, "#extend")
    def _extend(self) -> None:
        ttl = self._ttl()
        if ttl is not None:
            self.dismiss(ttl)

    @on(Button.Pressed, "#expire")
    def _expire(self) -> None:
        self.dismiss(timedelta(0))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
