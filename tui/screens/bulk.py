"""BulkScreen: one confirm screen for an action on several sessions.

It shows the count, the bytes and the list, with Cancel focused.  When any
session is in a protected backend, the user types the session's name (one
session) or the count (several) before the action buttons work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from core.model import Session
from tui.formatting import bytes_text, size_text
from tui.screens.confirm import Variant


def typed_word(names: Sequence[str]) -> str:
    """What a protected confirmation asks for: the name of one session, or
    the count of several."""
    return names[0] if len(names) == 1 else str(len(names))


class BulkScreen(ModalScreen[str | None]):
    """Dismisses with the id of the action button pressed, or None.

    | Key | Action |
    | :- | :- |
    | escape, n | Cancel |
    | tab | Move between the list, the typed confirmation and the buttons |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="bulk.cancel"),
        Binding("n", "cancel", "Cancel", show=False, id="bulk.no"),
    ]

    def __init__(
        self,
        verb: str,
        sessions: Sequence[Session],
        choices: Sequence[tuple[str, str, Variant]],
        *,
        typed: bool = False,
        note: str = "",
        skipped: Sequence[tuple[Session, str]] = (),
    ) -> None:
        """``choices``: (id, label, variant) for each action button after
        Cancel; ``skipped``: sessions left out, and why (listed, dimmed)."""
        super().__init__()
        self.verb = verb
        self.sessions = list(sessions)
        self.choices = list(choices)
        self.typed = typed and bool(self.sessions)
        self.note = note
        self.skipped = list(skipped)
        self.expected = typed_word([s.name for s in self.sessions]) if self.sessions else ""
        self.total = sum(s.size.disk for s in self.sessions if s.size is not None)
        self.measured = any(s.size is not None for s in self.sessions)

    def compose(self) -> ComposeResult:
        n = len(self.sessions)
        with Vertical(id="plan-box") as box:
            box.border_title = Content(f"{self.verb}: confirm")  # the count is just below
            if n:
                summary = f"{self.verb} {n} session{'s' if n != 1 else ''}"
                if self.measured:
                    summary += f", {bytes_text(self.total)}"
            else:
                summary = f"Nothing to {self.verb.lower()}."
            if self.skipped:
                summary += f"  ({len(self.skipped)} left out, listed below)"
            yield Label(summary, id="plan-summary", markup=False)
            if self.note:
                yield Static(self.note, id="bulk-note", markup=False)
            yield DataTable(id="plan-table", cursor_type="row")
            with Horizontal(id="plan-buttons"):
                if self.typed:
                    what = "the session name" if n == 1 else "the count"
                    yield Input(
                        placeholder=f"protected: type {self.expected}",
                        tooltip=f"a protected backend: type {what} to confirm",
                        id="plan-typed",
                    )
                yield Button("Cancel", id="cancel")
                for ident, label, variant in self.choices if n else ():
                    yield Button(label, id=ident, variant=variant, disabled=self.typed)

    def on_mount(self) -> None:
        table: DataTable[Text | str] = self.query_one("#plan-table", DataTable)
        table.add_columns("Action", "Backend", "Size", "State", "Session")
        for s in self.sessions:
            table.add_row(
                Text(self.verb.lower(), style="bold"),
                s.backend,
                size_text(s.size, pending="-"),
                s.state.value,
                Text(s.name),
            )
        for s, why in self.skipped:
            table.add_row(
                Text("skip", style="dim"), s.backend, "", Text(why, style="dim"), Text(s.name)
            )
        # the safe choice has the focus: Enter right away cancels; a protected
        # backend's box takes the keys first (the act buttons stay disabled
        # until the word is right, so typing can never act by itself)
        typed = self.query("#plan-typed")
        (typed.first() if typed else self.query_one("#cancel", Button)).focus()

    @on(Input.Changed, "#plan-typed")
    def _typed(self, event: Input.Changed) -> None:
        ok = event.value.strip() == self.expected
        for ident, _, _ in self.choices:
            self.query_one(f"#{ident}", Button).disabled = not ok

    @on(Input.Submitted, "#plan-typed")
    def _submitted(self, event: Input.Submitted) -> None:
        # the right word: Enter moves to the first act button (one more Enter acts)
        first = self.query_one(f"#{self.choices[0][0]}", Button)
        if first.disabled:
            self.app.bell()
        else:
            first.focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
