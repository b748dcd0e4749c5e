"""The dashboard's ways to other screens that need more than a push: the
journal, the orphans, and the merged log of the selected sessions."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget

from core.model import Capability, Session
from tui.context import app_context
from tui.dashboard.log_tail import LogTail


def journal(host: Screen[None]) -> None:
    from core.journal import Journal
    from tui.screens.journal import JournalScreen

    ctx = app_context(host)
    log = ctx.inventory.journal or Journal.default()
    host.app.push_screen(JournalScreen(log, ctx.clock))


def orphans(host: Screen[None]) -> None:
    from tui.screens.orphans import OrphansScreen

    host.app.push_screen(OrphansScreen())


def merged_log(host: Screen[None], targets: list[Session], tail: LogTail, table: Widget) -> None:
    """Tail ``targets`` (those that have logs) in one time-ordered stream; the
    dashboard's own log lets go meanwhile (one reader per log)."""
    from tui.screens.merged_logs import MergedLogScreen

    inv = app_context(host).inventory
    logged = [t for t in targets if Capability.LOGS in inv.backend(t.backend).capabilities]
    if not logged:
        host.notify("No selected session has logs", severity="warning", timeout=3)
        return
    tail.release()  # the pane resumes on return
    # the short name, unless two sources share it
    names = [t.name for t in logged]
    labels = {
        t.ref: t.name if names.count(t.name) == 1 else f"{t.backend}:{t.name}" for t in logged
    }

    def back(_: None) -> None:
        table.focus()

    host.app.push_screen(MergedLogScreen([t.ref for t in logged], labels), back)
