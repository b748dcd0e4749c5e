"""Benchmark for the dashboard's first screen, headless (informational).

The time from starting the app (headless, 120x40, in this process: imports
done) until the sessions table shows the first page of a backend with 10,000
and 100,000 sessions, against an empty Textual app's first screen.  The
sessions come from a backend that hands out ready-made records, so this
measures the dashboard (its widgets and CSS, table rows, sort, title), not a
listing.  The budgets (3x and 5x an empty app) are the issue's for a real
terminal, from the command's start: ``bench_live`` checks them there.  Here the
empty app's 20 ms leave out the interpreter and the imports, which every user
waits for, so these rows report without a verdict.

Run standalone with ``python bench/bench_tui.py``; the bench runner imports
:func:`run`.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median, quick, spread
from core.backend import BaseBackend
from core.config.records import AppConfig, BackendConfig, UIConfig
from core.inventory import Inventory
from core.model import BackendHealth, Capability, HealthStatus, Session, SessionRef, State

SIZES = (2_000,) if quick() else (10_000, 100_000)
RUNS = 1 if quick() else 3


class _Ready(BaseBackend):
    """A backend whose listing is a list it already holds."""

    kind = "json"
    capabilities = Capability.LIST

    def __init__(self, name: str, sessions: list[Session]) -> None:
        super().__init__(name)
        self.sessions = sessions

    def health(self) -> BackendHealth:
        return BackendHealth(self.name, self.kind, HealthStatus.OK, sessions=len(self.sessions))

    def list_sessions(self) -> list[Session]:
        return list(self.sessions)


def _sessions(n: int) -> list[Session]:
    now = datetime.now().astimezone()
    states = (State.ACTIVE, State.IDLE, State.ENDED)
    return [
        Session(
            ref=SessionRef("bench", f"s{i:06d}"),
            name=f"session-{i:06d}",
            kind="json",
            state=states[i % 3],
            created=now - timedelta(minutes=i),
            last_active=now - timedelta(seconds=i),
            info=f"agent {i % 17} · {i % 40} turns",
        )
        for i in range(n)
    ]


async def _first_screen(sessions: list[Session]) -> tuple[float, float]:
    """Seconds until the first screen (rows up to the bottom of the table and
    the title with the full count), and until every row is in the table."""
    from tui.app import SesstuiApp
    from tui.screens.dashboard import DashboardScreen

    config = AppConfig(backends=(BackendConfig(name="bench", kind="json"),), ui=UIConfig())
    inventory = Inventory([_Ready("bench", sessions)], config=config)
    started = time.perf_counter()
    app = SesstuiApp(config, inventory=inventory, live=False)
    first = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            screen = app.screen
            if isinstance(screen, DashboardScreen) and screen.snapshot is not None:
                table = screen.table
                shown = table.row_count >= min(len(sessions), table.size.height)
                if not first and shown and f"Sessions {len(sessions)}" in str(table.border_title):
                    await pilot.pause(0)  # that frame is drawn
                    first = time.perf_counter() - started
                if first and table.row_count == len(sessions):
                    return first, time.perf_counter() - started  # not the teardown
            await pilot.pause(0.001)


async def _empty_app() -> float:
    """Seconds until an empty Textual app has drawn its first screen."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("empty")

    started = time.perf_counter()
    app = Empty()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0)
        return time.perf_counter() - started


def run() -> list[Row]:
    empty: list[float] = []
    asyncio.run(_first_screen([]))  # warm up imports and CSS parsing
    asyncio.run(_empty_app())
    firsts: dict[int, list[float]] = {n: [] for n in SIZES}
    made = {n: _sessions(n) for n in SIZES}
    for _ in range(RUNS):
        empty.append(asyncio.run(_empty_app()))
        for n in SIZES:
            firsts[n].append(asyncio.run(_first_screen(made[n]))[0])
    return [
        Row(
            f"tui: first screen with {n:,} sessions, headless, vs an empty Textual app",
            median(firsts[n]),
            median(empty),
            math.inf,
            note=f"{spread(firsts[n])} s vs {spread(empty)} s, in-process 120x40; "
            "budgets: the live rows",
        )
        for n in SIZES
    ]


if __name__ == "__main__":
    main(run)
