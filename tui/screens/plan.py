"""PlanScreen: shows exactly what a prune or delete will remove, then asks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label

from core.model import PrunePlan, Session
from tui.formatting import bytes_text
from tui.screens.bulk import typed_word

WHY_WIDTH = 24  # the Why column's width below 100 terminal columns


class PlanScreen(ModalScreen[bool]):
    """The plan → confirm step.  Dismisses with True only on the confirm button.

    | Key | Action |
    | :- | :- |
    | escape, n | Cancel |
    | tab | Move between the list and the buttons |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="plan.cancel"),
        Binding("n", "cancel", "Cancel", show=False, id="plan.no"),
    ]

    def __init__(
        self,
        plans: Sequence[PrunePlan],
        verb: str,
        names: Mapping[str, str] | None = None,
        *,
        typed: bool = False,
        left_out: Sequence[tuple[Session, str]] = (),
    ) -> None:
        """``names`` maps ``backend:id`` to the short name the table shows;
        ``typed`` (a protected backend) makes the user type the session's
        name (one session) or the count (several) first; ``left_out``: the
        selected sessions the action cannot take (their kind has no delete),
        and why, listed as ``skip`` rows."""
        super().__init__()
        self.left_out = list(left_out)
        self.typed = typed
        self.plans = list(plans)
        self.names = dict(names or {})
        self.verb = verb
        self.count = sum(len(p.entries) for p in self.plans)
        self.total = sum(p.total_bytes for p in self.plans)
        # containers and tmux sessions have no byte count: say nothing, not "0 B"
        self.measured = any(e.bytes is not None for p in self.plans for e in p.entries)
        # a protected backend: type the session's name (one) or the count (several)
        entries = [e for p in self.plans for e in p.entries]
        self.expected = typed_word([self.names.get(f"{e.backend}:{e.id}", e.id) for e in entries])

    def compose(self) -> ComposeResult:
        kept = [s for p in self.plans for s in p.skipped]
        with Vertical(id="plan-box") as box:
            box.border_title = f"{self.verb} plan"
            if self.count:
                summary = f"{self.verb} {self.count} session{'s' if self.count != 1 else ''}"
                if self.measured:
                    summary += f", {bytes_text(self.total)}"
            else:
                summary = f"Nothing to {self.verb.lower()}."
            if kept:
                summary += f"  ({len(kept)} kept on purpose, listed below)"
            if self.left_out:
                summary += f"  ({len(self.left_out)} left out, listed below)"
            yield Label(summary, id="plan-summary", markup=False)
            for p in self.plans:
                if p.error:
                    yield Label(
                        f"✕ {p.backend}: cannot plan: {p.error}", classes="plan-error", markup=False
                    )
            table: DataTable[Text] = DataTable(id="plan-table", cursor_type="row")
            yield table
            with Horizontal(id="plan-buttons"):
                if self.count and self.typed:
                    what = "the session name" if self.count == 1 else "the count"
                    yield Input(
                        placeholder=f"protected: type {self.expected}",
                        tooltip=f"a protected backend: type {what} to confirm",
                        id="plan-typed",
                    )
                yield Button("Cancel", id="cancel", variant="default")
                if self.count:
                    yield Button(
                        f"{self.verb} {self.count}"
                        + (f" ({bytes_text(self.total)})" if self.measured else ""),
                        id="confirm",
                        variant="error",
                        disabled=self.typed,
                    )

    def on_mount(self) -> None:
        table = self.query_one("#plan-table", DataTable)
        # what and why first: at 80 columns the session name is what gets cut
        table.add_columns("Action", "Size")
        # a long reason ("active: pid 123 is running (use --force ...)") must not
        # push the session off a narrow screen: below 100 columns it is cut
        table.add_column("Why", width=WHY_WIDTH if self.app.size.width < 100 else None)
        table.add_column("Session")
        for p in self.plans:
            for e in p.entries:
                why = e.reason.value + (f": {e.detail}" if e.detail else "")
                table.add_row(
                    Text(self.verb.lower(), style="bold"),
                    "-" if e.bytes is None else bytes_text(e.bytes),
                    why,
                    self._label_for(e.backend, e.id),
                )  # fmt: skip
            for s in p.skipped:
                table.add_row(
                    Text("keep", style="dim"), "", s.why, self._label_for(s.backend, s.id)
                )
        for session, why in self.left_out:
            table.add_row(Text("skip", style="dim"), "", why, f"{session.backend}:{session.name}")
        # the safe choice has the focus: Enter right away cancels; a protected
        # backend's box takes the keys first (the act button stays disabled
        # until the word is right, so typing can never act by itself)
        typed = self.query("#plan-typed")
        (typed.first() if typed else self.query_one("#cancel", Button)).focus()

    def _label_for(self, backend: str, ident: str) -> str:
        return f"{backend}:{self.names.get(f'{backend}:{ident}', ident)}"

    @on(Input.Changed, "#plan-typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self.expected

    @on(Input.Submitted, "#plan-typed")
    def _submitted(self, event: Input.Submitted) -> None:
        # the right word: Enter moves to the act button (one more Enter acts)
        button = self.query_one("#confirm", Button)
        if button.disabled:
            self.app.bell()
        else:
            button.focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel_button(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
