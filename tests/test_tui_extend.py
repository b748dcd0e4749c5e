"""Pilot tests: the TTL dialog (`e`) acting on a real KV store (this process's
shared memory store, which the app's backend reads and writes)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.pilot import Pilot

from core.config.records import AppConfig, UIConfig
from core.inventory import Inventory
from core.kv.manager import SessionManager
from core.kv.providers import MemoryProvider, MemoryStore, MemoryStores
from core.kv.schema import KvBackendConfig
from tests.helpers import ManualClock, unique
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.extend import ExtendScreen


def kv_app(name: str, store: MemoryStore) -> SesstuiApp:
    cfg = AppConfig(
        backends=(KvBackendConfig(name=name, kind="kv", provider="memory"),),
        ui=UIConfig(refresh_seconds=0.3),
    )
    inventory = Inventory.from_config(cfg, source="tui", memory=MemoryStores(store))
    return SesstuiApp(cfg, inventory=inventory)


async def two_sessions() -> tuple[str, MemoryStore, ManualClock, str, str]:
    """A store on a clock of the test's (so TTLs are exact) with two sessions."""
    name = f"web-{unique()}"
    # starts at the real time only so that the records are not past their
    # expires_at for the app's backend; nothing below depends on its value
    clock = ManualClock(datetime.now(UTC))
    store = MemoryStore(name, clock=clock)
    mgr = SessionManager("app", provider=MemoryProvider(store), clock=clock)
    keep = await mgr.allocate_session("ann", ttl_hours=1)
    target = await mgr.allocate_session("bob", ttl_hours=1)
    return name, store, clock, keep, target


async def open_dialog(pilot: Pilot[int], name: str, sid: str) -> ExtendScreen:
    t = dash(pilot).table
    await wait_until(pilot, lambda: len(t.shown) == 2, "two rows")
    t.move_cursor(row=t.get_row_index(f"{name}:{sid}"))
    await wait_until(pilot, lambda: t.selected is not None and t.selected.id == sid, "selection")
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExtendScreen), "the TTL dialog")
    screen = pilot.app.screen
    assert isinstance(screen, ExtendScreen)
    return screen


async def test_expire_now_removes_the_record_from_the_store() -> None:
    name, store, _clock, keep, target = await two_sessions()
    app = kv_app(name, store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_dialog(pilot, name, target)
        await pilot.click("#expire")
        await wait_until(pilot, lambda: store.get(f"session:{target}") is None, "expired")
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 1, "the row gone")
        assert [s.id for s in t.shown.values()] == [keep]
        assert store.pttl(f"session:{keep}") == 3600_000  # the other one untouched
    store.clear()


async def test_extend_sets_the_typed_lifetime_in_the_store() -> None:
    name, store, _clock, keep, target = await two_sessions()
    app = kv_app(name, store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_dialog(pilot, name, target)
        await pilot.press(*"3h", "enter")
        await wait_until(
            pilot, lambda: store.pttl(f"session:{target}") == 3 * 3600_000, "the new TTL"
        )
        assert store.pttl(f"session:{keep}") == 3600_000
        # cancel changes nothing
        await open_dialog(pilot, name, keep)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExtendScreen), "closed")
        # an action would have started its worker when the dialog closed: wait
        # until none runs, then nothing may have changed
        await wait_until(
            pilot, lambda: not [w for w in app.workers if w.group == "act"], "no action running"
        )
        assert store.pttl(f"session:{keep}") == 3600_000
    store.clear()
