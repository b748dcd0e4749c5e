"""DashboardScreen: health chips, the sessions table, details and a live log.

The screen lays the widgets out and routes: keys to actions, worker results
(Textual messages) to the room that owns the state.  The rooms are in
:mod:`tui.dashboard`: refresh, the log tail, selection, filtering, actions,
prune and layout (see docs/rooms/tui.md).

The keys (``DASHBOARD_BINDINGS``):

| Key | Action |
| :- | :- |
| / | Filter the table with a query (``state:idle age>7d``) |
| r | Refresh now |
| f | Follow the selected session's log on/off |
| z | Show the log full screen, and back |
| l | Focus the log pane (search, filter, copy a line) |
| m | Merged log of the selected sessions |
| a | Attach to the selected session (the app suspends until you detach) |
| s | Start a configured session that is not running |
| x | Stop the selected sessions (confirm: interrupt then kill, or kill now) |
| e | Extend the selected TTL session, or expire it now |
| p | Prune: show the plan, then confirm (within the selection or filter) |
| d | Delete the selected sessions (confirm) |
| space / A | Select a row / all rows shown |
| < > / I | Sort by the previous / next column / invert |
| b | Group by backend on/off |
| R | Jump to a related session |
| y | Copy the session's ref to the clipboard |
| i | Inspect the selected session's whole record |
| : | Command line: :tmux :docker :dirs :kv :json, :<backend>, :<view>, :all |
| 1-9 | The Nth saved view (``views:`` in the config) |
| ctrl+r | Restart the selected session (confirm) |
| S | Live stats of the rows shown on/off (CPU, memory, growth, turns) |
| C | Columns: show, hide, order (saved per view) |
| L | Layout: auto, side by side, stacked (remembered) |
| D | Details pane on/off (stacked: in the log's place) |
| O / J | Orphans / journal |
| ? | Help |
| q | Quit |
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from core.backend import is_sizer, is_ttl_extender
from core.inventory import Snapshot
from core.model import LogLine, Session, SessionRef
from core.relations import Relation
from tui.context import AppContext, app_context
from tui.dashboard import messages as msg
from tui.dashboard import navigate
from tui.dashboard.bindings import DASHBOARD_BINDINGS
from tui.dashboard.columns import Columns
from tui.dashboard.filtering import command_words
from tui.dashboard.refresh import REFRESH_DUTY, REFRESH_WAIT_MAX, refresh_delay
from tui.dashboard.rooms import Rooms, Widgets
from tui.inbox import Inbox
from tui.keys import keys_for
from tui.screens.help import HelpScreen
from tui.widgets.command_line import CommandLine
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.empty_note import EmptyNote
from tui.widgets.filter_box import FilterBox
from tui.widgets.health_bar import HealthBar
from tui.widgets.key_footer import KeyFooter
from tui.widgets.line_table import LineTable
from tui.widgets.log_pane import LogPane
from tui.widgets.sessions_table import SessionsTable

__all__ = ["REFRESH_DUTY", "REFRESH_WAIT_MAX", "DashboardScreen", "refresh_delay"]


class DashboardScreen(Screen[None]):
    """The main screen (its keys: the module's docstring, and help)."""

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Snapshot | None = None
        self._last_key = ""

    @property
    def ctx(self) -> AppContext:
        return app_context(self)

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ctx = self.ctx
        table = SessionsTable(clock=ctx.clock, id="sessions")
        detail = DetailPanel(clock=ctx.clock, id="detail")
        log_pane = LogPane(max_lines=ctx.config.ui.log_lines * 20, id="log")
        box = FilterBox(
            placeholder="filter: words, or a query: state:idle age>7d size>1G (esc clears)",
            id="filter",
            # keys typed ahead land in the box before it has the focus; a
            # select-all on focus would let the next key replace them
            select_on_focus=False,
        )
        table.filter_box = box  # the filter key's typed-ahead keys go there
        box.hand_to = table  # and Enter's typed-behind keys come back
        error = Static("", id="filter-error", markup=False)
        hint = Static("", id="command-hint", markup=False)
        command = CommandLine(command_words(ctx), id="command")
        header = HealthBar(id="health")
        widgets = Widgets(table, detail, log_pane, header, box, error, command, hint)
        rooms = self.rooms = Rooms(
            self,
            ctx,
            widgets,
            refresh=self.action_refresh,
            start_tail=lambda session: self._start_tail(session),  # noqa: PLW0108 - patchable
            after_execute=self._after_execute,
            on_snapshot=self._snapshot_listed,
            on_page=self._page_listed,
        )
        self.table, self.detail, self.log_pane = table, detail, log_pane
        self.refresher, self.tail, self.selection = rooms.refresher, rooms.tail, rooms.selection
        self.filters, self.actions, self.prune = rooms.filters, rooms.actions, rooms.prune
        self.panes, self.live_stats = rooms.panes, rooms.live_stats
        self.stats = self.live_stats.stats  # (the readings, by ref)
        yield header
        with Vertical(id="main"):
            yield table
            yield EmptyNote(id="empty")
            with Horizontal(id="bottom"):
                yield detail
                yield log_pane
        yield error
        yield box
        yield hint
        yield command
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        backends = self.ctx.inventory.backends
        self.table.model.backend_order = {name: i for i, name in enumerate(backends)}
        self.table.sized_backends = {name for name, b in backends.items() if is_sizer(b)}
        # a TTL column (with a live countdown) only when some backend has TTLs
        self.table.show_ttl_column(any(is_ttl_extender(b) for b in backends.values()))
        if self.ctx.live:
            # ages and TTL countdowns: only the rows on screen, redrawn only
            # when a text they show changes (see SessionsTable.tick)
            self.set_interval(1.0, self._tick)
        self.table.border_title = "Sessions"
        self.detail.border_title = "Details"
        self.log_pane.border_title = "Log"
        ui = self.panes.load()
        self.live_stats.on = ui.stats
        self.table.show_stats_column(ui.stats)
        self.columns = Columns(self, self.panes, self.table)
        self.filters.view_changed.append(self.columns.show)
        self.columns.show(self.filters.view_name)
        self.panes.apply()
        self.table.focus()
        self.action_refresh()  # the next one is timed when it is done (RefreshDone)

    def _tick(self) -> None:
        """Every second: the ages and TTLs on screen, the detail panel's
        "(5m ago)" and the clock, each redrawn only when its text changes."""
        self.table.tick()
        self.detail.tick()
        self.query_one(HealthBar).tick(self.ctx.clock())

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted and self.query(DetailPanel):
            self.panes.apply()

    # -- what the rooms need from each other, and the tests from the screen ------

    @property
    def _refreshing(self) -> bool:
        return self.refresher.refreshing

    @property
    def follow(self) -> bool:
        return self.tail.follow

    @property
    def relations(self) -> dict[SessionRef, list[SessionRef]]:
        return self.selection.relations

    @property
    def stats_interval(self) -> float:
        return self.live_stats.interval

    @stats_interval.setter
    def stats_interval(self, seconds: float) -> None:
        self.live_stats.interval = seconds

    @property
    def filter_debounce(self) -> float:
        return self.filters.debounce

    @filter_debounce.setter
    def filter_debounce(self, seconds: float) -> None:
        self.filters.debounce = seconds

    @property
    def view_name(self) -> str:
        return self.filters.view_name

    @property
    def stacked(self) -> bool:
        return self.panes.stacked

    def visible_sessions(self) -> list[Session]:
        return self.live_stats.visible_sessions()

    def _start_tail(self, session: Session) -> None:
        self.tail.start(session)

    @property
    def _inbox(self) -> Inbox[LogLine] | None:
        return self.tail.inbox

    @property
    def _tail_ref(self) -> SessionRef | None:
        return self.tail.ref

    def _stop_tail(self) -> None:
        self.tail.stop()

    def _after_execute(self) -> None:
        self.tail.ref = None
        self.action_refresh()

    # -- worker results (messages) -----------------------------------------------

    @on(msg.RoomMessage)
    def _to_room(self, event: msg.RoomMessage) -> None:
        self.rooms.deliver(event)

    def _snapshot_listed(self, event: msg.SnapshotListed) -> None:
        try:
            self._apply_snapshot(event.snap, event.relations)
        except Exception as exc:  # noqa: BLE001 - the next refresh is timed all the same
            event.failed = True  # the refresh ends there (no sizes), as a raise in it would
            self.log.error(f"applying a refresh failed: {exc!r}")  # noqa: TRY400 - Textual's log

    def _page_listed(self, event: msg.PageListed) -> None:
        """The first pages of a big store, shown while the rest is listed
        (never after a whole listing: a backend that did not answer in time
        may send its first page late)."""
        if self.snapshot is None:
            self.table.sync(event.sessions)
            self.selection.listing = True
            self.selection.update_title()
            self.selection.changed()

    def _apply_snapshot(self, snap: Snapshot, relations: dict[SessionRef, list[Relation]]) -> None:
        first = self.snapshot is None
        self.snapshot = snap
        # after a big store's first page, a cursor still on the top row stays on
        # the top row (other backends' rows may come first); one moved follows
        # its session
        was_listing = self.selection.listing
        on_top = was_listing and self.table.cursor_row == 0
        self.selection.listing = False
        self.selection.set_relations(relations)
        self.query_one(HealthBar).set_health(snap.health, self.ctx.clock())
        if self.table.sync(snap.sessions) or was_listing or first:
            # (the same rows as before: the same title; its sum of sizes goes
            # over every row, 0.5 ms at 10k, every refresh)
            self.selection.update_title()
        if on_top:
            self.table.move_cursor(row=0)
        self.query_one(EmptyNote).show(snap)
        self.selection.changed()

    @on(Inbox.Ready)
    def _lines_ready(self, event: Inbox.Ready) -> None:
        self.tail.lines_ready(event.inbox)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's failure is reported (the log tail, the
        sources and the stats show theirs in place, or not at all)."""
        worker = event.worker
        error = worker.error
        if event.state is not WorkerState.ERROR or error is None:
            return
        if worker.group == "act":
            self.actions.failed(error)
        elif worker.name == "plan_worker":
            self.prune.plan_failed(error)
        elif worker.name in ("refresh", "execute_worker"):
            self.ctx.show_error(error)

    # -- selection -----------------------------------------------------------------

    @on(LineTable.RowHighlighted, "#sessions")
    def _row_highlighted(self) -> None:
        self.selection.changed()
        self.live_stats.read_visible(missing_only=True)  # rows scrolled into view

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.tail.ref is None:
            self.selection.changed()

    def on_unmount(self) -> None:
        self.tail.stop()

    # -- filter, views and the command line ------------------------------------------

    @on(events.DescendantFocus)
    def _focus_moved(self, event: events.DescendantFocus) -> None:
        self.filters.focused(event.widget)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filters.changed(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.filters.submitted()

    @on(Input.Changed, "#command")
    def _command_changed(self, event: Input.Changed) -> None:
        self.filters.command_changed(event.value)

    @on(Input.Submitted, "#command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        self.filters.command_submitted(event.value)

    def show_view(self, name: str) -> None:
        self.filters.show_view(name)

    def on_key(self, event: events.Key) -> None:
        # the view key needs to know which of its keys was pressed; the screen
        # sees the key before the app runs the binding
        self._last_key = event.key

    # -- what the keys can do now ----------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide a key no configured backend can use (the footer stays short at 80
        columns); grey it out when only the selected row cannot use it."""
        if not self.is_mounted:
            return True
        if self.actions.quiet():
            return None  # just back from attach: stray terminal replies are not keys
        if action in ("filter", "command") and self.filters.typing():
            return False  # (priority keys) text in a box: ":" and "/" are letters there
        if action == "filter" and self.log_pane.has_focus_within:
            return False  # the log pane's own "/" (search) shows and runs
        return self.actions.check(action)

    # -- actions ---------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.refresher.start()
        self.live_stats.read_visible()

    def action_filter(self) -> None:
        if self.filters.typing() or self.log_pane.has_focus_within:
            raise SkipAction  # text in a box; the log pane's own search
        self.filters.open()

    def action_command(self) -> None:
        if self.filters.typing():
            raise SkipAction  # a ":" typed in a box (state:idle) is text
        self.filters.open_command()

    def action_clear_filter(self) -> None:
        self.filters.escape()

    def action_jump_view(self, number: int | None = None) -> None:
        """Show saved view ``number`` (1-based; default: from the key pressed)."""
        self.filters.jump_view(number, self._last_key, keys_for(self, "views.jump"))

    def action_toggle_follow(self) -> None:
        sel = self.table.selected
        reopen = self.tail.toggle_follow(sel)
        if sel is None:
            return
        if reopen:
            self.selection.changed()
        follow = self.tail.follow
        self.notify("Following the log" if follow else "Log paused", timeout=2)

    def action_zoom_log(self) -> None:
        if not self.log_pane.display:  # stacked, details in its place: the log first
            self.action_toggle_details()
        if self.maximized is not None:
            self.minimize()
            self.table.focus()
        else:
            self.maximize(self.log_pane, container=False)
            self.log_pane.focus()  # full lines: search, filter and copy work here

    def action_focus_log(self) -> None:
        self.log_pane.focus()

    def action_select(self) -> None:
        if not self.log_pane.has_focus_within:  # space there selects no row behind it
            self.selection.select()

    def action_select_all(self) -> None:
        self.selection.select_all()

    def action_sort(self, step: int) -> None:
        self.selection.sort(step)

    def action_sort_reverse(self) -> None:
        self.selection.sort_reverse()

    def action_group(self) -> None:
        self.selection.group()

    def action_copy_id(self) -> None:
        self.selection.copy_ref()

    def action_related(self) -> None:
        """Jump to the next session related to the selected one."""
        self.selection.jump_related(self.filters.clear_now)

    def action_toggle_stats(self) -> None:
        on = not self.panes.ui.stats
        self.panes.set_stats(on)
        self.live_stats.turn(on)
        self.notify("Live stats on" if on else "Live stats off", timeout=2)

    def action_columns(self) -> None:
        self.columns.open()

    def action_cycle_layout(self) -> None:
        self.panes.cycle()

    def action_toggle_details(self) -> None:
        self.panes.toggle_details()

    def action_start(self) -> None:
        self.actions.start(self.snapshot)

    def action_stop(self) -> None:
        self.actions.stop(self.selection.targets())

    def action_restart(self) -> None:
        self.actions.restart()

    def action_extend(self) -> None:
        self.actions.extend()

    def action_attach(self) -> None:
        self.actions.attach()

    def action_inspect(self) -> None:
        self.actions.inspect()

    def action_prune(self) -> None:
        self.prune.prune(self.selection.acting_marks())

    def action_delete(self) -> None:
        self.prune.delete(self.selection.targets())

    # -- other screens -----------------------------------------------------------

    def action_journal(self) -> None:
        navigate.journal(self)

    def action_orphans(self) -> None:
        navigate.orphans(self)

    def action_merge_logs(self) -> None:
        navigate.merged_log(self, self.selection.targets(), self.tail, self.table)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self))
