"""The context registry: async-safe, idempotent cleanup task, persisted contexts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from core.contexts import (
    ContextRegistry,
    JsonContextSink,
    KvContextSink,
    SessionContextManager,
    get_session_context_manager,
)
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager as JsonSessions
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager as KvSessions
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import State
from tests.helpers import ManualClock, unique


async def test_contexts_are_counted_updated_and_go_stale() -> None:
    clock = ManualClock()
    reg = ContextRegistry(idle_limit=timedelta(hours=24), clock=clock)
    a = await reg.get_or_create("conn-a", working_dir=Path("/srv/a"), project_id="p1")
    await reg.get_or_create("conn-b")
    assert reg.count == 2
    assert (await reg.get_or_create("conn-a")).working_dir == Path("/srv/a")  # kept
    updated = await reg.update("conn-a", config_path=Path("/srv/a/cfg.yml"))
    assert updated.config_path == Path("/srv/a/cfg.yml") and updated.created_at == a.created_at
    clock.now += timedelta(hours=20)
    await reg.touch("conn-b")
    clock.now += timedelta(hours=5)  # a: 25 h idle, b: 5 h idle
    assert await reg.cleanup_stale() == 1
    assert reg.get("conn-a") is None and reg.get("conn-b") is not None
    assert await reg.remove("conn-b") and not await reg.remove("conn-b")
    assert reg.count == 0
    with pytest.raises(TypeError):
        await reg.update("x", colour="red")


async def test_start_and_stop_are_idempotent_and_the_task_cleans() -> None:
    clock = ManualClock()
    reg = ContextRegistry(
        idle_limit=timedelta(minutes=1), check_interval=timedelta(milliseconds=20), clock=clock
    )
    await reg.start()
    task = reg._task
    await reg.start()
    assert reg._task is task and reg.running  # one task, whatever the calls
    await reg.get_or_create("old")
    clock.now += timedelta(minutes=2)
    for _ in range(200):
        if reg.count == 0:
            break
        await asyncio.sleep(0.01)
    assert reg.count == 0  # the background task dropped it
    await reg.stop()
    await reg.stop()
    assert not reg.running
    async with reg:
        assert reg.running
    assert not reg.running


async def test_concurrent_use_from_many_tasks() -> None:
    reg = ContextRegistry()
    await asyncio.gather(*(reg.get_or_create(f"c{i % 10}", project_id=str(i)) for i in range(200)))
    assert reg.count == 10


async def test_contexts_persist_to_kv_and_show_in_the_dashboard_backend() -> None:
    store = f"ctx-{unique()}"
    stores = MemoryStores()
    manager = KvSessions("contexts", provider=stores.provider(store))
    reg = ContextRegistry(idle_limit=timedelta(hours=2), sink=KvContextSink(manager))
    await reg.get_or_create("conn:42/odd id", working_dir=Path("/srv/w"))
    await reg.get_or_create("plain-1", project_id="proj")
    backend = KvBackend(KvBackendConfig(name=store, kind="kv", provider="memory"), stores=stores)
    rows = {s.metadata.get("meta.context_id"): s for s in backend.list_sessions()}
    assert set(rows) == {"conn:42/odd id", "plain-1"}
    odd = rows["conn:42/odd id"]
    assert odd.id.startswith("ctx-") and odd.metadata["meta.working_dir"] == "/srv/w"
    assert odd.expires is not None  # the idle limit counts down in the TTL column
    await reg.remove("plain-1")
    assert {s.metadata.get("meta.context_id") for s in backend.list_sessions()} == {
        "conn:42/odd id"
    }


async def test_contexts_persist_to_json_records(tmp_path: Path) -> None:
    manager = JsonSessions(FileSessionStore(tmp_path))
    reg = ContextRegistry(sink=JsonContextSink(manager))
    await reg.get_or_create("mcp-7", working_dir=Path("/srv/x"))
    await reg.update("mcp-7", project_id="p9")
    backend = JsonBackend(JsonBackendConfig(name="agents", kind="json", base=tmp_path))
    (row,) = backend.list_sessions()
    assert row.id == "contexts/mcp-7" and row.state is State.ACTIVE
    assert row.metadata["meta.project_id"] == "p9" and row.metadata["meta.working_dir"] == "/srv/x"
    await reg.remove("mcp-7")
    (row,) = backend.list_sessions()
    assert row.state is State.ENDED  # ended, its history kept


# -- workflow-mcp's SessionContextManager names --------------------------------


async def test_workflow_mcp_calls_create_read_count_and_mark_used() -> None:
    clock = ManualClock()
    reg = SessionContextManager(idle_limit=timedelta(hours=24), clock=clock)
    assert await reg.get_working_directory("nobody") is None  # unknown: None, not made
    assert await reg.get_session_count() == 0
    await reg.set_working_directory("conn-1", "/srv/one")  # an unknown id is made
    made = clock.now
    assert await reg.get_session_count() == 1
    clock.advance(timedelta(hours=20))
    assert await reg.get_working_directory("conn-1") == "/srv/one"  # reading marks it used
    ctx = reg.get("conn-1")
    assert (
        ctx is not None and ctx.created_at == made and ctx.last_used == made + timedelta(hours=20)
    )
    assert ctx.working_directory == "/srv/one" and ctx.working_dir == Path("/srv/one")
    await reg.set_working_directory("conn-1", Path("/srv/two"))
    assert await reg.get_working_directory("conn-1") == "/srv/two"
    clock.advance(timedelta(hours=20))
    assert reg.get("conn-1") is not None  # get() is a read too: marks it used
    clock.advance(timedelta(hours=20))  # 20 h after that read, 40 h after the write
    assert await reg.cleanup_stale() == 0
    clock.advance(timedelta(hours=5))
    assert await reg.cleanup_stale() == 1
    assert await reg.get_session_count() == 0


def test_module_level_accessor_is_one_registry() -> None:
    first = get_session_context_manager()
    assert get_session_context_manager() is first
    assert isinstance(first, ContextRegistry) and SessionContextManager is ContextRegistry
    assert first.idle_limit == timedelta(hours=24) and first.check_interval == timedelta(hours=1)


# -- the cleanup task survives a failing store ------------------------------------


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


async def test_cleanup_task_survives_a_removal_that_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.contexts")
    clock = ManualClock()
    manager = JsonSessions(FileSessionStore(tmp_path))
    reg = ContextRegistry(
        idle_limit=timedelta(hours=1),
        check_interval=timedelta(milliseconds=10),
        sink=JsonContextSink(manager),
        clock=clock,
    )
    await reg.get_or_create("broken")
    await reg.get_or_create("fine")
    record = tmp_path / "contexts" / "broken.json"
    good = record.read_bytes()
    record.write_text("{ truncated")  # a real failure: ending it raises CorruptRecord
    backend = JsonBackend(JsonBackendConfig(name="agents", kind="json", base=tmp_path))

    def states() -> dict[str, State]:
        return {s.id: s.state for s in backend.list_sessions()}

    async with reg:
        clock.advance(timedelta(hours=2))
        await wait_for(lambda: states().get("contexts/fine") is State.ENDED, "fine to end")
        await wait_for(lambda: "trying again at the next cleanup" in caplog.text, "the warning")
        assert reg.running  # the task lived through the failure
        assert states()["contexts/broken"] is State.CORRUPT
        assert reg.count == 0
        record.write_bytes(good)  # repaired: the next round ends it
        await wait_for(lambda: states().get("contexts/broken") is State.ENDED, "the retry")
        # and it keeps working for contexts that go stale later
        await reg.get_or_create("later")
        clock.advance(timedelta(hours=2))
        await wait_for(lambda: states().get("contexts/later") is State.ENDED, "a later one")
        assert reg.running
    assert "'broken'" in caplog.text


# -- a context persisted to KV keeps its key alive while used ---------------------


async def test_a_used_context_refreshes_its_kv_ttl_instead_of_lapsing() -> None:
    clock = ManualClock()
    store = f"ctx-{unique()}"
    provider = MemoryStores().provider(store, clock=clock)
    manager = KvSessions("contexts", provider=provider, clock=clock)
    reg = ContextRegistry(idle_limit=timedelta(hours=2), sink=KvContextSink(manager), clock=clock)
    assert reg.store_ttl == timedelta(hours=2, minutes=1)
    await reg.set_working_directory("conn-9", "/srv/nine")
    key = manager.key("conn-9")
    first = await manager.get_session_info("conn-9")
    assert first is not None
    for _ in range(3):  # 4.5 h of use, each 90 min apart: past the 2 h idle limit twice
        clock.advance(timedelta(minutes=90))
        assert await reg.get_working_directory("conn-9") == "/srv/nine"
        ttl = await provider.ttl(key)
        assert ttl is not None and ttl == pytest.approx(
            timedelta(hours=2, minutes=1).total_seconds()
        )
    info = await manager.get_session_info("conn-9")
    assert info is not None
    assert info["created_at"] == first["created_at"]  # the same record, never re-created
    assert info["custom_metadata"]["working_dir"] == "/srv/nine"
    # uses closer together than refresh_interval write nothing
    clock.advance(timedelta(seconds=30))
    await reg.touch("conn-9")
    assert await provider.ttl(key) == pytest.approx(timedelta(hours=2, seconds=30).total_seconds())
    # left idle, it lapses shortly after the registry would drop it
    clock.advance(timedelta(hours=2, minutes=1))
    assert await manager.get_session_info("conn-9") is None
