"""EmptyNote: what the dashboard says in place of rows (no sessions, a backend down)."""

from __future__ import annotations

from textual.widgets import Static

from core.inventory import Snapshot
from core.model import HealthStatus


class EmptyNote(Static):
    """ "No sessions yet.", and a line per backend that is down; hidden when
    there is nothing to say.  Redrawn only when its text changes."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.text = ""

    def show(self, snap: Snapshot) -> None:
        down = [h for h in snap.health if h.status is HealthStatus.UNAVAILABLE]
        lines = [f"✕ {h.backend}: {h.reason}" for h in down]
        if not snap.sessions:
            lines.insert(0, "No sessions yet." if not down else "No sessions to show.")
        text = "\n".join(lines)
        if text != self.text:  # nothing changed, nothing redrawn
            self.text = text
            self.update(text)
        self.display = bool(lines)
