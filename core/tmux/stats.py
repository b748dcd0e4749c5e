"""CPU, memory and process counts of the process trees under a session's
panes, from two scans of ``/proc``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core.model import Session
from core.tmux.base import TmuxBase

if TYPE_CHECKING:
    from core.stats import SessionStats


class StatsMixin(TmuxBase):
    """stats_reading / stats_of of a :class:`TmuxBackend`."""

    two_readings = True

    def stats_reading(self, sessions: Sequence[Session]) -> object:
        """One scan of ``/proc`` (the panes' pids are in the sessions)."""
        from core.procs import read_processes

        return read_processes(cmdlines=False)

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]:
        """Per session: CPU% of the process trees under its panes between
        the two readings, their RSS and count at the second."""
        from core.procs import clock_ticks, ticks_used, usage
        from core.stats import SessionStats, cpu_percent

        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        out: dict[str, SessionStats] = {}
        for s in sessions:
            tree = usage(s.facts.pids, new)
            if not tree.processes:
                out[s.id] = SessionStats(s.ref, self.kind, note="no live process in its panes")
                continue
            used = ticks_used(tree.pids, old, new)
            out[s.id] = SessionStats(
                s.ref,
                self.kind,
                cpu_percent=cpu_percent(0, used, clock_ticks(), elapsed),
                memory_bytes=tree.rss_bytes,
                processes=tree.processes,
            )
        return out
