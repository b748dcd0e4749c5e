"""The live-stats room (S): CPU, memory, growth and turns of the rows on
screen, read in a thread worker, shown in a column and in the details."""

from __future__ import annotations

from textual.screen import Screen

from core.model import Session, SessionRef
from core.stats import SessionStats
from tui.context import AppContext
from tui.dashboard.messages import StatsRead
from tui.stats_text import stats_text
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.sessions_table import SessionsTable


class LiveStats:
    """Reads the stats of the rows on screen (never the whole table), one
    reading at a time: a slow engine is never asked twice at once."""

    # seconds between the two readings of a rate (tmux CPU, a directory's growth)
    interval = 1.0

    def __init__(
        self, host: Screen[None], ctx: AppContext, table: SessionsTable, detail: DetailPanel
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.detail = detail
        self.on = False
        self.stats: dict[SessionRef, SessionStats] = {}

    def text(self, ref: SessionRef) -> str:
        """What the details show for ``ref`` (nothing while stats are off)."""
        return stats_text(self.stats.get(ref)) if self.on else ""

    def turn(self, on: bool) -> None:
        """Stats on (read the rows shown now) or off (forget every reading)."""
        self.on = on
        self.table.show_stats_column(on)
        if on:
            self.read_visible()
        else:
            self.stats.clear()
            self.show()

    def visible_sessions(self) -> list[Session]:
        """The rows on screen now (what stats measure: never the whole table)."""
        t = self.table
        return [t.shown[k] for k in t.visible_keys() if k in t.shown]

    def read_visible(self, *, missing_only: bool = False) -> None:
        """Read the stats of the rows on screen (``missing_only``: only if some
        have none yet, e.g. just scrolled into view; each refresh reads all)."""
        if not self.on:
            return
        if any(w.group == "stats" and w.is_running for w in self.host.workers):
            return
        sessions = self.visible_sessions()
        if missing_only and all(s.ref in self.stats for s in sessions):
            return
        if sessions:
            self.host.run_worker(
                lambda: self._work(sessions),
                name="stats_worker",
                group="stats",
                thread=True,
                exit_on_error=False,
            )

    def _work(self, sessions: list[Session]) -> None:
        got = self.ctx.inventory.stats(sessions, interval=self.interval)
        self.host.post_message(StatsRead(got))

    def read(self, got: list[SessionStats]) -> None:
        """A reading came back (ignored when stats were turned off meanwhile)."""
        if not self.on:
            return
        self.stats.update({s.ref: s for s in got})
        self.table.set_stats({f"{s.ref.backend}:{s.ref.id}": stats_text(s) for s in got})
        self.show()

    def show(self) -> None:
        detail = self.detail
        sel = detail.session
        detail.stats = self.text(sel.ref) if sel is not None else ""
        if sel is not None:
            detail.show(sel, detail.sources)
