"""The context registry: async-safe, idempotent cleanup task, persisted contexts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from core.contexts import ContextRegistry, JsonContextSink, KvContextSink
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager as JsonSessions
from core.jsonstore.store import FileSessionStore
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager as KvSessions
from core.kv.providers import MemoryProvider
from core.model import State
from core.settings import JsonBackendConfig, KvBackendConfig
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
    manager = KvSessions("contexts", provider=MemoryProvider.shared(store))
    reg = ContextRegistry(idle_limit=timedelta(hours=2), sink=KvContextSink(manager))
    await reg.get_or_create("conn:42/odd id", working_dir=Path("/srv/w"))
    await reg.get_or_create("plain-1", project_id="proj")
    backend = KvBackend(KvBackendConfig(name=store, kind="kv", provider="memory"))
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
