"""DashboardScreen: health chips, the sessions table, details and a live log."""

from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, get_current_worker

from core.backend import LineStream, Restartable, pump
from core.durations import duration_text
from core.errors import ActionFailed
from core.history import answered, since_last_open
from core.inventory import Inventory, Snapshot, describe_error
from core.model import (
    Capability,
    HealthStatus,
    LogLine,
    PrunePlan,
    PruneResult,
    Session,
    SessionRef,
    SizeInfo,
)
from core.query import QueryError, parse_query
from core.registry import known_kinds
from core.relations import Relation, related_with_reasons
from core.stats import SessionStats
from core.uistate import LAYOUTS, UiState
from tui.formatting import bytes_text
from tui.inbox import Inbox
from tui.screens.bulk import BulkScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.extend import ExtendScreen
from tui.screens.help import HelpScreen
from tui.screens.inspect import InspectScreen
from tui.screens.plan import PlanScreen
from tui.screens.start import StartScreen
from tui.stats_text import stats_text
from tui.widgets.command_line import CommandLine
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.health_bar import HealthBar
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_pane import LogPane
from tui.widgets.sessions_table import SessionsTable

if TYPE_CHECKING:
    from tui.app import SesstuiApp


# seconds after coming back from attach during which keys start no action
QUIET_AFTER_RESUME = 0.5
# The periodic refresh takes at most this share of the time: a big store whose
# listing takes longer than ui.refresh_seconds must not keep the app busy.
REFRESH_DUTY = 0.005
REFRESH_WAIT_MAX = 60.0  # ... but it is never further apart than this


def refresh_delay(interval: float, took: float) -> float:
    """Seconds from the end of a refresh that cost ``took`` s of CPU to the next one:
    ``interval`` (``ui.refresh_seconds``), or longer so that refreshing takes at
    most :data:`REFRESH_DUTY` of the time (never longer than
    :data:`REFRESH_WAIT_MAX`, nor shorter than ``interval``)."""
    rest = took / REFRESH_DUTY - took
    return max(interval, min(REFRESH_WAIT_MAX, rest))


# below this many columns the "auto" layout stacks the log under the table, full width
STACK_BELOW = 120


class DashboardScreen(Screen[None]):
    """The main screen.

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
    | L | Layout: auto, side by side, stacked (remembered) |
    | D | Details pane on/off (stacked: in the log's place) |
    | O / J | Orphans / journal |
    | ? | Help |
    | q | Quit |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # "/" and ":" are priority bindings: they run as the key arrives, in
        # order, before the keys behind them in the same burst reach the
        # table ("/state:idle" or ":docker" sent at once over SSH); in a text
        # box or the log pane they step aside (SkipAction)
        Binding("slash", "filter", "Filter", id="sessions.filter", priority=True),
        Binding("r", "refresh", "Refresh", show=False, id="sessions.refresh"),
        # the log pane's title shows these two, so the footer fits 80 columns
        Binding("f", "toggle_follow", "Follow", show=False, id="logs.follow"),
        Binding("z", "zoom_log", "Zoom log", show=False, id="logs.zoom"),
        Binding("l", "focus_log", "Log", show=False, id="logs.focus"),
        Binding("m", "merge_logs", "Merged log", show=False, id="logs.merge"),
        Binding("a", "attach", "Attach", id="sessions.attach"),
        Binding("s", "start", "Start", id="sessions.start"),
        Binding("x", "stop", "Stop", id="sessions.stop"),
        Binding("e", "extend", "TTL", id="sessions.extend"),
        Binding("p", "prune", "Prune", id="sessions.prune"),
        Binding("d", "delete", "Delete", id="sessions.delete"),
        Binding("space", "select", "Select", show=False, id="sessions.select"),
        Binding("A", "select_all", "Select all", show=False, id="sessions.select_all"),
        Binding("greater_than_sign", "sort(1)", "Sort →", show=False, id="sessions.sort_next"),
        Binding("less_than_sign", "sort(-1)", "Sort ←", show=False, id="sessions.sort_prev"),
        Binding("I", "sort_reverse", "Invert sort", show=False, id="sessions.sort_reverse"),
        Binding("b", "group", "Group", show=False, id="sessions.group"),
        Binding("R", "related", "Related", show=False, id="sessions.related"),
        Binding("y", "copy_id", "Copy id", show=False, id="sessions.copy"),
        Binding("i", "inspect", "Inspect", show=False, id="sessions.inspect"),
        Binding("colon", "command", "Command", show=False, id="sessions.command", priority=True),
        Binding(
            "1,2,3,4,5,6,7,8,9", "jump_view", "View", key_display="1-9", show=False, id="views.jump"
        ),
        Binding("ctrl+r", "restart", "Restart", show=False, id="sessions.restart"),
        Binding("S", "toggle_stats", "Stats", show=False, id="sessions.stats"),
        Binding("L", "cycle_layout", "Layout", show=False, id="layout.cycle"),
        Binding("D", "toggle_details", "Details", show=False, id="layout.details"),
        Binding("O", "orphans", "Orphans", show=False, id="app.orphans"),
        Binding("J", "journal", "Journal", show=False, id="app.journal"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "app.quit", "Quit", id="app.quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="sessions.clear_filter"),
    ]

    app: SesstuiApp  # narrowed for our app's attributes

    def __init__(self) -> None:
        super().__init__()
        self._stream: LineStream | None = None
        self._inbox: Inbox[LogLine] | None = None  # the lines of the log followed now
        self._tail_ref: SessionRef | None = None
        self.follow = True
        self._refreshing = False
        self._next_refresh: Timer | None = None
        self._refreshed = False  # a refresh has timed the next one
        self._settle_queued = False  # _settle runs after the next repaint
        self._sources_ref: SessionRef | None = None  # whose log files the panel lists
        self._bindings_key: object = None  # what the footer was last refreshed for
        self._empty_text = ""
        self._compared = False  # since-last-open runs once, after the first listing
        self._quiet_until = 0.0  # keys start no action before this (monotonic)
        self.snapshot: Snapshot | None = None
        self.relations: dict[SessionRef, list[SessionRef]] = {}
        self.related_info: dict[SessionRef, list[Relation]] = {}
        # how many related-jumps were made from each session (to cycle)
        self._related_turn: dict[SessionRef, int] = {}
        self.ui = UiState()  # layout preferences, loaded on mount
        # the view in force (":docker", ":stale") and its query, AND-ed with the filter
        self.view_name = ""
        self.view_query = ""
        self._filter_timer: Timer | None = None
        self._last_key = ""
        # live stats of the rows on screen, by ref (S turns them on)
        self.stats: dict[SessionRef, SessionStats] = {}
        # rows a bulk delete leaves out (their kind has no delete), and why
        self._left_out: list[tuple[Session, str]] = []

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        clock = self.app.clock
        yield HealthBar(id="health")
        with Vertical(id="main"):
            table = SessionsTable(clock=clock, id="sessions")
            yield table
            yield Static("", id="empty")
            with Horizontal(id="bottom"):
                yield DetailPanel(clock=clock, id="detail")
                yield LogPane(max_lines=self.app.config.ui.log_lines * 20, id="log")
        yield Static("", id="filter-error", markup=False)
        yield Input(
            placeholder="filter: words, or a query: state:idle age>7d size>1G (esc clears)",
            id="filter",
            # keys typed ahead land in the box before it has the focus; a
            # select-all on focus would let the next key replace them
            select_on_focus=False,
        )
        yield Static("", id="command-hint", markup=False)
        yield CommandLine(self._command_words(), id="command")
        yield KeyFooter(compact=True)

    @property
    def table(self) -> SessionsTable:
        return self.query_one(SessionsTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    def on_mount(self) -> None:
        backends = self.app.inventory.backends
        self.table.backend_order = {name: i for i, name in enumerate(backends)}
        self.table.sized_backends = {
            name for name, b in backends.items() if Capability.SIZES in b.capabilities
        }
        # a TTL column (with a live countdown) only when some backend has TTLs
        self.table.show_ttl_column(
            any(Capability.EXTEND in b.capabilities for b in backends.values())
        )
        if self.app.live:
            # ages and TTL countdowns: only the rows on screen, redrawn only
            # when a text they show changes (see SessionsTable.tick)
            self.set_interval(1.0, self._tick)
        self.table.border_title = "Sessions"
        self.query_one(DetailPanel).border_title = "Details"
        self.log_pane.border_title = "Log"
        self._load_ui_state()
        self.table.focus()
        self.action_refresh()  # the next one is timed when it is done (_refresh_done)

    def _tick(self) -> None:
        """Every second: the ages and TTLs on screen, and the detail panel's
        "(5m ago)", each redrawn only when its text changes."""
        self.table.tick()
        self.query_one(DetailPanel).tick()

    def _on_interval(self) -> None:
        self._next_refresh = None
        if not self._refreshing:  # a refresh under way times the next one itself
            self.action_refresh()

    # -- refresh (a thread worker; results come back by call_from_thread) -----

    def action_refresh(self) -> None:
        self._refreshing = True
        self.refresh_worker()
        if self.ui.stats:
            self._measure_visible()

    @work(thread=True, exclusive=True, group="refresh", name="refresh", exit_on_error=False)
    def refresh_worker(self) -> None:
        worker = get_current_worker()
        # the app's CPU time (every thread), not the wall clock: a refresh that
        # waits on a slow server costs nothing; one that keeps a core busy does
        started = time.process_time()
        try:
            self._refresh_once(worker)
        finally:
            # however the refresh ended (an error in the UI side of it too),
            # the next one is timed; a cancelled one leaves that to its successor
            if not worker.is_cancelled:
                self.app.call_from_thread(self._refresh_done, time.process_time() - started)

    def _refresh_once(self, worker: Worker[None]) -> None:
        try:
            snap = self.app.inventory.refresh()
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.app.call_from_thread(self.app.show_error, exc)
            return
        if worker.is_cancelled:
            return
        relations = related_with_reasons(snap.sessions)  # file system calls: not on the UI
        self.app.call_from_thread(self._apply_snapshot, snap, relations)
        measurable = self.app.inventory.measurable(snap.sessions)
        batch: list[tuple[SessionRef, SizeInfo]] = []
        sizes: dict[SessionRef, SizeInfo] = {}
        done = 0
        last_post = time.monotonic()
        try:
            for ref, size in self.app.inventory.measure(measurable):
                if worker.is_cancelled:
                    return
                batch.append((ref, size))
                sizes[ref] = size
                done += 1
                if time.monotonic() - last_post > 0.1:
                    self.app.call_from_thread(self._apply_sizes, batch, done, len(measurable))
                    batch = []
                    last_post = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - sizes are extras; the table stays
            if not worker.is_cancelled:
                title = getattr(exc, "title", "Sizes")
                self.app.call_from_thread(
                    self.notify, describe_error(exc), title=title, severity="warning"
                )
        # a session gone between listing and measuring is never measured: the
        # count ends here, whatever it reached (call_from_thread waits for the
        # UI: the refresh's cost counts its work on the rows too)
        self.app.call_from_thread(self._apply_sizes, batch, len(measurable), len(measurable))
        if not self._compared:
            self._compared = True
            self._since_last_open(snap, sizes)

    def _since_last_open(self, snap: Snapshot, sizes: dict[SessionRef, SizeInfo]) -> None:
        """Once per run, after the first full listing: what appeared, went or
        grew since the previous run (thread side; the notice goes to the UI)."""
        history = self.app.history
        if history is None:
            return
        sessions = [s.with_size(sizes[s.ref]) if s.ref in sizes else s for s in snap.sessions]
        changes = since_last_open(
            history, sessions, answered(snap.health), grow_bytes=self.app.config.ui.grow_notice
        )
        if changes:
            self.app.call_from_thread(
                self.notify, changes.summary(), title="Since last open", timeout=15
            )

    def _refresh_done(self, took: float) -> None:
        """A refresh is over (it cost ``took`` s of CPU): time the next one."""
        self._refreshing = False
        interval = self.app.config.ui.refresh_seconds
        if interval > 0 and self.app.live:
            if self._next_refresh is not None:
                self._next_refresh.stop()  # one pending refresh at most ('r' meanwhile)
            # the first one overlaps the start (drawing the first screen): not a measure
            delay = refresh_delay(interval, took) if self._refreshed else interval
            self._refreshed = True
            self._next_refresh = self.set_timer(delay, self._on_interval)

    def _apply_snapshot(self, snap: Snapshot, relations: dict[SessionRef, list[Relation]]) -> None:
        self.snapshot = snap
        self.related_info = relations
        self.relations = {ref: [r.ref for r in rels] for ref, rels in self.related_info.items()}
        self.query_one(HealthBar).set_health(snap.health, self.app.clock())
        self.table.sync(snap.sessions)
        self._update_title()
        self._update_empty(snap)
        self._selection_changed()

    def _apply_sizes(self, sizes: list[tuple[SessionRef, SizeInfo]], done: int, total: int) -> None:
        if sizes:
            self.table.update_sizes(sizes)
            sel = self.table.selected
            if sel is not None and any(r == sel.ref for r, _ in sizes):
                detail = self.query_one(DetailPanel)
                detail.show(sel, detail.sources)
        self.table.border_subtitle = f"measuring {done}/{total}" if done < total else ""
        self._update_title()

    def _update_title(self) -> None:
        t = self.table
        shown, total = len(t.shown), len(t.sessions)
        count = f"{shown}/{total}" if t.filter_text else f"{total}"
        title = f"Sessions {count} · {bytes_text(t.total_bytes())}"
        marked = t.marked_unordered()
        if marked:
            title += f" · {len(marked)} selected"
            if any(m.size is not None for m in marked):  # tmux and containers have no size
                title += f" ({bytes_text(t.total_bytes(marked))})"
            hidden = sum(1 for m in marked if f"{m.backend}:{m.id}" not in t.shown)
            if hidden:
                title += f", {hidden} hidden"
        typed = t.filter_text
        if self.view_query and typed.startswith(self.view_query):
            typed = typed[len(self.view_query) :].strip()  # the view is in the header
        if typed:
            title += f" · filter: {typed}"
        if str(t.border_title or "") != title:
            t.border_title = Content(title)  # plain text: a filter like "[/" is not markup

    def _update_empty(self, snap: Snapshot) -> None:
        empty = self.query_one("#empty", Static)
        down = [h for h in snap.health if h.status is HealthStatus.UNAVAILABLE]
        lines = [f"✕ {h.backend}: {h.reason}" for h in down]
        if not snap.sessions:
            lines.insert(0, "No sessions yet." if not down else "No sessions to show.")
        text = "\n".join(lines)
        if text != self._empty_text:  # nothing changed, nothing redrawn
            self._empty_text = text
            empty.update(text)
        empty.display = bool(lines)

    # -- selection, details and the live log ----------------------------------

    @on(DataTable.RowHighlighted, "#sessions")
    def _row_highlighted(self) -> None:
        self._selection_changed()
        if self.ui.stats:
            self._measure_visible(missing_only=True)  # rows scrolled into view

    def _selection_changed(self) -> None:
        """The cursor moved (or rows changed): the footer now; the details,
        the log and its list of files once the move is drawn (see _settle)."""
        sel = self.table.selected
        self._refresh_bindings_for(sel)
        if sel is None:
            self.query_one(DetailPanel).show(None)
            self._stop_tail()
            self.log_pane.message("")
            self.log_pane.border_title = "Log"  # nothing is followed
            self._tail_ref = None
            return
        if not self._settle_queued:
            # After the next repaint, for whatever row the cursor is on then:
            # the cursor moves at once (a frame of its own, as in a plain
            # table), and a key held down (or typed ahead) opens one log at
            # the end, not one per row passed.
            self._settle_queued = True
            self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        """Show the selected session's details, open its log, list its logs."""
        self._settle_queued = False
        sel = self.table.selected
        if sel is None or not self.is_mounted:
            return
        detail = self.query_one(DetailPanel)
        detail.related = self._related_names(sel)
        detail.stats = stats_text(self.stats.get(sel.ref)) if self.ui.stats else ""
        detail.sized = sel.backend in self.table.sized_backends
        if detail.session is None or detail.session.ref != sel.ref:
            detail.record = ""
            detail.show(sel)
            self._sources_ref = None
        elif detail.session != sel:
            detail.show(sel, detail.sources)
        if self._sources_ref != sel.ref:
            self._sources_ref = sel.ref
            self.load_sources(sel)
        if sel.ref != self._tail_ref and self.app.screen is self:
            # behind another screen (the merged log reads these logs itself)
            # the tail waits; on_screen_resume starts it again
            self._start_tail(sel)

    def _refresh_bindings_for(self, sel: Session | None) -> None:
        """Refresh the footer when what it offers may change: another kind of
        row, attachable or not, or another selection (not on every row)."""
        marked = frozenset(m.backend for m in self.table.marked_unordered())
        key = (sel.backend if sel else None, sel.attachable if sel else None, marked)
        if key != self._bindings_key:
            self._bindings_key = key
            self.refresh_bindings()

    def _related_names(self, session: Session) -> list[str]:
        shown = self.table.sessions
        out = []
        for rel in self.related_info.get(session.ref, []):
            ref = rel.ref
            other = shown.get(f"{ref.backend}:{ref.id}")
            out.append(f"{ref.backend}:{other.name if other else ref.id} ({rel.why})")
        return out

    @work(thread=True, exclusive=True, group="sources", exit_on_error=False)
    def load_sources(self, session: Session) -> None:
        backend = self.app.inventory.backend(session.backend)
        try:
            sources = backend.logs(session.id)
        except Exception:  # noqa: BLE001 - the panel just lists no logs
            sources = []
        # record-backed sessions (JSON files) can show the record itself
        record_text = getattr(backend, "record_text", None)
        record = ""
        if callable(record_text):
            try:
                record = str(record_text(session.id))
            except Exception as exc:  # noqa: BLE001 - shown in place of the record
                record = f"(cannot read the record: {describe_error(exc)})"
        self.app.call_from_thread(self._show_sources, session, sources, record)

    def _show_sources(self, session: Session, sources: list, record: str = "") -> None:  # type: ignore[type-arg]
        detail = self.query_one(DetailPanel)
        if detail.session is not None and detail.session.ref == session.ref:
            detail.record = record
            detail.show(detail.session, sources)

    def _start_tail(self, session: Session) -> None:
        self._stop_tail()
        self._tail_ref = session.ref
        backend = self.app.inventory.backend(session.backend)
        if Capability.LOGS not in backend.capabilities:
            self.log_pane.message(f"{session.kind} sessions have no logs here")
            self.log_pane.border_title = "Log"
            return
        self.log_pane.reset(session.name)
        self.log_pane.border_title = "Log · loading…"
        self._inbox = Inbox(self, self.log_pane.max_lines, self.log_pane.add)
        self.tail_worker(session.ref, self.follow, self._inbox)

    def _stop_tail(self) -> None:
        if self._inbox is not None:
            self._inbox.close()  # lines of the old log still on their way are dropped
        self._inbox = None
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()  # wakes the worker blocked in read_available
        for w in self.workers:
            if w.group == "tail":
                w.cancel()

    @work(thread=True, exclusive=True, group="tail", exit_on_error=False)
    def tail_worker(self, ref: SessionRef, follow: bool, inbox: Inbox[LogLine]) -> None:
        worker = get_current_worker()
        lines = self.app.config.ui.log_lines
        try:
            stream = self.app.inventory.tail(ref, lines=lines, follow=follow)
        except Exception as exc:  # noqa: BLE001 - shown in the log pane
            self.app.call_from_thread(self._tail_failed, ref, describe_error(exc))
            return
        if worker.is_cancelled:
            stream.close()
            return
        # hand the stream over on the UI thread, where _stop_tail reads it, so
        # a cancelled older worker can never replace a newer worker's stream
        self.app.call_from_thread(self._tail_started, ref, follow, stream)
        try:
            if not follow:
                inbox.put(list(stream))
                return
            # Ends when the stream is done (a JSON transcript, a stopped
            # container) or closed (_stop_tail): never spins.  The inbox never
            # waits for the UI, which takes a batch per turn (_lines_ready).
            pump(stream, inbox.put, stop=lambda: worker.is_cancelled)
        except Exception as exc:  # noqa: BLE001 - shown in the log pane
            if not worker.is_cancelled and not stream.closed:
                self.app.call_from_thread(self._tail_failed, ref, describe_error(exc))
        finally:
            stream.close()

    def _tail_started(self, ref: SessionRef, follow: bool, stream: LineStream) -> None:
        if ref != self._tail_ref:
            stream.close()  # the selection moved on while it opened
            return
        if self._stream is not None and self._stream is not stream:
            self._stream.close()
        self._stream = stream
        path = getattr(stream, "path", None)
        src = f" · {Path(str(path)).name}" if path else ""
        state = "following · f pause · z zoom" if follow else "paused · f follow · z zoom"
        self.log_pane.border_title = Content(f"Log{src} · {state}")
        self.log_pane.following = follow

    @on(Inbox.Ready)
    def _lines_ready(self, event: Inbox.Ready) -> None:
        if event.inbox is self._inbox:
            self._inbox.ready()  # appends a batch now, or when its frame comes

    def _tail_failed(self, ref: SessionRef, message: str) -> None:
        if ref == self._tail_ref:
            if self._inbox is not None:
                self._inbox.close()  # the message takes the pane's place
            self.log_pane.message(message)
            self.log_pane.border_title = "Log"

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        sel = self.table.selected
        if sel is None:
            return
        if self.follow:
            self._tail_ref = None
            self._selection_changed()
        else:
            self._stop_tail()
            self.log_pane.border_title = (
                self.log_pane.border_title.replace("following · f pause", "paused · f follow")
                if self.log_pane.border_title
                else "Log · paused"
            )
        self.notify("Following the log" if self.follow else "Log paused", timeout=2)

    def action_zoom_log(self) -> None:
        if not self.log_pane.display:  # stacked, details in its place: the log first
            self.action_toggle_details()
        if self.maximized is not None:
            self.minimize()
            self.table.focus()
        else:
            self.maximize(self.log_pane, container=False)
            self.log_pane.focus()  # full lines: search, filter and copy work here

    # -- the command line (:) and views ------------------------------------------

    def _command_words(self) -> list[str]:
        """What ``:`` completes: the kinds, the backends, the saved views, all."""
        cfg = self.app.config
        return [*known_kinds(), *(b.name for b in cfg.backends), *cfg.views, "all"]

    def resolve_command(self, text: str) -> tuple[str, str] | None:
        """``(view name, query)`` for a command (``docker``, ``runs``,
        ``stale``); ``("", "")`` for ``all`` or nothing; None when unknown.
        A kind comes first, then a backend, then a saved view."""
        word = text.strip().removeprefix(":").strip()
        if word.lower() in ("", "all"):
            return ("", "")
        kinds = {k.lower(): k for k in known_kinds()}
        if word.lower() in kinds:
            return (f":{kinds[word.lower()]}", f"kind:{kinds[word.lower()]}")
        for b in self.app.config.backends:
            if b.name == word:
                return (f":{b.name}", f'backend:"{b.name}"')
        if word in self.app.config.views:
            return (f":{word}", self.app.config.views[word])
        return None

    def action_command(self) -> None:
        if self._typing():
            raise SkipAction  # a ":" typed in a box (state:idle) is text
        line = self.query_one(CommandLine)
        line.display = True
        # keys typed in the same burst as ":" are queued on the table: they go
        # to the box until it has the focus (the table forwards them)
        self.table.typeahead_target = line
        line.focus()
        self._command_hint(line.value)

    @on(events.DescendantFocus)
    def _command_focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, CommandLine):
            self.table.typeahead_target = None

    @on(Input.Changed, "#command")
    def _command_changed(self, event: Input.Changed) -> None:
        event.input.remove_class("-invalid")
        self._command_hint(event.value)

    def _command_hint(self, text: str, error: str = "") -> None:
        hint = self.query_one("#command-hint", Static)
        hint.set_class(bool(error), "-error")
        if error:
            hint.update(error)
        else:
            found = self.query_one(CommandLine).matches(text)
            hint.update("  ".join(f":{w}" for w in found) if found else "no match")
        hint.display = True

    @on(Input.Submitted, "#command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        resolved = self.resolve_command(event.value)
        if resolved is None:
            event.input.add_class("-invalid")
            words = ", ".join(self.query_one(CommandLine).matches("")[:12])
            self._command_hint(event.value, f"unknown: {event.value.strip()!r}; try {words}")
            return
        self._close_command()
        self.set_view(*resolved)

    def _close_command(self) -> None:
        line = self.query_one(CommandLine)
        with line.prevent(Input.Changed):
            line.value = ""
        line.remove_class("-invalid")
        line.display = False
        self.query_one("#command-hint", Static).display = False
        self.table.typeahead_target = None
        self.table.focus()

    def set_view(self, name: str, query: str) -> None:
        """Show only the rows of a view (``""``: all rows); the filter box's
        query still applies within it.  The header names the view."""
        self.view_name, self.view_query = name, query
        self.query_one(HealthBar).view = name
        self.apply_filter(self.query_one("#filter", Input).value)

    def on_key(self, event: events.Key) -> None:
        # the view key needs to know which of its keys was pressed; the screen
        # sees the key before the app runs the binding
        self._last_key = event.key

    def _view_keys(self) -> list[str]:
        """The keys bound to ``views.jump`` in force (after ``ui.keymap``), in
        order: the Nth shows the Nth saved view."""
        bindings = self._bindings.copy()
        keymap = self.app._keymap  # as Textual applies it (Screen._binding_chain)
        if keymap:
            bindings.apply_keymap(keymap)
        return [
            key
            for key, found in bindings.key_to_bindings.items()
            if any(b.id == "views.jump" for b in found)
        ]

    def action_jump_view(self, number: int | None = None) -> None:
        """Show saved view ``number`` (1-based; default: from the key pressed)."""
        if number is None:
            keys = self._view_keys()
            if self._last_key not in keys:
                return
            number = keys.index(self._last_key) + 1
        views = list(self.app.config.views)
        if not 1 <= number <= len(views):
            have = f"views 1-{len(views)}" if views else "no saved views (views: in the config)"
            self.notify(f"No view {number}: {have}", severity="warning", timeout=3)
            return
        self.show_view(views[number - 1])

    # -- restart and live stats (a column of the table, and the details) ----------

    def _restartable(self, session: Session) -> bool:
        inv = self.app.inventory
        spec = inv.specs.get(session.id)
        return isinstance(inv.backend(session.backend), Restartable) or (
            spec is not None and spec.backend == session.backend
        )

    def _can_restart(self) -> bool | None:
        """Hidden when nothing configured can restart; grey for a row that cannot."""
        inv = self.app.inventory
        if not inv.specs and not any(isinstance(b, Restartable) for b in inv.backends.values()):
            return False
        sel = self.table.selected if self.query(SessionsTable) else None
        return True if sel is not None and self._restartable(sel) else None

    def action_restart(self) -> None:
        sel = self.table.selected
        if sel is None or not self._restartable(sel):
            return
        inv = self.app.inventory
        wait = inv.stop_timeout(sel.ref)
        how = inv.stop_description(sel.ref, timeout=wait).brief
        if isinstance(inv.backend(sel.backend), Restartable):
            message = f"The engine restarts it: {how}, then it starts again (the same {sel.kind})."
        else:
            message = f"It gets {how}, then starts again from its spec (sessions.{sel.id})."

        def chosen(answer: str | None) -> None:
            if answer == "restart":
                self.table.border_subtitle = f"restarting {sel.name}…"
                self.restart_worker(sel.ref, wait)

        self.app.push_screen(
            ConfirmScreen(
                f"Restart {sel.backend}:{sel.name}?", message, [("restart", "Restart", "warning")]
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="act", exit_on_error=False)
    def restart_worker(self, ref: SessionRef, timeout: float) -> None:
        try:
            session = self.app.inventory.restart(ref, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._act_failed, exc)
            return
        self.app.call_from_thread(self._acted, f"Restarted {session.ref}")

    # seconds between the two readings of a rate (tmux CPU, a directory's growth)
    stats_interval = 1.0

    def action_toggle_stats(self) -> None:
        self.ui = replace(self.ui, stats=not self.ui.stats)
        self._save_ui_state()
        self.table.show_stats_column(self.ui.stats)
        if self.ui.stats:
            self._measure_visible()
        else:
            self.stats.clear()
            self._show_stats()
        self.notify("Live stats on" if self.ui.stats else "Live stats off", timeout=2)

    def visible_sessions(self) -> list[Session]:
        """The rows on screen now (what stats measure: never the whole table)."""
        t = self.table
        return [t.shown[k] for k in t.visible_keys() if k in t.shown]

    def _measure_visible(self, *, missing_only: bool = False) -> None:
        """Read the stats of the rows on screen (``missing_only``: only if some
        have none yet, e.g. just scrolled into view; each refresh reads all)."""
        # one reading at a time: a slow engine is never asked twice at once
        if any(w.group == "stats" and w.is_running for w in self.workers):
            return
        sessions = self.visible_sessions()
        if missing_only and all(s.ref in self.stats for s in sessions):
            return
        if sessions:
            self.stats_worker(sessions)

    @work(thread=True, group="stats", exit_on_error=False)
    def stats_worker(self, sessions: list[Session]) -> None:
        got = self.app.inventory.stats(sessions, interval=self.stats_interval)
        self.app.call_from_thread(self._stats_measured, got)

    def _stats_measured(self, got: list[SessionStats]) -> None:
        if not self.ui.stats:
            return  # turned off while measuring
        self.stats.update({s.ref: s for s in got})
        self.table.set_stats({f"{s.ref.backend}:{s.ref.id}": stats_text(s) for s in got})
        self._show_stats()

    def _show_stats(self) -> None:
        detail = self.query_one(DetailPanel)
        sel = detail.session
        detail.stats = stats_text(self.stats.get(sel.ref)) if sel and self.ui.stats else ""
        if sel is not None:
            detail.show(sel, detail.sources)

    # -- layout -----------------------------------------------------------------

    def _load_ui_state(self) -> None:
        store = self.app.ui_state
        self.ui = store.load() if store is not None else UiState()
        self.table.show_stats_column(self.ui.stats)
        self._apply_layout()

    def _save_ui_state(self) -> None:
        store = self.app.ui_state
        why = store.save(self.ui) if store is not None else None
        if why:
            self.notify(why, severity="warning", timeout=4)

    @property
    def stacked(self) -> bool:
        """Is the log under the table, full width (the layout in force now)?"""
        mode = self.ui.layout
        return mode == "stacked" or (mode == "auto" and self.app.size.width < STACK_BELOW)

    def _apply_layout(self) -> None:
        stacked = self.stacked
        self.set_class(stacked, "-stacked")
        details = self.ui.stacked_details if stacked else self.ui.side_details
        detail = self.query_one(DetailPanel)
        detail.display = details
        self.log_pane.display = not (stacked and details)
        focused = self.focused
        if focused is not None and any(
            not getattr(w, "display", True) for w in focused.ancestors_with_self
        ):
            self.table.focus()  # the focus never stays on a hidden pane
        if detail.display and detail.session is not None:
            detail.show(detail.session, detail.sources)  # values wrap to the new width

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted and self.query(DetailPanel):
            self._apply_layout()

    def action_cycle_layout(self) -> None:
        """Auto (side by side from STACK_BELOW columns), side by side, stacked."""
        turn = (LAYOUTS.index(self.ui.layout) + 1) % len(LAYOUTS)
        self.ui = replace(self.ui, layout=LAYOUTS[turn])
        self._apply_layout()
        self._save_ui_state()
        now = "stacked" if self.stacked else "side by side"
        self.notify(f"Layout: {self.ui.layout} ({now} now)", timeout=2)

    def action_toggle_details(self) -> None:
        """Side by side: the details pane on/off (the log takes its width);
        stacked: the details in the log's place, and back."""
        if self.stacked:
            self.ui = replace(self.ui, stacked_details=not self.ui.stacked_details)
        else:
            self.ui = replace(self.ui, side_details=not self.ui.side_details)
        self._apply_layout()
        self._save_ui_state()

    # -- filter -----------------------------------------------------------------

    def _typing(self) -> bool:
        """Is a text box taking the keys (focused, or about to be)?"""
        return isinstance(self.focused, Input) or self.table.typeahead_target is not None

    def action_filter(self) -> None:
        if self._typing() or self.log_pane.has_focus_within:
            raise SkipAction  # text in a box; the log pane's own search
        box = self.query_one("#filter", Input)
        box.display = True
        # keys typed in the same burst as "/" (one packet over SSH) are already
        # queued on the table; it hands them to the box until the box has focus
        self.table.typeahead_target = box
        box.focus()

    @on(events.DescendantFocus)
    def _focus_moved(self, event: events.DescendantFocus) -> None:
        if event.widget is self.query_one("#filter", Input):
            self.table.typeahead_target = None

    # seconds of no typing before a query that parses applies (Enter: at once)
    filter_debounce = 0.25

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Check the query at each key (a mistake is shown at once), but apply
        it only once typing pauses, or on Enter: a query half typed
        (``state:i`` on the way to ``state:idle``) never filters the rows."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        text = event.value
        try:
            parse_query(self._with_view(text))
        except QueryError as exc:
            self._show_query_error(text, exc)
            return
        self._show_query_error(text, None)
        self._filter_timer = self.set_timer(
            self.filter_debounce, partial(self.apply_filter, text), name="filter"
        )

    def _with_view(self, text: str) -> str:
        """The filter's query AND the view's (terms are AND-ed)."""
        return f"{self.view_query} {text.strip()}".strip()

    def apply_filter(self, text: str) -> None:
        """Filter with a query (within the view in force); a bad one is shown
        with a caret under the mistake while the last good query stays in force."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        error = self.table.set_filter(self._with_view(text))
        if error is not None and self.view_query:
            # the caret is placed in the box's text, after the view's part
            shift = len(self.view_query) + 1
            error = QueryError(
                error.message, position=max(0, error.position - shift), length=error.length
            )
        self._show_query_error(text, error)
        self._update_title()
        self._selection_changed()

    def _show_query_error(self, text: str, error: QueryError | None) -> None:
        box = self.query_one("#filter-error", Static)
        if error is not None:
            # the caret lines up with the text in the box (border + padding)
            offset = len(text) - len(text.lstrip())
            # no-break spaces: the caret's indent must survive rendering
            caret = "\u00a0" * (error.position + offset) + "^" * error.length
            box.update(Content(f"{caret} {error.message}"))
        box.display = error is not None
        self.query_one("#filter", Input).set_class(error is not None, "-invalid")

    def show_view(self, name: str) -> None:
        """Apply a saved view (a named query from config); the header names it."""
        self.set_view(f":{name}", self.app.config.views[name])

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("-invalid"):
            # the rows shown follow the last query that parsed, not this one:
            # leaving now would act on a half-typed filter
            self.notify("Fix the query first (or esc to clear it)", severity="warning", timeout=3)
            return
        self.apply_filter(box.value)  # at once, not after the pause
        if not box.value.strip():
            box.display = False
        self.table.focus()

    def action_clear_filter(self) -> None:
        """Escape: clear the filter first, then the selection."""
        box = self.query_one("#filter", Input)
        if self.query_one(CommandLine).display:
            self._close_command()
        elif box.value or box.display:
            self._clear_filter_now()
            self.table.focus()
        elif self.table.marked:
            self.table.clear_marks()
            self._update_title()
            self.refresh_bindings()

    def _clear_filter_now(self) -> None:
        """Empty and hide the filter box, and show every row at once (not on
        the box's Changed message, which comes later)."""
        box = self.query_one("#filter", Input)
        with box.prevent(Input.Changed):
            box.value = ""
        box.display = False
        self.apply_filter("")  # (stops a pending one too)

    # -- selection, order and grouping -------------------------------------------

    def targets(self) -> list[Session]:
        """What a bulk action acts on: the selected (marked) sessions, or else
        the row under the cursor."""
        marked = self.acting_marks()
        if marked is not None:
            return marked
        sel = self.table.selected
        return [sel] if sel is not None else []

    def acting_marks(self) -> list[Session] | None:
        """The selected sessions an action takes (what you see is what you act
        on: with a filter on, the selected rows it hides are left out), or
        None when nothing is selected."""
        if not self.table.marked:
            return None
        shown = self.table.shown
        marked = self.table.marked_sessions
        acting = [m for m in marked if f"{m.backend}:{m.id}" in shown]
        if not acting:
            self.notify(
                f"The {len(marked)} selected are hidden by the filter; esc clears it",
                severity="warning",
                timeout=4,
            )
        return acting

    def action_select(self) -> None:
        sel = self.table.selected
        if sel is None or self.log_pane.has_focus_within:
            return  # space in the log pane selects no row behind it
        self.table.toggle_mark(sel)
        self.table.action_cursor_down()
        self._update_title()
        self.refresh_bindings()

    def action_select_all(self) -> None:
        n = self.table.mark_all_shown()
        self._update_title()
        self.refresh_bindings()
        self.notify(f"{n} selected" if n else "Selection cleared", timeout=2)

    def action_sort(self, step: int) -> None:
        self.table.cycle_sort(step)
        self.notify(self.table.sort_description(), timeout=2)

    def action_sort_reverse(self) -> None:
        self.table.toggle_reverse()
        self.notify(self.table.sort_description(), timeout=2)

    def action_group(self) -> None:
        self.table.set_grouped(not self.table.grouped)
        self.notify("Grouped by backend" if self.table.grouped else "Not grouped", timeout=2)

    def action_copy_id(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        text = str(sel.ref)
        # OSC 52: the terminal (also over SSH, also in tmux with set-clipboard on)
        # puts it on the clipboard of the machine in front of the user
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text} to the clipboard (OSC 52)", timeout=3)

    def action_related(self) -> None:
        """Jump to the next session related to the selected one."""
        sel = self.table.selected
        if sel is None:
            return
        related_refs = self.relations.get(sel.ref, [])
        if not related_refs:
            self.notify(f"{sel.name}: no related sessions", timeout=2)
            return
        # a row with several related sessions: each jump from it goes to the next
        turn = self._related_turn.get(sel.ref, 0)
        self._related_turn[sel.ref] = turn + 1
        target = related_refs[turn % len(related_refs)]
        key = f"{target.backend}:{target.id}"
        if key not in self.table.sessions:
            self.notify(f"{target} is not listed now", severity="warning", timeout=3)
            return
        if key not in self.table.shown and self.table.filter_text:
            self._clear_filter_now()  # the filter hides it: show everything
        if key not in self.table.shown:  # e.g. a big first load still adding rows
            self.notify(f"{target} is not in the table yet", severity="warning", timeout=3)
            return
        self.table.move_cursor(row=self.table.get_row_index(key), animate=False)
        self.table.focus()

    def action_focus_log(self) -> None:
        self.log_pane.focus()

    # -- other screens ---------------------------------------------------------

    def action_journal(self) -> None:
        from core.journal import Journal
        from tui.screens.journal import JournalScreen

        journal = self.app.inventory.journal or Journal.default()
        self.app.push_screen(JournalScreen(journal, self.app.clock))

    def action_orphans(self) -> None:
        from tui.screens.orphans import OrphansScreen

        self.app.push_screen(OrphansScreen())

    def action_merge_logs(self) -> None:
        """Tail the selected sessions (or the one under the cursor) in one
        time-ordered stream."""
        from tui.screens.merged_logs import MergedLogScreen

        inv = self.app.inventory
        targets = self.targets()
        logged = [t for t in targets if Capability.LOGS in inv.backend(t.backend).capabilities]
        if not logged:
            self.notify("No selected session has logs", severity="warning", timeout=3)
            return
        self._stop_tail()  # one reader per log; the pane resumes on return
        self._tail_ref = None
        # the short name, unless two sources share it
        names = [t.name for t in logged]
        labels = {
            t.ref: t.name if names.count(t.name) == 1 else f"{t.backend}:{t.name}" for t in logged
        }

        def back(_: None) -> None:
            self.table.focus()

        self.app.push_screen(MergedLogScreen([t.ref for t in logged], labels), back)

    def on_screen_resume(self) -> None:
        if self.is_mounted and self._tail_ref is None:
            self._selection_changed()

    # -- prune / delete ---------------------------------------------------------

    # actions that act on the selected row, and the capability each needs
    _ROW_ACTIONS: ClassVar[dict[str, Capability]] = {
        "delete": Capability.DELETE,
        "stop": Capability.STOP,
        "attach": Capability.ATTACH,
        "extend": Capability.EXTEND,
        "toggle_follow": Capability.LOGS,
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide a key no configured backend can use (the footer stays short at 80
        columns); grey it out when only the selected row cannot use it."""
        if not self.is_mounted:
            return True
        if time.monotonic() < self._quiet_until:
            return None  # just back from attach: stray terminal replies are not keys
        if action in ("filter", "command") and self._typing():
            return False  # (priority keys) text in a box: ":" and "/" are letters there
        if action == "filter" and self.log_pane.has_focus_within:
            return False  # the log pane's own "/" (search) shows and runs
        backends = self.app.inventory.backends.values()
        if action == "prune":
            return any(Capability.PRUNE in b.capabilities for b in backends)
        if action == "start":
            return self.app.inventory.can_start()
        if action == "restart":
            return self._can_restart()
        need = self._ROW_ACTIONS.get(action)
        if need is None:
            return True
        if not any(need in b.capabilities for b in backends):
            return False
        if not self.query(SessionsTable):
            return None
        if action in ("delete", "stop") and self.table.marked:
            inv = self.app.inventory
            marked = self.table.marked_unordered()
            return any(need in inv.backend(m.backend).capabilities for m in marked) or None
        sel = self.table.selected
        if sel is None:
            return None
        caps = self.app.inventory.backend(sel.backend).capabilities
        if need not in caps or (action == "attach" and not sel.attachable):
            return None
        return True

    # -- start / stop / attach ---------------------------------------------------

    def action_start(self) -> None:
        snap = self.snapshot
        specs = self.app.inventory.startable(snap)

        def chosen(name: str | None) -> None:
            if name:
                self.table.border_subtitle = f"starting {name}…"
                self.start_worker(name)

        self.app.push_screen(StartScreen(specs), chosen)

    @work(thread=True, exclusive=True, group="act", exit_on_error=False)
    def start_worker(self, name: str) -> None:
        try:
            session = self.app.inventory.start(name)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._act_failed, exc)
            return
        self.app.call_from_thread(self._acted, f"Started {session.ref}")

    def action_stop(self) -> None:
        targets = self.targets()
        if not targets:
            return
        inv = self.app.inventory
        can = [t for t in targets if Capability.STOP in inv.backend(t.backend).capabilities]
        skipped = [(t, f"{t.kind} sessions cannot be stopped") for t in targets if t not in can]
        if not can:
            kinds = ", ".join(sorted({t.kind for t in targets}))
            self.notify(f"{kinds} sessions cannot be stopped", timeout=4)
            return
        typed = any(t.backend in inv.protected for t in can)
        if len(targets) == 1 and can and not typed:
            self._confirm_stop_one(can[0])
            return
        wait = max((inv.stop_timeout(t.ref) for t in can), default=10.0)

        def chosen(how: str | None) -> None:
            if how:
                self.table.border_subtitle = f"stopping {len(can)}…"
                self.stop_worker([t.ref for t in can], how == "stop", None)

        self.app.push_screen(
            BulkScreen(
                "Stop",
                can,
                [("stop", f"Stop {len(can)}", "warning"), ("kill", "Kill now", "error")],
                typed=typed,
                note=_bulk_stop_note(inv, can, wait),
                skipped=skipped,
            ),
            chosen,
        )

    def _confirm_stop_one(self, sel: Session) -> None:
        wait = self.app.inventory.stop_timeout(sel.ref)

        def chosen(how: str | None) -> None:
            if how:
                self.table.border_subtitle = f"stopping {sel.name}…"
                self.stop_worker([sel.ref], how == "stop", wait)

        self.app.push_screen(
            ConfirmScreen(
                f"Stop {sel.backend}:{sel.name}?",
                self.app.inventory.stop_description(sel.ref, timeout=wait).dialog,
                [("stop", "Stop", "warning"), ("kill", "Kill now", "error")],
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="act", exit_on_error=False)
    def stop_worker(self, refs: list[SessionRef], graceful: bool, timeout: float | None) -> None:
        """Stop each; one failure does not stop the others, and all are reported."""
        failed: list[BaseException] = []
        worker = get_current_worker()
        for n, ref in enumerate(refs, 1):
            if worker.is_cancelled:
                return
            if len(refs) > 1:
                self.app.call_from_thread(self._stop_progress, n, len(refs))
            try:
                self.app.inventory.stop(ref, graceful=graceful, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - reported after the rest ran
                failed.append(exc)
        if len(refs) == 1 and failed:
            self.app.call_from_thread(self._act_failed, failed[0])
        elif failed:
            why = "\n".join(describe_error(e) for e in failed[:8])
            error = ActionFailed(f"{len(failed)} of {len(refs)} could not be stopped:\n{why}")
            self.app.call_from_thread(self._act_failed, error)
        else:
            what = str(refs[0]) if len(refs) == 1 else f"{len(refs)} sessions"
            done = "Stopped" if graceful else "Killed"
            self.app.call_from_thread(self._acted, f"{done} {what}")

    def _stop_progress(self, n: int, total: int) -> None:
        self.table.border_subtitle = f"stopping {n}/{total}…"

    def _acted(self, message: str) -> None:
        self.table.border_subtitle = ""
        self.notify(message, timeout=3)
        self.action_refresh()

    def _act_failed(self, exc: BaseException) -> None:
        self.table.border_subtitle = ""
        self.app.show_error(exc)
        self.action_refresh()

    def action_inspect(self) -> None:
        sel = self.table.selected
        if sel is not None:
            inv = self.app.inventory
            self.app.push_screen(
                InspectScreen(f"{sel.ref} · {sel.kind}", partial(inv.inspect, sel.ref))
            )

    def action_extend(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        remaining = duration_text(sel.expires - self.app.clock()) if sel.expires else "-"

        def chosen(ttl: timedelta | None) -> None:
            if ttl is not None:
                self.extend_worker(sel.ref, ttl)

        self.app.push_screen(ExtendScreen(f"{sel.backend}:{sel.name}", remaining), chosen)

    @work(thread=True, exclusive=True, group="act", exit_on_error=False)
    def extend_worker(self, ref: SessionRef, ttl: timedelta) -> None:
        try:
            self.app.inventory.extend(ref, ttl)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._act_failed, exc)
            return
        what = "Expired" if ttl.total_seconds() <= 0 else f"Extended ({duration_text(ttl)})"
        self.app.call_from_thread(self._acted, f"{what} {ref}")

    def action_attach(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        try:
            argv = self.app.inventory.attach_argv(sel.ref)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.show_error(exc)
            return
        self._stop_tail()
        self._tail_ref = None
        inv = self.app.inventory
        try:
            with self.app.suspend():
                code = subprocess.call(argv)
            if code == 0:
                inv.record_attach(sel.ref)
            else:
                inv.record_attach(sel.ref, result="failed", detail=f"exit code {code}")
        except FileNotFoundError:
            why = f"cannot run {argv[0]}: not found; is it installed and on PATH?"
            inv.record_attach(sel.ref, result="failed", detail=why)
            self.app.show_error(ActionFailed(why))
        except SuspendNotSupported:
            why = f"this terminal cannot suspend the app; run: {shlex.join(argv)}"
            inv.record_attach(sel.ref, result="failed", detail=why)
            self.app.show_error(ActionFailed(why))
        # The terminal answers the queries the app sends as it takes the
        # screen back; a reply that arrives split can read as keys ("m", " ")
        # and must not start actions.
        self._quiet_until = time.monotonic() + QUIET_AFTER_RESUME
        self.set_timer(QUIET_AFTER_RESUME + 0.05, self.refresh_bindings)
        self.action_refresh()

    def action_prune(self) -> None:
        """Prune what the retention rules select — only among the selected
        sessions when some are selected, or among the rows shown when a filter
        is on (what you see is what you act on)."""
        within = self.acting_marks()
        if within is not None and not within:
            return  # all selected rows are hidden: said so
        if within is None and self.table.filter_text:
            within = list(self.table.shown.values())
        self.table.border_subtitle = "planning prune…"
        self.plan_worker("Prune", within)

    def action_delete(self) -> None:
        targets = self.targets()
        inv = self.app.inventory
        can = [t for t in targets if Capability.DELETE in inv.backend(t.backend).capabilities]
        if targets and not can:
            kinds = ", ".join(sorted({t.kind for t in targets}))
            self.notify(f"{kinds} sessions cannot be deleted; x stops them", timeout=4)
        elif can:
            # listed inside the plan dialog (a toast would cover its buttons)
            self._left_out = [
                (t, f"{t.kind} sessions cannot be deleted (x stops them)")
                for t in targets
                if t not in can
            ]
            self.plan_worker("Delete", can)

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def plan_worker(self, verb: str, sessions: list[Session] | None) -> None:
        inv = self.app.inventory
        try:
            if verb == "Delete":
                plans = inv.plan_delete([s.ref for s in sessions or []])
            elif sessions is None:
                plans = inv.plan_prune()
            else:
                plans = _within(inv.plan_prune({s.backend for s in sessions}), sessions)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._plan_failed, exc)
            return
        # a prune cut down to chosen rows is journaled as exactly those rows
        exact = verb == "Prune" and sessions is not None
        self.app.call_from_thread(self._confirm, plans, verb, exact)

    def _plan_failed(self, exc: BaseException) -> None:
        self.table.border_subtitle = ""
        self.app.show_error(exc)

    def _confirm(self, plans: list[PrunePlan], verb: str, exact: bool = False) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self.execute_worker(plans, verb, exact)

        if self.table.border_subtitle and "planning" in str(self.table.border_subtitle):
            self.table.border_subtitle = ""
        failed = [p for p in plans if p.error]
        if failed and not any(p.entries for p in plans):
            # nothing could be planned: say why, there is nothing to confirm
            title = f"{verb}: cannot plan"
            self.app.push_screen(
                ErrorScreen(title, "\n".join(f"{p.backend}: {p.error}" for p in failed))
            )
            return
        names = {key: s.name for key, s in self.table.sessions.items()}
        typed = self.app.inventory.needs_typed_confirm(plans)
        left_out, self._left_out = (self._left_out if verb == "Delete" else []), []
        self.app.push_screen(PlanScreen(plans, verb, names, typed=typed, left_out=left_out), done)

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def execute_worker(self, plans: list[PrunePlan], verb: str, exact: bool = False) -> None:
        self._stop_tail_from_thread()
        try:
            results = self.app.inventory.execute(plans, action=verb.lower(), exact=exact)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self.app.show_error, exc)
            return
        self.app.call_from_thread(self._executed, results, verb)

    def _stop_tail_from_thread(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.close()

    def _executed(self, results: list[PruneResult], verb: str) -> None:
        removed = sum(len(r.removed) for r in results)
        problems = [f"{r.backend}: {r.error}" for r in results if r.error]
        problems += [f"{f.entry.id}: {f.error}" for r in results for f in r.failed]
        freed = sum(r.freed_bytes for r in results)
        if problems:
            more = "" if len(problems) <= 8 else f"\n… and {len(problems) - 8} more"
            self.app.push_screen(
                ErrorScreen(
                    f"{verb}: {len(problems)} failed",
                    f"Removed {removed}, freed {bytes_text(freed)}.\n"
                    + "\n".join(problems[:8])
                    + more,
                )
            )
        else:
            self.notify(f"{verb}: removed {removed}, freed {bytes_text(freed)}", timeout=4)
        self._tail_ref = None
        self.action_refresh()

    # -- misc -------------------------------------------------------------------

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self))

    def on_unmount(self) -> None:
        self._stop_tail()


def _within(plans: list[PrunePlan], sessions: list[Session]) -> list[PrunePlan]:
    """The plans cut down to the given sessions (a prune of a selection)."""
    keep = {s.ref for s in sessions}
    return [
        replace(
            p,
            entries=tuple(e for e in p.entries if SessionRef(e.backend, e.id) in keep),
            skipped=tuple(k for k in p.skipped if SessionRef(k.backend, k.id) in keep),
        )
        for p in plans
    ]


def _bulk_stop_note(inv: Inventory, targets: list[Session], wait: float) -> str:
    """What Stop does to each, per kind (core says it), one after another."""
    kinds: dict[str, str] = {}
    for t in targets:
        kinds.setdefault(t.kind, inv.stop_description(t.ref, timeout=wait).brief)
    if len(kinds) == 1:
        return f"Each gets {next(iter(kinds.values()))}, one after another."
    each = "; ".join(f"a {kind} session {brief}" for kind, brief in kinds.items())
    return f"Each gets what its kind needs ({each}), one after another."
