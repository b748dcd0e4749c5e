"""The KV dashboard backend over in-memory stores: the garbage collector left
alone, the stores a caller owns, typed facts."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import UsageError
from core.kv import MemoryStores, SessionManager, factory_for_env
from core.kv.backend import KvBackend
from core.kv.manager import parse_iso
from core.kv.sources import MemorySource, Row
from core.model import State
from tests.helpers import ManualClock, unique
from tests.helpers import kv_record as record
from tests.kv_helpers import kv_config

# ---------------------------------------------------------------------------
# Dashboard backend, memory
# ---------------------------------------------------------------------------


def test_listing_leaves_the_garbage_collector_alone() -> None:
    """No process-wide side effect: the collector stays on while pages are
    fetched and turned into sessions (the store's clock, read once per page,
    notes its state)."""
    enabled: list[bool] = []

    def clock() -> datetime:
        enabled.append(gc.isenabled())
        return datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    name = f"gc-{unique()}"
    stores = MemoryStores()
    store = stores.store(name, clock=clock)
    for i in range(3000):
        store.setex(f"session:g{i}", 600, record(f"g{i}"))
    backend = KvBackend(kv_config(name), stores=stores)
    enabled.clear()
    assert len(backend.list_sessions()) == 3000
    assert len(enabled) >= 3 and all(enabled), enabled  # one read per page of 1000
    assert gc.isenabled()
    store.clear()


async def test_memory_backend_sees_the_shared_store() -> None:
    clock = ManualClock()
    stores = MemoryStores()
    mgr = SessionManager("demo", provider=stores.provider("kv-demo", clock=clock), clock=clock)
    sid = await mgr.allocate_session(user_id="erin", custom_metadata={"x": "y"})
    stores.store("kv-demo").setex("session:broken", 60, "nope")
    stores.store("kv-demo").set("session:nottl", record("nottl", now=clock.now))
    backend = KvBackend(kv_config("kv-demo", provider="mem"), clock=clock, stores=stores)
    by_id = {s.id: s for s in backend.list_sessions()}
    assert set(by_id) == {sid, "broken", "nottl"}
    assert by_id[sid].state is State.ACTIVE and by_id[sid].metadata["meta.x"] == "y"
    assert by_id["broken"].state is State.CORRUPT
    assert by_id["nottl"].metadata["ttl"] == "none"
    assert backend.health().endpoint == "memory:kv-demo"
    backend.extend(sid, timedelta(minutes=5))
    info = await mgr.get_session_info(sid)
    assert info is not None
    expires = parse_iso(info["expires_at"])
    assert expires == clock.now + timedelta(minutes=5)
    assert backend.get(sid).expires == expires  # the key's TTL ends with expires_at
    assert backend.prune(backend.plan_delete([sid, "broken"])).ok
    assert [s.id for s in backend.list_sessions()] == ["nottl"]
    stores.clear()


def test_listing_fills_the_key_and_no_ttl_facts() -> None:
    clock = ManualClock()
    stores = MemoryStores()
    store = stores.store("facts", clock=clock)
    store.setex("session:ticking", 600, record("ticking", now=clock.now))
    store.set("session:forever", record("forever", now=clock.now))
    store.set("session:junk", "not json")
    backend = KvBackend(kv_config("facts"), clock=clock, stores=stores)
    facts = {s.id: (s.facts.key, s.facts.never_expires) for s in backend.list_sessions()}
    assert facts == {
        "ticking": ("session:ticking", False),
        "forever": ("session:forever", True),
        "junk": ("session:junk", True),
    }
    assert backend.get("forever").facts.never_expires


def test_memory_stores_are_owned_by_their_caller() -> None:
    """Two MemoryStores share nothing, even under the same name; a backend
    without stores starts empty: no process-wide registry."""
    mine, theirs = MemoryStores(), MemoryStores()
    mine.store("web").setex("session:a", 60, record("a"))
    assert theirs.store("web").get("session:a") is None
    assert [s.id for s in KvBackend(kv_config("web"), stores=mine).list_sessions()] == ["a"]
    assert KvBackend(kv_config("web"), stores=theirs).list_sessions() == []
    assert KvBackend(kv_config("web")).list_sessions() == []
    assert mine.names() == ["web"]
    with pytest.raises(UsageError, match="another clock"):
        mine.store("web", clock=ManualClock())


async def test_a_factorys_memory_sessions_share_its_store_and_no_other() -> None:
    env = {"SESSION_PROVIDER": "memory"}
    factory = factory_for_env(env)
    async with factory() as a:
        await a.setex("k", 60, "v")
    async with factory() as b:
        assert await b.get("k") == "v"  # one factory: one store, as chuk's sessions share
    async with factory_for_env(env)() as c:
        assert await c.get("k") is None  # another factory: nothing process-wide
    stores = MemoryStores()
    async with factory_for_env(env, stores=stores)() as d:
        await d.setex("k", 60, "w")
    assert stores.store("default").get("k") == "w"


def test_an_unchanged_memory_store_is_not_read_again_until_a_write_or_a_deadline() -> None:
    clock = ManualClock()
    stores = MemoryStores()
    store = stores.store(f"still-{unique()}", clock=clock)
    store.setex("session:short", 600, record("short", now=clock.now, ttl=600))
    # its record says it ends in 2 min; its key lives an hour
    store.setex("session:stated", 3600, record("stated", now=clock.now, ttl=120))
    store.set("session:forever", record("forever", now=clock.now))
    reads: list[int] = []
    real_rows = store.rows

    def rows(keys: list[str]) -> list[tuple[str, str, int]]:
        reads.append(len(keys))
        return real_rows(keys)

    store.rows = rows  # type: ignore[method-assign]
    backend = KvBackend(kv_config(store.name), clock=clock, stores=stores)
    first = backend.list_sessions()
    assert sorted(s.id for s in first) == ["forever", "short", "stated"] and reads
    reads.clear()
    clock.advance(timedelta(seconds=30))
    again = backend.list_sessions()
    # nothing written, no deadline passed: the very same sessions, the store not read
    assert reads == [] and len(again) == 3 and all(map(lambda a, b: a is b, again, first))
    store.setex("session:new", 600, record("new", now=clock.now, ttl=600))
    assert "new" in {s.id for s in backend.list_sessions()} and reads
    reads.clear()
    backend.list_sessions()
    assert reads == []
    # the record's own expires_at passes (its key lives on): it shows expired
    clock.advance(timedelta(seconds=100))
    states = {s.id: s.state for s in backend.list_sessions()}
    assert reads and states["stated"] is State.EXPIRED and states["short"] is State.ACTIVE
    # a key's TTL runs out: it is gone from the listing
    clock.advance(timedelta(seconds=600))
    assert "short" not in {s.id for s in backend.list_sessions()}
    # a change made through the backend (extend) is seen too
    store.setex("session:last", 600, record("last", now=clock.now, ttl=600))
    assert "last" in {s.id for s in backend.list_sessions()}
    backend.extend("last", timedelta(hours=1))
    listed = {s.id: s for s in backend.list_sessions()}
    assert listed["last"].expires == clock.now + timedelta(hours=1)


def test_a_key_listed_twice_shows_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis's SCAN may return a key twice (while it resizes its table)."""
    stores = MemoryStores()
    store = stores.store(f"twice-{unique()}")
    for sid in ("a", "b", "c"):
        store.setex(f"session:{sid}", 600, record(sid))
    real_pages = MemorySource.pages

    def pages(self: MemorySource, prefix: str) -> Iterator[list[Row]]:
        listed = [list(page) for page in real_pages(self, prefix)]
        yield from listed
        yield [listed[0][0]]  # the first key again, in a page of its own

    monkeypatch.setattr(MemorySource, "pages", pages)
    backend = KvBackend(kv_config(store.name), stores=stores)
    for _ in range(2):  # the first listing (every row new), then a refresh
        assert sorted(s.id for s in backend.list_sessions()) == ["a", "b", "c"]
        store.setex("session:b", 600, record("b"))  # (a write: the next one reads again)
