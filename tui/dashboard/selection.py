"""The selection room: the row under the cursor and the marked rows, what the
details pane and the log show for them, the order of the rows, and the
table's title."""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.screen import Screen

from core.backend import RecordViewer
from core.inventory import describe_error
from core.model import LogSource, Session, SessionRef, SizeInfo
from core.relations import Relation
from tui.context import AppContext
from tui.dashboard.log_tail import LogTail
from tui.dashboard.messages import SourcesLoaded
from tui.dashboard.stats import LiveStats
from tui.formatting import bytes_text
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.sessions_table import SessionsTable


class Selection:
    """Keeps the details pane, the log and the footer in step with the row
    under the cursor; acts on marks, order and grouping of ``table``."""

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        table: SessionsTable,
        *,
        detail: DetailPanel,
        tail: LogTail,
        stats: LiveStats,
        view_query: Callable[[], str],
        start_tail: Callable[[Session], None],
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.detail = detail
        self.tail = tail
        self.stats = stats
        self.view_query = view_query  # the view in force's query (not in the title)
        self.start_tail = start_tail  # opens a session's log (the tail's start)
        self.relations: dict[SessionRef, list[SessionRef]] = {}
        self.related_info: dict[SessionRef, list[Relation]] = {}
        # how many related-jumps were made from each session (to cycle)
        self._related_turn: dict[SessionRef, int] = {}
        self._settle_queued = False  # settle runs after the next repaint
        self.listing = False  # the table shows the first pages of the first listing
        self._sources_ref: SessionRef | None = None  # whose log files the panel lists
        self._bindings_key: object = None  # what the footer was last refreshed for

    def set_relations(self, relations: dict[SessionRef, list[Relation]]) -> None:
        self.related_info = relations
        self.relations = {ref: [r.ref for r in rels] for ref, rels in relations.items()}

    # -- the row under the cursor ------------------------------------------------

    def changed(self) -> None:
        """The cursor moved (or rows changed): the footer now; the details,
        the log and its list of files once the move is drawn (see settle)."""
        sel = self.table.selected
        self._refresh_bindings_for(sel)
        if sel is None:
            self.detail.show(None)
            self.tail.clear()
            return
        if not self._settle_queued:
            # After the next repaint, for whatever row the cursor is on then:
            # the cursor moves at once (a frame of its own, as in a plain
            # table), and a key held down (or typed ahead) opens one log at
            # the end, not one per row passed.
            self._settle_queued = True
            self.host.call_after_refresh(self.settle)

    def settle(self) -> None:
        """Show the selected session's details, open its log, list its logs."""
        self._settle_queued = False
        sel = self.table.selected
        if sel is None or not self.host.is_mounted:
            return
        detail = self.detail
        detail.related = self._related_names(sel)
        detail.stats = self.stats.text(sel.ref)
        detail.sized = sel.backend in self.table.sized_backends
        if detail.session is None or detail.session.ref != sel.ref:
            detail.record = ""
            detail.show(sel)
            self._sources_ref = None
        elif detail.session != sel:
            detail.show(sel, detail.sources)
        if self._sources_ref != sel.ref:
            self._sources_ref = sel.ref
            self._load_sources(sel)
        if sel.ref != self.tail.ref and self.host.app.screen is self.host:
            # behind another screen (the merged log reads these logs itself)
            # the tail waits; the screen's resume starts it again
            self.start_tail(sel)

    def _refresh_bindings_for(self, sel: Session | None) -> None:
        """Refresh the footer when what it offers may change: another kind of
        row, attachable or not, or another selection (not on every row)."""
        marked = frozenset(m.backend for m in self.table.model.marked_unordered())
        key = (sel.backend if sel else None, sel.attachable if sel else None, marked)
        if key != self._bindings_key:
            self._bindings_key = key
            self.host.refresh_bindings()

    def _related_names(self, session: Session) -> list[str]:
        shown = self.table.sessions
        out = []
        for rel in self.related_info.get(session.ref, []):
            ref = rel.ref
            other = shown.get(f"{ref.backend}:{ref.id}")
            out.append(f"{ref.backend}:{other.name if other else ref.id} ({rel.why})")
        return out

    def _load_sources(self, session: Session) -> None:
        self.host.run_worker(
            lambda: self._sources_work(session),
            name="load_sources",
            group="sources",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _sources_work(self, session: Session) -> None:
        backend = self.ctx.inventory.backend(session.backend)
        try:
            sources = backend.logs(session.id)
        except Exception:  # noqa: BLE001 - the panel just lists no logs
            sources = []
        # record-backed sessions (JSON files) can show the record itself
        record = ""
        if isinstance(backend, RecordViewer):
            try:
                record = str(backend.record_text(session.id))
            except Exception as exc:  # noqa: BLE001 - shown in place of the record
                record = f"(cannot read the record: {describe_error(exc)})"
        self.host.post_message(SourcesLoaded(session, sources, record))

    def show_sources(self, session: Session, sources: list[LogSource], record: str) -> None:
        detail = self.detail
        if detail.session is not None and detail.session.ref == session.ref:
            detail.record = record
            detail.show(detail.session, sources)

    def sizes_measured(
        self, sizes: list[tuple[SessionRef, SizeInfo]], done: int, total: int
    ) -> None:
        """Sizes arrived (``done`` of ``total`` measured)."""
        if sizes:
            self.table.update_sizes(sizes)
            sel = self.table.selected
            if sel is not None and any(r == sel.ref for r, _ in sizes):
                self.detail.show(sel, self.detail.sources)
        subtitle = f"measuring {done}/{total}" if done < total else ""
        if str(self.table.border_subtitle or "") != subtitle:
            # (a title set, even to the same text, draws every line of the table again)
            self.table.border_subtitle = subtitle
        self.update_title()

    # -- the title -------------------------------------------------------------

    def update_title(self) -> None:
        t = self.table
        shown, total = len(t.shown), len(t.sessions)
        count = f"{shown}/{total}" if t.filter_text else f"{total}"
        title = f"Sessions {count} · {bytes_text(t.model.total_bytes())}"
        if self.listing:
            title = f"Sessions {count}+ · listing…"  # the first pages of a big store
        marked = t.model.marked_unordered()
        if marked:
            title += f" · {len(marked)} selected"
            if any(m.size is not None for m in marked):  # tmux and containers have no size
                title += f" ({bytes_text(t.model.total_bytes(marked))})"
            hidden = sum(1 for m in marked if f"{m.backend}:{m.id}" not in t.shown)
            if hidden:
                title += f", {hidden} hidden"
        typed = t.filter_text
        view_query = self.view_query()
        if view_query and typed.startswith(view_query):
            typed = typed[len(view_query) :].strip()  # the view is in the header
        if typed:
            title += f" · filter: {typed}"
        if str(t.border_title or "") != title:
            t.border_title = Content(title)  # plain text: a filter like "[/" is not markup

    # -- marks -------------------------------------------------------------------

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
        marked = self.table.model.marked_sessions()
        acting = [m for m in marked if f"{m.backend}:{m.id}" in shown]
        if not acting:
            self.host.notify(
                f"The {len(marked)} selected are hidden by the filter; esc clears it",
                severity="warning",
                timeout=4,
            )
        return acting

    def marks_changed(self) -> None:
        self.update_title()
        self.host.refresh_bindings()

    def select(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        self.table.toggle_mark(sel)
        self.table.action_cursor_down()
        self.marks_changed()

    def select_all(self) -> None:
        n = self.table.mark_all_shown()
        self.marks_changed()
        self.host.notify(f"{n} selected" if n else "Selection cleared", timeout=2)

    # -- order, grouping, related, copy -------------------------------------------

    def sort(self, step: int) -> None:
        self.table.cycle_sort(step)
        self.host.notify(self.table.model.sort_description(), timeout=2)

    def sort_reverse(self) -> None:
        self.table.toggle_reverse()
        self.host.notify(self.table.model.sort_description(), timeout=2)

    def group(self) -> None:
        self.table.set_grouped(not self.table.grouped)
        self.host.notify("Grouped by backend" if self.table.grouped else "Not grouped", timeout=2)

    def copy_ref(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        text = str(sel.ref)
        # OSC 52: the terminal (also over SSH, also in tmux with set-clipboard on)
        # puts it on the clipboard of the machine in front of the user
        self.host.app.copy_to_clipboard(text)
        self.host.notify(f"Copied {text} to the clipboard (OSC 52)", timeout=3)

    def jump_related(self, unfilter: Callable[[], None]) -> None:
        """Move to the next session related to the selected one (each jump
        from a row with several goes to the next); ``unfilter`` clears a
        filter that hides it."""
        sel = self.table.selected
        if sel is None:
            return
        related_refs = self.relations.get(sel.ref, [])
        if not related_refs:
            self.host.notify(f"{sel.name}: no related sessions", timeout=2)
            return
        turn = self._related_turn.get(sel.ref, 0)
        self._related_turn[sel.ref] = turn + 1
        target = related_refs[turn % len(related_refs)]
        key = f"{target.backend}:{target.id}"
        if key not in self.table.sessions:
            self.host.notify(f"{target} is not listed now", severity="warning", timeout=3)
            return
        if key not in self.table.shown and self.table.filter_text:
            unfilter()  # the filter hides it: show everything
        if key not in self.table.shown:  # e.g. a big first load still adding rows
            self.host.notify(f"{target} is not in the table yet", severity="warning", timeout=3)
            return
        self.table.move_cursor(row=self.table.get_row_index(key), animate=False)
        self.table.focus()
