"""The actions room: start, stop, restart, extend, attach and inspect, each
confirmed where it matters and run in a thread worker (group ``act``), and
which of the dashboard's keys each row can use now."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import ClassVar

from textual.app import SuspendNotSupported
from textual.screen import Screen
from textual.worker import get_current_worker

from core.backend import Restartable
from core.durations import duration_text
from core.errors import ActionFailed
from core.inventory import Inventory, Snapshot, describe_error
from core.model import Capability, Session, SessionRef
from tui.context import AppContext
from tui.dashboard.messages import Acted, Progress
from tui.screens.bulk import BulkScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.extend import ExtendScreen
from tui.screens.inspect import InspectScreen
from tui.screens.start import StartScreen
from tui.widgets.sessions_table import SessionsTable

# seconds after coming back from attach during which keys start no action
QUIET_AFTER_RESUME = 0.5

# actions that act on the selected row, and the capability each needs
ROW_ACTIONS: dict[str, Capability] = {
    "delete": Capability.DELETE,
    "stop": Capability.STOP,
    "attach": Capability.ATTACH,
    "extend": Capability.EXTEND,
    "toggle_follow": Capability.LOGS,
}


def bulk_stop_note(inv: Inventory, targets: list[Session], wait: float) -> str:
    """What Stop does to each, per kind (core says it), one after another."""
    kinds: dict[str, str] = {}
    for t in targets:
        kinds.setdefault(t.kind, inv.stop_description(t.ref, timeout=wait).brief)
    if len(kinds) == 1:
        return f"Each gets {next(iter(kinds.values()))}, one after another."
    each = "; ".join(f"a {kind} session {brief}" for kind, brief in kinds.items())
    return f"Each gets what its kind needs ({each}), one after another."


class SessionActions:
    """Acts on sessions through the inventory; results come back to ``host``
    as :class:`Acted` and :class:`Progress` messages, failures as the act
    worker's error (the screen reports it, then :meth:`failed`)."""

    WORKER_GROUP: ClassVar[str] = "act"

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        table: SessionsTable,
        *,
        before_attach: Callable[[], None],
        refresh: Callable[[], None],
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.before_attach = before_attach  # the log lets go of the terminal's session
        self.refresh = refresh
        self.quiet_until = 0.0  # keys start no action before this (monotonic)

    def _run(self, work: Callable[[], None], name: str) -> None:
        self.host.run_worker(
            work,
            name=name,
            group=self.WORKER_GROUP,
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    # -- what the keys can do now --------------------------------------------------

    def restartable(self, session: Session) -> bool:
        inv = self.ctx.inventory
        spec = inv.specs.get(session.id)
        return isinstance(inv.backend(session.backend), Restartable) or (
            spec is not None and spec.backend == session.backend
        )

    def can_restart(self) -> bool | None:
        """Hidden when nothing configured can restart; grey for a row that cannot."""
        inv = self.ctx.inventory
        if not inv.specs and not any(isinstance(b, Restartable) for b in inv.backends.values()):
            return False
        sel = self.table.selected if self.table.is_attached else None
        return True if sel is not None and self.restartable(sel) else None

    def quiet(self) -> bool:
        """Just back from attach: stray terminal replies are not keys."""
        return time.monotonic() < self.quiet_until

    def check(self, action: str) -> bool | None:
        """Hide a key no configured backend can use (the footer stays short at
        80 columns); grey it out when only the selected row cannot use it."""
        inv = self.ctx.inventory
        backends = inv.backends.values()
        if action == "prune":
            return any(Capability.PRUNE in b.capabilities for b in backends)
        if action == "start":
            return inv.can_start()
        if action == "restart":
            return self.can_restart()
        need = ROW_ACTIONS.get(action)
        if need is None:
            return True
        if not any(need in b.capabilities for b in backends):
            return False
        if not self.table.is_attached:
            return None
        if action in ("delete", "stop") and self.table.marked:
            marked = self.table.model.marked_unordered()
            return any(need in inv.backend(m.backend).capabilities for m in marked) or None
        sel = self.table.selected
        if sel is None:
            return None
        caps = inv.backend(sel.backend).capabilities
        if need not in caps or (action == "attach" and not sel.attachable):
            return None
        return True

    # -- the UI side of the results -------------------------------------------------

    def progress(self, text: str) -> None:
        self.table.border_subtitle = text

    def acted(self, text: str) -> None:
        self.table.border_subtitle = ""
        self.host.notify(text, timeout=3)
        self.refresh()

    def failed(self, exc: BaseException) -> None:
        self.table.border_subtitle = ""
        self.ctx.show_error(exc)
        self.refresh()

    # -- start -----------------------------------------------------------------------

    def start(self, snap: Snapshot | None) -> None:
        specs = self.ctx.inventory.startable(snap)

        def chosen(name: str | None) -> None:
            if name:
                self.table.border_subtitle = f"starting {name}…"
                self._run(partial(self._start_work, name), "start_worker")

        self.host.app.push_screen(StartScreen(specs), chosen)

    def _start_work(self, name: str) -> None:
        session = self.ctx.inventory.start(name)
        self.host.post_message(Acted(f"Started {session.ref}"))

    # -- restart ---------------------------------------------------------------------

    def restart(self) -> None:
        sel = self.table.selected
        if sel is None or not self.restartable(sel):
            return
        inv = self.ctx.inventory
        wait = inv.stop_timeout(sel.ref)
        how = inv.stop_description(sel.ref, timeout=wait).brief
        if isinstance(inv.backend(sel.backend), Restartable):
            message = f"The engine restarts it: {how}, then it starts again (the same {sel.kind})."
        else:
            message = f"It gets {how}, then starts again from its spec (sessions.{sel.id})."

        def chosen(answer: str | None) -> None:
            if answer == "restart":
                self.table.border_subtitle = f"restarting {sel.name}…"
                self._run(partial(self._restart_work, sel.ref, wait), "restart_worker")

        self.host.app.push_screen(
            ConfirmScreen(
                f"Restart {sel.backend}:{sel.name}?", message, [("restart", "Restart", "warning")]
            ),
            chosen,
        )

    def _restart_work(self, ref: SessionRef, timeout: float) -> None:
        session = self.ctx.inventory.restart(ref, timeout=timeout)
        self.host.post_message(Acted(f"Restarted {session.ref}"))

    # -- stop --------------------------------------------------------------------------

    def stop(self, targets: list[Session]) -> None:
        if not targets:
            return
        inv = self.ctx.inventory
        can = [t for t in targets if Capability.STOP in inv.backend(t.backend).capabilities]
        skipped = [(t, f"{t.kind} sessions cannot be stopped") for t in targets if t not in can]
        if not can:
            kinds = ", ".join(sorted({t.kind for t in targets}))
            self.host.notify(f"{kinds} sessions cannot be stopped", timeout=4)
            return
        typed = any(t.backend in inv.protected for t in can)
        if len(targets) == 1 and can and not typed:
            self._confirm_stop_one(can[0])
            return
        wait = max((inv.stop_timeout(t.ref) for t in can), default=10.0)

        def chosen(how: str | None) -> None:
            if how:
                self.table.border_subtitle = f"stopping {len(can)}…"
                refs = [t.ref for t in can]
                self._run(partial(self._stop_work, refs, how == "stop", None), "stop_worker")

        self.host.app.push_screen(
            BulkScreen(
                "Stop",
                can,
                [("stop", f"Stop {len(can)}", "warning"), ("kill", "Kill now", "error")],
                typed=typed,
                note=bulk_stop_note(inv, can, wait),
                skipped=skipped,
            ),
            chosen,
        )

    def _confirm_stop_one(self, sel: Session) -> None:
        wait = self.ctx.inventory.stop_timeout(sel.ref)

        def chosen(how: str | None) -> None:
            if how:
                self.table.border_subtitle = f"stopping {sel.name}…"
                self._run(partial(self._stop_work, [sel.ref], how == "stop", wait), "stop_worker")

        self.host.app.push_screen(
            ConfirmScreen(
                f"Stop {sel.backend}:{sel.name}?",
                self.ctx.inventory.stop_description(sel.ref, timeout=wait).dialog,
                [("stop", "Stop", "warning"), ("kill", "Kill now", "error")],
            ),
            chosen,
        )

    def _stop_work(self, refs: list[SessionRef], graceful: bool, timeout: float | None) -> None:
        """Stop each; one failure does not stop the others, and all are reported."""
        failed: list[BaseException] = []
        worker = get_current_worker()
        for n, ref in enumerate(refs, 1):
            if worker.is_cancelled:
                return
            if len(refs) > 1:
                self.host.post_message(Progress(f"stopping {n}/{len(refs)}…"))
            try:
                self.ctx.inventory.stop(ref, graceful=graceful, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - reported after the rest ran
                failed.append(exc)
        if len(refs) == 1 and failed:
            raise failed[0]
        if failed:
            why = "\n".join(describe_error(e) for e in failed[:8])
            raise ActionFailed(f"{len(failed)} of {len(refs)} could not be stopped:\n{why}")
        what = str(refs[0]) if len(refs) == 1 else f"{len(refs)} sessions"
        done = "Stopped" if graceful else "Killed"
        self.host.post_message(Acted(f"{done} {what}"))

    # -- inspect, extend, attach -----------------------------------------------------------

    def inspect(self) -> None:
        sel = self.table.selected
        if sel is not None:
            inv = self.ctx.inventory
            self.host.app.push_screen(
                InspectScreen(f"{sel.ref} · {sel.kind}", partial(inv.inspect, sel.ref))
            )

    def extend(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        remaining = duration_text(sel.expires - self.ctx.clock()) if sel.expires else "-"

        def chosen(ttl: timedelta | None) -> None:
            if ttl is not None:
                self._run(partial(self._extend_work, sel.ref, ttl), "extend_worker")

        self.host.app.push_screen(ExtendScreen(f"{sel.backend}:{sel.name}", remaining), chosen)

    def _extend_work(self, ref: SessionRef, ttl: timedelta) -> None:
        self.ctx.inventory.extend(ref, ttl)
        what = "Expired" if ttl.total_seconds() <= 0 else f"Extended ({duration_text(ttl)})"
        self.host.post_message(Acted(f"{what} {ref}"))

    def attach(self) -> None:
        sel = self.table.selected
        if sel is None:
            return
        app, inv = self.host.app, self.ctx.inventory
        try:
            argv = inv.attach_argv(sel.ref)
        except Exception as exc:  # noqa: BLE001 - shown in the error modal
            self.ctx.show_error(exc)
            return
        self.before_attach()
        try:
            with app.suspend():
                code = subprocess.call(argv)
            if code == 0:
                inv.record_attach(sel.ref)
            else:
                inv.record_attach(sel.ref, result="failed", detail=f"exit code {code}")
        except FileNotFoundError:
            why = f"cannot run {argv[0]}: not found; is it installed and on PATH?"
            inv.record_attach(sel.ref, result="failed", detail=why)
            self.ctx.show_error(ActionFailed(why))
        except SuspendNotSupported:
            why = f"this terminal cannot suspend the app; run: {shlex.join(argv)}"
            inv.record_attach(sel.ref, result="failed", detail=why)
            self.ctx.show_error(ActionFailed(why))
        # The terminal answers the queries the app sends as it takes the
        # screen back; a reply that arrives split can read as keys ("m", " ")
        # and must not start actions.
        self.quiet_until = time.monotonic() + QUIET_AFTER_RESUME
        self.host.set_timer(QUIET_AFTER_RESUME + 0.05, self.host.refresh_bindings)
        self.refresh()
