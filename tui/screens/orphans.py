"""OrphansScreen: what is left behind, grouped by category, deletable in place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import RowDoesNotExist

from core.inventory import describe_error
from core.model import PrunePlan, PruneResult
from core.orphans import CATEGORIES, Orphan, OrphanReport, find_orphans, load_orphans
from tui.context import AppContext, app_context
from tui.formatting import bytes_text
from tui.screens.error import ErrorScreen
from tui.screens.plan import PlanScreen
from tui.widgets.vim_table import VimTable

if TYPE_CHECKING:
    from core.config.records import AppConfig
    from core.inventory import Inventory

OrphansLoader = Callable[["Inventory", "AppConfig"], OrphanReport]
"""Computes the report; runs in a thread worker.  Default: :func:`core.orphans.load_orphans`."""

_ORDER = {c: i for i, c in enumerate(CATEGORIES)}
_LOOKING = "Looking for orphans…"
_COLUMNS = (("category", "Category"), ("what", "What"), ("size", "Size"), ("reason", "Reason"))


def row_key(orphan: Orphan) -> str:
    """The table's row key for an orphan: stable across reloads."""
    return f"{orphan.category}|{orphan.ref if orphan.ref is not None else orphan.path}"


class OrphansScreen(Screen[None]):
    """Orphans: unused session dirs, empty JSON workspaces, KV keys without a
    TTL, containers whose spec is gone.

    | Key | Action |
    | :- | :- |
    | d | Delete the selected orphan (plan, then confirm) |
    | r | Look again |
    | escape, q | Back |
    """

    CSS_PATH = Path(__file__).with_name("orphans.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "delete", "Delete", id="orphans.delete"),
        Binding("r", "reload", "Reload", id="orphans.reload"),
        Binding("escape,q", "back", "Back", id="orphans.back"),
    ]

    @property
    def ctx(self) -> AppContext:
        """The app's services (config, inventory, clock, the error modal)."""
        return app_context(self)

    def __init__(self, orphans_loader: OrphansLoader | None = None) -> None:
        super().__init__()
        self._loader: OrphansLoader = orphans_loader or load_orphans
        self.report: OrphanReport | None = None
        """The last report shown (None until the first one arrives)."""
        # not ``loading``: that is Widget's reactive, which would cover the
        # screen with a LoadingIndicator and hide the "Looking for orphans…" text
        self.busy = False
        """True while a report is being computed."""
        self._by_key: dict[str, Orphan] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="orphans-main"):
            yield Static(_LOOKING, id="orphans-summary", markup=False)
            yield Static("", id="orphans-skipped", markup=False)
            yield VimTable[Text](id="orphans-table", cursor_type="row")
            yield Static("", id="orphans-detail", markup=False)
        yield Footer(compact=True)

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#orphans-table", DataTable)

    def on_mount(self) -> None:
        for key, label in _COLUMNS:
            self.table.add_column(label, key=key)
        self.table.border_title = "Orphans"
        self.table.focus()
        self.action_reload()

    # -- loading ----------------------------------------------------------------

    def action_reload(self) -> None:
        self.busy = True
        self.table.border_subtitle = "looking…"
        self.query_one("#orphans-summary", Static).update(_LOOKING)
        self.load_worker()

    @work(thread=True, exclusive=True, group="orphans", exit_on_error=False)
    def load_worker(self) -> None:
        try:
            report = self._loader(self.ctx.inventory, self.ctx.config)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._load_failed, exc)
            return
        self.app.call_from_thread(self._apply, report)

    def _load_failed(self, exc: BaseException) -> None:
        self.busy = False
        self.table.border_subtitle = ""
        self.query_one("#orphans-summary", Static).update(
            f"Could not look for orphans: {describe_error(exc)}"
        )
        self.ctx.show_error(exc)

    def _apply(self, report: OrphanReport) -> None:
        """Show ``report``: rows by key (kept, updated, added, removed), then
        sorted into their category groups."""
        self.report = report
        self.busy = False
        table = self.table
        wanted = {row_key(o): o for o in report}
        for row in [k for k in table.rows if k.value not in wanted]:
            table.remove_row(row)
        for key, o in wanted.items():
            cells = self._cells(o)
            if key in self._by_key and self._has_row(key):
                for (column, _label), cell in zip(_COLUMNS, cells, strict=True):
                    table.update_cell(key, column, cell)
            else:
                table.add_row(*cells, key=key)
        self._by_key = wanted
        if table.row_count:
            table.sort("category", "what", key=_sort_key)
        table.border_title = f"Orphans {len(report)}"
        table.border_subtitle = ""
        self._update_summary(report)
        self._highlighted()

    def _has_row(self, key: str) -> bool:
        try:
            self.table.get_row_index(key)
        except RowDoesNotExist:
            return False
        return True

    @staticmethod
    def _cells(o: Orphan) -> tuple[str | Text, ...]:
        size = "-" if o.bytes is None else bytes_text(o.bytes)
        what = Text(o.label, style="" if o.actionable else "dim")
        return Text(o.category, style="bold"), what, size, Text(o.reason)

    def _update_summary(self, report: OrphanReport) -> None:
        summary = self.query_one("#orphans-summary", Static)
        if not len(report):
            text = "No orphans: nothing is left behind."
        else:
            # crash leftovers are rare: named only when there are some
            counts = " · ".join(
                f"{c} {n}" for c, n in report.counts().items() if n or c != "json-temp"
            )
            text = f"{counts} · {bytes_text(report.total_bytes)} in all"
        summary.update(text)
        skipped = self.query_one("#orphans-skipped", Static)
        skipped.update("\n".join(f"✕ skipped {s}" for s in report.skipped))
        skipped.display = bool(report.skipped)

    # -- selection ------------------------------------------------------------

    @property
    def selected(self) -> Orphan | None:
        """The orphan under the cursor."""
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no cursor row (empty or just cleared)
            return None
        return self._by_key.get(str(key.value))

    @on(DataTable.RowHighlighted, "#orphans-table")
    def _highlighted(self) -> None:
        self.refresh_bindings()
        o = self.selected
        detail = self.query_one("#orphans-detail", Static)
        if o is None:
            detail.update("")
            return
        where = o.path or (str(o.ref) if o.ref is not None else "")
        text = f"{o.reason}\n{where}"
        if o.ref is None:
            text += "\nnot a session: remove the folder yourself if nothing needs it"
        detail.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete":
            o = self.selected
            return True if o is not None and o.actionable and o.ref is not None else None
        return True

    # -- delete: plan → confirm → act ---------------------------------------------

    def action_delete(self) -> None:
        o = self.selected
        if o is None or o.ref is None or not o.actionable:
            return
        self.table.border_subtitle = "planning delete…"
        self.plan_worker(o)

    @work(thread=True, exclusive=True, group="orphans-plan", exit_on_error=False)
    def plan_worker(self, orphan: Orphan) -> None:
        """Check again that ``orphan`` is one (the report may be minutes
        old: a tmux session may have started in the directory since), then
        plan its delete."""
        assert orphan.ref is not None  # noqa: S101 - action_delete checked it
        try:
            why_not = self._still_orphan(orphan)
            if why_not:
                self.app.call_from_thread(self._not_orphan, orphan, why_not)
                return
            plans = self.ctx.inventory.plan_delete([orphan.ref])
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self._plan_failed, exc)
            return
        self.app.call_from_thread(self._confirm, plans)

    def _still_orphan(self, orphan: Orphan) -> str:
        """Why ``orphan`` must not be deleted now ("" when it still is an
        orphan that can be), from a fresh refresh of every backend (usage is
        judged against all of them).  Runs in the plan worker."""
        assert orphan.ref is not None  # noqa: S101 - the caller checked it
        snapshot = self.ctx.inventory.refresh()
        report = find_orphans(snapshot, self.ctx.config, backends=[orphan.ref.backend])
        now = next(
            (o for o in report if o.ref == orphan.ref and o.category == orphan.category), None
        )
        if now is None:
            if orphan.ref not in snapshot.by_ref():
                return "it is gone"
            from core.relations import related_with_reasons

            links = related_with_reasons(snapshot.sessions).get(orphan.ref, [])
            used = f": used by {', '.join(str(r) for r in links)}" if links else ""
            return f"it is no longer an orphan{used}"
        if not now.actionable:
            return f"it cannot be checked now ({now.reason})"
        return ""

    def _not_orphan(self, orphan: Orphan, why: str) -> None:
        self.table.border_subtitle = ""
        self.notify(
            f"{orphan.label}: not deleted, {why}",
            title="Not deleted",
            severity="warning",
            timeout=6,
        )
        self.action_reload()

    def _plan_failed(self, exc: BaseException) -> None:
        self.table.border_subtitle = ""
        self.ctx.show_error(exc)

    def _confirm(self, plans: list[PrunePlan]) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self.execute_worker(plans)

        self.table.border_subtitle = ""
        failed = [p for p in plans if p.error]
        if failed and not any(p.entries for p in plans):
            self.app.push_screen(
                ErrorScreen(
                    "Delete: cannot plan", "\n".join(f"{p.backend}: {p.error}" for p in failed)
                )
            )
            return
        names = {str(o.ref): o.name for o in self._by_key.values() if o.ref and o.name}
        typed = self.ctx.inventory.needs_typed_confirm(plans)
        self.app.push_screen(PlanScreen(plans, "Delete", names, typed=typed), done)

    @work(thread=True, exclusive=True, group="orphans-plan", exit_on_error=False)
    def execute_worker(self, plans: list[PrunePlan]) -> None:
        try:
            results = self.ctx.inventory.execute(plans, action="delete")
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.app.call_from_thread(self.ctx.show_error, exc)
            return
        self.app.call_from_thread(self._executed, results)

    def _executed(self, results: list[PruneResult]) -> None:
        removed = sum(len(r.removed) for r in results)
        freed = sum(r.freed_bytes for r in results)
        problems = [f"{r.backend}: {r.error}" for r in results if r.error]
        problems += [f"{f.entry.id}: {f.error}" for r in results for f in r.failed]
        if problems:
            self.app.push_screen(
                ErrorScreen(
                    f"Delete: {len(problems)} failed",
                    f"Removed {removed}, freed {bytes_text(freed)}.\n" + "\n".join(problems[:8]),
                )
            )
        else:
            self.notify(f"Delete: removed {removed}, freed {bytes_text(freed)}", timeout=4)
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss(None)


def _sort_key(values: tuple[str | Text, ...]) -> tuple[int, str]:
    category, what = (str(v) for v in values)
    return _ORDER.get(category, len(_ORDER)), what
