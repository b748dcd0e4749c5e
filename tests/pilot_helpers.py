"""Helpers for Pilot tests: wait for the app's state, find the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from core.config.records import AppConfig, UIConfig
from core.inventory import Inventory
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from tui.app import SesstuiApp
from tui.screens.dashboard import DashboardScreen


async def wait_until(
    pilot: Pilot[int], pred: Callable[[], object], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until ``pred()`` is true; fail naming ``what`` after ``timeout``."""
    for _ in range(int(timeout / 0.05)):
        if pred():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def dash(pilot: Pilot[int]) -> DashboardScreen:
    """The dashboard, whatever modal is on top of it."""
    screen = pilot.app.screen_stack[1]
    assert isinstance(screen, DashboardScreen)
    return screen


_FOLLOWERS = frozenset({"tail", "merged"})


async def steady(pilot: Pilot[int]) -> None:
    """Make the next snapshot independent of the wall clock.

    Called after the keys of a snapshot test: every Input on every screen
    stops blinking (its cursor stays shown) and toasts are cleared (they time
    out after a few seconds, so whether a picture had one would depend on how
    loaded the machine was)."""
    app = pilot.app
    # what the keys started (a plan, an action, a refresh) has finished; the
    # tails follow for as long as their screen is open, so they are left running
    await wait_until(
        pilot,
        lambda: not any(w.is_running and w.group not in _FOLLOWERS for w in app.workers),
        "the workers the keys started",
        timeout=30,
    )
    await pilot.wait_for_scheduled_animations()
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()


def memory_kv_app(
    name: str, stores: MemoryStores, clock: Callable[[], datetime] | None = None, **kw: Any
) -> SesstuiApp:
    """The dashboard over one memory KV backend ``name`` of ``stores``, as
    the tests drive it: no timed refresh, no ticking timer."""
    cfg = AppConfig(
        backends=(KvBackendConfig(name=name, kind="kv", provider="memory"),),
        ui=UIConfig(refresh_seconds=0),
    )
    inventory = Inventory.from_config(cfg, source="tui", memory=stores)
    if clock is not None:
        kw["clock"] = clock
    return SesstuiApp(cfg, inventory=inventory, live=False, **kw)
