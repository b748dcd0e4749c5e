"""The dashboard's rooms built together: each gets the widgets it drives and
the rooms it talks to; and which room takes each worker result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.screen import Screen
from textual.widgets import Static

from core.model import Session
from tui.context import AppContext
from tui.dashboard import messages as msg
from tui.dashboard.actions import SessionActions
from tui.dashboard.filtering import Filters
from tui.dashboard.layout import Layout
from tui.dashboard.log_tail import LogTail
from tui.dashboard.prune import PruneFlow
from tui.dashboard.refresh import Refresher
from tui.dashboard.selection import Selection
from tui.dashboard.stats import LiveStats
from tui.widgets.command_line import CommandLine
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.filter_box import FilterBox
from tui.widgets.health_bar import HealthBar
from tui.widgets.log_pane import LogPane
from tui.widgets.sessions_table import SessionsTable


@dataclass(frozen=True)
class Widgets:
    """The dashboard's widgets that rooms drive."""

    table: SessionsTable
    detail: DetailPanel
    log_pane: LogPane
    header: HealthBar
    box: FilterBox  # the filter
    error: Static  # the filter's mistake, with a caret
    command: CommandLine
    hint: Static  # what the command line would complete to


class Rooms:
    """Every room of one dashboard.  ``refresh`` refreshes now (and reads the
    stats); ``start_tail`` opens a session's log; ``after_execute`` runs once a
    prune or delete is done; ``on_snapshot`` applies a listing, ``on_page``
    the first pages of a big one."""

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        w: Widgets,
        *,
        refresh: Callable[[], None],
        start_tail: Callable[[Session], None],
        after_execute: Callable[[], None],
        on_snapshot: Callable[[msg.SnapshotListed], None],
        on_page: Callable[[msg.PageListed], None],
    ) -> None:
        self.refresher = Refresher(host, ctx, timed=refresh)
        self.tail = tail = LogTail(host, ctx, w.log_pane)
        self.live_stats = LiveStats(host, ctx, w.table, w.detail)
        self.panes = Layout(host, ctx, table=w.table, detail=w.detail, log_pane=w.log_pane)
        self.selection = sel = Selection(
            host,
            ctx,
            w.table,
            detail=w.detail,
            tail=tail,
            stats=self.live_stats,
            view_query=lambda: self.filters.view_query,
            start_tail=start_tail,
        )
        self.filters = Filters(
            host, ctx, w.table, sel,
            box=w.box, error=w.error, command=w.command, hint=w.hint, header=w.header,
        )  # fmt: skip
        self.actions = actions = SessionActions(
            host, ctx, w.table, before_attach=tail.release, refresh=refresh
        )
        self.prune = prune = PruneFlow(
            host, ctx, w.table, before_execute=tail.close_stream, after_execute=after_execute
        )
        self.routes: dict[type[msg.RoomMessage], Callable[[Any], None]] = {
            msg.SnapshotListed: on_snapshot,
            msg.PageListed: on_page,
            msg.SizesMeasured: lambda e: sel.sizes_measured(e.sizes, e.done, e.total),
            msg.RefreshDone: lambda e: self.refresher.done(e.took),
            msg.Notice: lambda e: host.notify(
                e.text, title=e.title, severity=e.severity, timeout=e.timeout
            ),
            msg.SourcesLoaded: lambda e: sel.show_sources(e.session, list(e.sources), e.record),
            msg.TailOpened: lambda e: tail.opened(e.ref, e.follow, e.stream),
            msg.TailFailed: lambda e: tail.failed(e.ref, e.text),
            msg.StatsRead: lambda e: self.live_stats.read(e.stats),
            msg.Progress: lambda e: actions.progress(e.text),
            msg.Acted: lambda e: actions.acted(e.text),
            msg.Planned: lambda e: prune.confirm(e.plans, e.verb, e.exact),
            msg.Executed: lambda e: prune.executed(e.results, e.verb),
        }

    def deliver(self, event: msg.RoomMessage) -> None:
        """A worker's result: to the room that owns what it changes."""
        started = time.thread_time()
        try:
            self.routes[type(event)](event)
        finally:
            event.cost = time.thread_time() - started
            event.handled.set()
