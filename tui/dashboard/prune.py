"""The prune room: plan a prune or a delete in a thread worker, show the plan
to confirm, then run it (both workers of group ``plan``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from textual.screen import Screen

from core.model import Capability, PrunePlan, PruneResult, Session, SessionRef
from tui.context import AppContext
from tui.dashboard.messages import Executed, Planned
from tui.formatting import bytes_text
from tui.screens.error import ErrorScreen
from tui.screens.plan import PlanScreen
from tui.widgets.sessions_table import SessionsTable


def within(plans: list[PrunePlan], sessions: list[Session]) -> list[PrunePlan]:
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


class PruneFlow:
    """Plan, show, then act: nothing goes before the plan screen says yes."""

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        table: SessionsTable,
        *,
        before_execute: Callable[[], None],
        after_execute: Callable[[], None],
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.before_execute = before_execute  # (a thread) the log lets go of its file
        self.after_execute = after_execute
        # rows a bulk delete leaves out (their kind has no delete), and why
        self._left_out: list[tuple[Session, str]] = []

    def _run(self, work: Callable[[], None], name: str) -> None:
        self.host.run_worker(
            work, name=name, group="plan", exclusive=True, thread=True, exit_on_error=False
        )

    def prune(self, marked: list[Session] | None) -> None:
        """Prune what the retention rules select — only among the ``marked``
        sessions when some are selected (None: none), or among the rows shown
        when a filter is on (what you see is what you act on)."""
        within_rows = marked
        if within_rows is not None and not within_rows:
            return  # all selected rows are hidden: said so
        if within_rows is None and self.table.filter_text:
            within_rows = list(self.table.shown.values())
        self.table.border_subtitle = "planning prune…"
        self._run(partial(self._plan_work, "Prune", within_rows), "plan_worker")

    def delete(self, targets: list[Session]) -> None:
        inv = self.ctx.inventory
        can = [t for t in targets if Capability.DELETE in inv.backend(t.backend).capabilities]
        if targets and not can:
            kinds = ", ".join(sorted({t.kind for t in targets}))
            self.host.notify(f"{kinds} sessions cannot be deleted; x stops them", timeout=4)
        elif can:
            # listed inside the plan dialog (a toast would cover its buttons)
            self._left_out = [
                (t, f"{t.kind} sessions cannot be deleted (x stops them)")
                for t in targets
                if t not in can
            ]
            self._run(partial(self._plan_work, "Delete", can), "plan_worker")

    def _plan_work(self, verb: str, sessions: list[Session] | None) -> None:
        inv = self.ctx.inventory
        if verb == "Delete":
            plans = inv.plan_delete([s.ref for s in sessions or []])
        elif sessions is None:
            plans = inv.plan_prune()
        else:
            plans = within(inv.plan_prune({s.backend for s in sessions}), sessions)
        # a prune cut down to chosen rows is journaled as exactly those rows
        exact = verb == "Prune" and sessions is not None
        self.host.post_message(Planned(plans, verb, exact))

    def plan_failed(self, exc: BaseException) -> None:
        self.table.border_subtitle = ""
        self.ctx.show_error(exc)

    def confirm(self, plans: list[PrunePlan], verb: str, exact: bool = False) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self._run(partial(self._execute_work, plans, verb, exact), "execute_worker")

        if self.table.border_subtitle and "planning" in str(self.table.border_subtitle):
            self.table.border_subtitle = ""
        failed = [p for p in plans if p.error]
        if failed and not any(p.entries for p in plans):
            # nothing could be planned: say why, there is nothing to confirm
            title = f"{verb}: cannot plan"
            self.host.app.push_screen(
                ErrorScreen(title, "\n".join(f"{p.backend}: {p.error}" for p in failed))
            )
            return
        names = {key: s.name for key, s in self.table.sessions.items()}
        typed = self.ctx.inventory.needs_typed_confirm(plans)
        left_out, self._left_out = (self._left_out if verb == "Delete" else []), []
        self.host.app.push_screen(
            PlanScreen(plans, verb, names, typed=typed, left_out=left_out), done
        )

    def _execute_work(self, plans: list[PrunePlan], verb: str, exact: bool) -> None:
        self.before_execute()
        results = self.ctx.inventory.execute(plans, action=verb.lower(), exact=exact)
        self.host.post_message(Executed(results, verb))

    def executed(self, results: list[PruneResult], verb: str) -> None:
        removed = sum(len(r.removed) for r in results)
        problems = [f"{r.backend}: {r.error}" for r in results if r.error]
        problems += [f"{f.entry.id}: {f.error}" for r in results for f in r.failed]
        freed = sum(r.freed_bytes for r in results)
        if problems:
            more = "" if len(problems) <= 8 else f"\n… and {len(problems) - 8} more"
            self.host.app.push_screen(
                ErrorScreen(
                    f"{verb}: {len(problems)} failed",
                    f"Removed {removed}, freed {bytes_text(freed)}.\n"
                    + "\n".join(problems[:8])
                    + more,
                )
            )
        else:
            self.host.notify(f"{verb}: removed {removed}, freed {bytes_text(freed)}", timeout=4)
        self.after_execute()
