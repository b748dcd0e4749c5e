"""A big store's first page is shown before the rest is listed: the KV
backend hands it over (memory and a real redis-server), the inventory passes
it on, and the dashboard shows it, then the whole listing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from core.backend import PagedLister
from core.config.records import AppConfig, UIConfig
from core.inventory import Inventory
from core.kv.backend import KvBackend
from core.kv.providers import MemoryStore, MemoryStores
from core.kv.schema import KvBackendConfig
from core.kv.sources import MemorySource
from core.model import Session
from tests.helpers import dirs_config, kv_record, make_session, unique
from tests.kv_helpers import fill
from tests.pilot_helpers import dash, memory_kv_app, wait_until
from tests.redis_fixtures import RedisServer, redis_db, redis_server
from tui.app import SesstuiApp

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name

PAGE = 1000  # SCAN COUNT: a page of keys


def memory_backend(count: int) -> KvBackend:
    return memory_store_backend(count)[0]


def memory_store_backend(count: int) -> tuple[KvBackend, MemoryStore]:
    name = f"kv-{unique()}"
    stores = MemoryStores()
    fill(stores, name, count, datetime.now(UTC))
    cfg = KvBackendConfig(name=name, kind="kv", provider="memory")
    inv = Inventory.from_config(AppConfig(backends=(cfg,)), memory=stores)
    backend = inv.backends[name]
    assert isinstance(backend, KvBackend)
    return backend, stores.store(name)


def pause_after_the_first_page(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Memory stores pause after their first page until the test sets the event."""
    gate = threading.Event()
    real_pages = MemorySource.pages

    def paused(self: MemorySource, prefix: str) -> Iterator[Any]:
        for i, page in enumerate(real_pages(self, prefix)):
            if i == 1:
                assert gate.wait(30), "the test never let the listing go on"
            yield page

    monkeypatch.setattr(MemorySource, "pages", paused)
    return gate


def test_the_first_page_comes_once_newest_first_and_the_listing_is_whole() -> None:
    backend = memory_backend(2500)
    assert isinstance(backend, PagedLister)
    pages: list[list[Session]] = []
    listed = backend.list_paged(pages.append)
    assert len(pages) == 1 and len(pages[0]) == PAGE
    first = pages[0]
    created = [s.created.timestamp() for s in first if s.created is not None]
    assert len(created) == PAGE and created == sorted(created, reverse=True)
    assert {s.ref for s in first} <= {s.ref for s in listed}
    assert len(listed) == 2500
    assert listed == backend.list_sessions()  # the same listing as without pages


def test_an_empty_store_has_no_first_page() -> None:
    backend = memory_backend(0)
    pages: list[list[Session]] = []
    assert backend.list_paged(pages.append) == [] and pages == []


def test_a_real_redis_hands_its_first_scan_page(redis_db: RedisServer) -> None:
    r = redis_db.client()
    pipe = r.pipeline(transaction=False)
    now = datetime.now(UTC)
    for i in range(2500):
        pipe.setex(f"session:r{i:05d}", 600, kv_record(f"r{i:05d}", now=now))
    pipe.execute()
    backend = KvBackend(redis_db.config())
    pages: list[list[Session]] = []
    listed = backend.list_paged(pages.append)
    assert len(listed) == 2500
    assert len(pages) == 1 and 0 < len(pages[0]) < 2500  # a SCAN page, not the whole
    backend.close()


def test_the_inventory_passes_first_pages_of_paged_backends_only(tmp_path: Any) -> None:
    name = f"kv-{unique()}"
    stores = MemoryStores()
    fill(stores, name, 1500, datetime.now(UTC))
    make_session(tmp_path)
    config = AppConfig(
        backends=(KvBackendConfig(name=name, kind="kv", provider="memory"), dirs_config(tmp_path))
    )
    inv = Inventory.from_config(config, memory=stores)
    seen: list[tuple[str, int]] = []
    snap = inv.refresh(first_page=lambda backend, page: seen.append((backend, len(page))))
    assert seen == [(name, PAGE)]  # the dirs backend lists in one go
    assert len(snap.sessions) == 1501


async def test_the_dashboard_shows_the_first_page_then_the_whole_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"kv-{unique()}"
    stores = MemoryStores()
    fill(stores, name, 2500, datetime.now(UTC))
    gate = pause_after_the_first_page(monkeypatch)
    app = memory_kv_app(name, stores)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            t = dash(pilot).table
            await wait_until(pilot, lambda: t.row_count == PAGE, "the first page")
            await pilot.pause()
            assert str(t.border_title) == f"Sessions {PAGE}+ · listing…"
            assert t.row_keys[0] == f"{name}:s00000"  # newest first already
            assert "s00000" in t.render_line(1).text
            gate.set()
            await wait_until(pilot, lambda: t.row_count == 2500, "the whole listing")
            await wait_until(
                pilot, lambda: "listing" not in str(t.border_title), "the title without listing"
            )
            assert str(t.border_title).startswith("Sessions 2500 ·")
    finally:
        gate.set()


@pytest.mark.parametrize("moved", [False, True])
async def test_the_cursor_after_the_first_page_stays_on_top_unless_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: bool
) -> None:
    """A dirs backend (listed in one go, first in the config) and a big KV
    store: the screen opens on the store's first page; once the whole listing
    is in, the dirs rows come first.  The cursor the user left on row 0 is on
    row 0 then; one they moved stays on its session, in view."""
    name = f"kv-{unique()}"
    stores = MemoryStores()
    fill(stores, name, 2500, datetime.now(UTC))
    for days in range(40):
        make_session(tmp_path, age=timedelta(days=days + 1))
    gate = pause_after_the_first_page(monkeypatch)
    cfg = AppConfig(
        backends=(dirs_config(tmp_path), KvBackendConfig(name=name, kind="kv", provider="memory")),
        ui=UIConfig(refresh_seconds=0),
    )
    inventory = Inventory.from_config(cfg, source="tui", memory=stores)
    app = SesstuiApp(cfg, inventory=inventory, live=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            t = dash(pilot).table
            await wait_until(pilot, lambda: t.row_count == PAGE, "the first page")
            if moved:
                await pilot.press("j", "j")
                await wait_until(pilot, lambda: t.cursor_row == 2, "the cursor moved")
            chosen = t.cursor_key
            gate.set()
            await wait_until(pilot, lambda: t.row_count == 2540, "the whole listing")
            await pilot.pause()
            assert t.row_keys[0].startswith("runs:")  # the dirs rows come first
            if moved:
                assert t.cursor_key == chosen and t.cursor_row > 40
            else:
                assert t.cursor_row == 0 and t.cursor_key == t.row_keys[0]
            assert t.cursor_row in t.visible_range()  # never off screen
    finally:
        gate.set()


def test_relations_are_worked_out_again_only_for_a_new_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.relations import related_with_reasons as real
    from tui.dashboard import refresh

    calls: list[int] = []

    def counted(sessions: Any) -> Any:
        calls.append(len(sessions))
        return real(sessions)

    monkeypatch.setattr(refresh, "related_with_reasons", counted)
    backend, store = memory_store_backend(1500)
    refresher = refresh.Refresher(cast("Any", None), cast("Any", None), timed=lambda: None)
    first = refresher._relations_of(backend.list_sessions())
    again = refresher._relations_of(backend.list_sessions())  # every record kept
    assert calls == [1500] and again is first
    store.setex("session:s00001", 60, kv_record("s00001"))  # one record changed
    refresher._relations_of(backend.list_sessions())
    assert calls == [1500, 1500]
