"""KV sessions with TTLs: the provider and producer APIs (the chuk-sessions
contract) over memory and a real redis-server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.errors import (
    BackendUnavailable,
    ConfigError,
    UsageError,
)
from core.kv import (
    InvalidSessionId,
    KvProvider,
    MemoryProvider,
    MemoryStore,
    MemoryStores,
    RedisProvider,
    SessionManager,
    provider_from_env,
)
from core.kv.manager import FIELDS, parse_iso
from tests.helpers import ManualClock
from tests.helpers import kv_record as record
from tests.kv_helpers import (
    ID_NO_USER,
    ID_WITH_USER,
    PASSWORD,
    assert_ttl,
    wait_gone,
)
from tests.redis_fixtures import (
    RedisServer,
    free_port,
    private_redis,
    redis_db,
    redis_server,
    redis_tls,
)

__all__ = ["private_redis", "redis_db", "redis_server", "redis_tls"]  # fixtures, used by name

pytestmark = pytest.mark.redis


# ---------------------------------------------------------------------------
# Provider / manager contract, over memory and Redis
# ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "redis"])
async def provider(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[KvProvider]:
    if request.param == "memory":
        yield MemoryProvider(MemoryStore("contract", clock=clock))
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    p = RedisProvider(server.url, connect_timeout=1.0, socket_timeout=2.0)
    yield p
    await p.close()


@pytest.fixture
def mgr(provider: KvProvider, clock: ManualClock) -> SessionManager:
    return SessionManager("app-1", default_ttl_hours=2, provider=provider, clock=clock)


def clocked(provider: KvProvider) -> bool:
    """Whether ``provider`` counts TTLs on the test's clock (memory), not Redis's."""
    return isinstance(provider, MemoryProvider)


async def test_provider_setex_get_delete_ttl(provider: KvProvider, clock: ManualClock) -> None:
    await provider.setex("user:123", 300, "alice")
    assert await provider.get("user:123") == "alice"
    assert_ttl(await provider.ttl("user:123"), 300, exact=clocked(provider))
    if clocked(provider):
        clock.advance(timedelta(seconds=120))
        assert_ttl(await provider.ttl("user:123"), 180, exact=True)
    assert await provider.delete("user:123") is True
    assert await provider.delete("user:123") is False
    assert await provider.get("user:123") is None
    assert await provider.ttl("user:123") is None


async def test_provider_scan_is_a_literal_prefix(provider: KvProvider) -> None:
    for key in ("session:a", "session:b", "session*x", "sessions:c", "other:d"):
        await provider.setex(key, 60, "v")
    assert sorted(await provider.scan("session:")) == ["session:a", "session:b"]
    assert await provider.scan("session*") == ["session*x"]


async def test_allocate_writes_the_library_format(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session(user_id="alice", custom_metadata={"role": "admin"})
    assert ID_WITH_USER.match(sid)
    assert ID_NO_USER.match(await mgr.allocate_session())
    raw = await mgr.provider.get(f"session:{sid}")
    assert raw is not None
    data = json.loads(raw)
    assert tuple(data) == FIELDS
    assert data["session_id"] == sid
    assert data["sandbox_id"] == "app-1"
    assert data["user_id"] == "alice"
    assert data["status"] == "active"
    assert data["custom_metadata"] == {"role": "admin"}
    created = parse_iso(data["created_at"])
    expires = parse_iso(data["expires_at"])
    assert created is not None and expires is not None
    assert data["created_at"].endswith("+00:00")
    assert expires - created == timedelta(hours=2)
    assert created == mgr.clock()
    assert_ttl(await mgr.provider.ttl(f"session:{sid}"), 7200, exact=clocked(mgr.provider))


async def test_allocate_without_user_stores_null(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session(ttl_hours=0.5)
    info = await mgr.get_session_info(sid)
    assert info is not None and info["user_id"] is None
    assert_ttl(await mgr.provider.ttl(f"session:{sid}"), 1800, exact=clocked(mgr.provider))


async def test_allocate_with_existing_id_keeps_it(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session(user_id="bob", custom_metadata={"a": 1})
    assert await mgr.allocate_session(session_id=sid, custom_metadata={"a": 2}) == sid
    info = await mgr.get_session_info(sid)
    assert info is not None and info["custom_metadata"] == {"a": 1}
    assert await mgr.allocate_session(session_id="my-own-id") == "my-own-id"
    assert await mgr.get_session_info("my-own-id") is not None


async def test_validate_touches_last_accessed_and_keeps_the_ttl(
    mgr: SessionManager, clock: ManualClock
) -> None:
    sid = await mgr.allocate_session(user_id="alice")
    before = await mgr.get_session_info(sid)
    ttl_before = await mgr.provider.ttl(f"session:{sid}")
    clock.advance(timedelta(seconds=1))
    assert await mgr.validate_session(sid) is True
    after = await mgr.get_session_info(sid)
    assert before is not None and after is not None
    assert parse_iso(after["last_accessed"]) == clock.now
    assert after["expires_at"] == before["expires_at"]
    ttl_after = await mgr.provider.ttl(f"session:{sid}")
    assert ttl_before is not None and ttl_after is not None
    assert ttl_after <= ttl_before
    assert await mgr.validate_session("sess-nobody-1-deadbeef") is False


async def test_update_metadata_merges_and_keeps_ttl(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session(custom_metadata={"role": "admin", "n": 1})
    assert await mgr.update_session_metadata(sid, {"n": 2, "tags": ["x"]}) is True
    info = await mgr.get_session_info(sid)
    assert info is not None
    assert info["custom_metadata"] == {"role": "admin", "n": 2, "tags": ["x"]}
    ttl = await mgr.provider.ttl(f"session:{sid}")
    assert ttl is not None and ttl > 7000
    assert await mgr.update_session_metadata("gone", {"a": 1}) is False


async def test_extend_moves_expires_at_and_key_ttl_together(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session()
    info = await mgr.get_session_info(sid)
    assert info is not None
    assert await mgr.extend_session_ttl(sid, 1) is True
    after = await mgr.get_session_info(sid)
    assert after is not None
    old, new = parse_iso(info["expires_at"]), parse_iso(after["expires_at"])
    assert old is not None and new is not None
    assert new - old == timedelta(hours=1)
    left = (new - mgr.clock()).total_seconds()
    assert left == 3 * 3600
    assert_ttl(await mgr.provider.ttl(f"session:{sid}"), left, exact=clocked(mgr.provider))
    assert await mgr.extend_session_ttl("gone", 1) is False


async def test_delete(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session()
    assert await mgr.delete_session(sid) is True
    assert await mgr.delete_session(sid) is False
    assert await mgr.get_session_info(sid) is None
    assert await mgr.validate_session(sid) is False


async def test_list_sessions_is_this_sandbox_only(provider: KvProvider) -> None:
    a = SessionManager("app-1", provider=provider)
    b = SessionManager("app-2", provider=provider)
    mine = {await a.allocate_session(user_id="u1"), await a.allocate_session()}
    await b.allocate_session(user_id="u2")
    await provider.setex("session:junk", 60, "not json")
    await provider.setex("other:key", 60, record("other"))
    assert await a.list_sessions() == sorted(mine)


async def test_cleanup_removes_records_past_expires_at(provider: KvProvider) -> None:
    mgr = SessionManager("app-1", provider=provider)
    live = await mgr.allocate_session()
    # a record whose key outlived its expires_at (a clock skew, a TTL-less store)
    await provider.setex("session:stale", 600, record("stale", ttl=-10))
    await provider.setex("session:stale2", 600, record("stale2", "app-2", ttl=-10))
    assert await mgr.cleanup_expired_sessions() == 1
    assert await provider.get("session:stale") is None
    assert await provider.get("session:stale2") is not None  # another sandbox's
    assert await mgr.list_sessions() == [live]
    assert await mgr.get_session_info("stale2") is None  # past expires_at: not valid


async def test_sessions_expire_with_their_ttl(mgr: SessionManager, clock: ManualClock) -> None:
    sid = await mgr.allocate_session(ttl_hours=0.2 / 3600)  # 200 ms
    assert await mgr.validate_session(sid) is True
    if clocked(mgr.provider):
        clock.advance(timedelta(milliseconds=199))
        assert await mgr.validate_session(sid) is True
        clock.advance(timedelta(milliseconds=1))
    else:
        await wait_gone(mgr.provider, f"session:{sid}")
    assert await mgr.provider.get(f"session:{sid}") is None
    assert await mgr.validate_session(sid) is False
    assert await mgr.list_sessions() == []


async def test_grid_helpers(mgr: SessionManager) -> None:
    sid = await mgr.allocate_session(user_id="alice")
    assert mgr.get_canonical_prefix(sid) == f"grid/app-1/{sid}/"
    key = mgr.generate_artifact_key(sid, "doc123")
    assert key == f"grid/app-1/{sid}/doc123"
    assert mgr.get_session_prefix_pattern() == "grid/app-1/"
    assert mgr.parse_grid_key(key) == {
        "sandbox_id": "app-1",
        "session_id": sid,
        "artifact_id": "doc123",
        "subpath": None,
    }
    parsed = mgr.parse_grid_key(f"{key}/a/b.txt")
    assert parsed is not None and parsed["subpath"] == "a/b.txt"
    for bad in ("grid/app-1/s", "files/a/b/c", ""):
        assert mgr.parse_grid_key(bad) is None


@pytest.mark.parametrize("bad", ["", "a\nb", "a\x00b", "tab\tid", "del\x7f"])
async def test_session_ids_are_validated(bad: str) -> None:
    mgr = SessionManager("app-1", provider=MemoryProvider())
    with pytest.raises(InvalidSessionId) as err:
        await mgr.get_session_info(bad)
    assert isinstance(err.value, ValueError) and isinstance(err.value, UsageError)
    assert "session id" in err.value.message


def test_bad_ids_elsewhere_are_refused() -> None:
    with pytest.raises(InvalidSessionId, match="sandbox id"):
        SessionManager("a\nb", provider=MemoryProvider())
    mgr = SessionManager("ok", provider=MemoryProvider())
    with pytest.raises(UsageError, match="user_id"):
        asyncio.run(mgr.allocate_session(user_id=7))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="ttl_hours"):
        asyncio.run(mgr.allocate_session(ttl_hours=0))


def test_provider_from_env() -> None:
    assert isinstance(provider_from_env({}), MemoryProvider)
    for alias in ("memory", "mem", "inmemory", "MEM"):
        assert isinstance(provider_from_env({"SESSION_PROVIDER": alias}), MemoryProvider)
    stores = MemoryStores()
    shared = provider_from_env({"SESSION_PROVIDER": "mem"}, stores=stores)
    assert isinstance(shared, MemoryProvider) and shared.store is stores.store("default")
    # without stores, nothing is shared: no process-wide registry
    private = provider_from_env({"SESSION_PROVIDER": "mem"})
    assert isinstance(private, MemoryProvider) and private.store is not shared.store
    for alias in ("redis", "redis_store"):
        p = provider_from_env(
            {
                "SESSION_PROVIDER": alias,
                "SESSION_REDIS_URL": "redis://:pw@a:1/0",
                "REDIS_URL": "redis://b:2/0",
            }
        )
        assert isinstance(p, RedisProvider) and p.url == "redis://:pw@a:1/0"
        assert p.endpoint == "redis://:***@a:1/0"
    p = provider_from_env({"SESSION_PROVIDER": "redis", "REDIS_URL": "rediss://b:2/0"})
    assert isinstance(p, RedisProvider) and p.url == "rediss://b:2/0"
    with pytest.raises(ConfigError) as err:
        provider_from_env({"SESSION_PROVIDER": "dynamo"})
    for name in ("memory", "mem", "inmemory", "redis", "redis_store"):
        assert name in err.value.message


async def test_env_redis_provider_talks_to_the_server(redis_db: RedisServer) -> None:
    provider = provider_from_env({"SESSION_PROVIDER": "redis_store", "REDIS_URL": redis_db.url})
    mgr = SessionManager("envapp", provider=provider)
    sid = await mgr.allocate_session(user_id="carol")
    assert redis_db.client().exists(f"session:{sid}") == 1
    await provider.close()


async def test_redis_provider_down_is_backend_unavailable() -> None:
    provider = RedisProvider(
        f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0", connect_timeout=0.5, socket_timeout=0.5
    )
    with pytest.raises(BackendUnavailable) as err:
        await provider.get("x")
    assert PASSWORD not in str(err.value) and "***" in str(err.value)
    await provider.close()


def test_memory_store_is_thread_safe() -> None:
    clock = ManualClock()
    store = MemoryStore("threads", clock=clock)

    def bump(value: str) -> tuple[str, float | None]:
        return str(int(value) + 1), None

    store.setex("n", 60, "0")

    def work() -> None:
        for _ in range(500):
            store.update("n", bump)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("n") == "4000"
    store.setex("short", 0.01, "x")
    assert store.purge() == 0
    clock.advance(timedelta(seconds=0.01))
    assert store.purge() == 1 and len(store) == 1
