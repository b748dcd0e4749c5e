"""KV sessions with TTLs: the provider and producer APIs over memory and a real
redis-server, and the dashboard backend against both."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    UsageError,
)
from core.kv import (
    InvalidSessionId,
    KvProvider,
    MemoryProvider,
    MemoryStore,
    RedisProvider,
    SessionManager,
    provider_from_env,
)
from core.kv.backend import KvBackend
from core.kv.manager import FIELDS, parse_iso
from core.kv.schema import KvBackendConfig
from core.model import Capability, HealthStatus, PruneReason, State
from core.registry import build_backend
from tests.helpers import ManualClock, unique
from tests.helpers import kv_record as record
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

ID_WITH_USER = re.compile(r"^sess-alice-\d{10}-[0-9a-f]{8}$")
ID_NO_USER = re.compile(r"^sess-\d{10}-[0-9a-f]{8}$")
PASSWORD = "hunter2-s3cret"
# Redis counts a key's TTL down in real time and cannot be given a clock: a
# TTL read back from it is at most what was set and at least this much less
# (a bound for a test taking a minute between SET and PTTL, not a timing).
REDIS_SLACK = 60.0


def assert_ttl(ttl: float | None, expected: float, *, exact: bool) -> None:
    """``ttl`` (seconds) is ``expected``: exactly on a store with the test's
    clock, within :data:`REDIS_SLACK` below it on Redis."""
    assert ttl is not None
    if exact:
        assert ttl == expected
    else:
        assert expected - REDIS_SLACK < ttl <= expected


async def wait_gone(provider: KvProvider, key: str, timeout: float = 10.0) -> None:
    """Until Redis itself has expired ``key`` (polling, with a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await provider.get(key) is not None:
        assert loop.time() < deadline, f"{key} did not expire within {timeout}s"
        await asyncio.sleep(0.02)


def setex(client: Any, key: str | bytes, ttl: int, value: str | bytes) -> None:
    """SETEX through redis-py (whose ``setex`` method is deprecated in 8.x)."""
    client.set(key, value, ex=ttl)


def kv_config(name: str = "kv", **kwargs: Any) -> KvBackendConfig:
    return KvBackendConfig(name=name, kind="kv", **kwargs)


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
    shared = provider_from_env({"SESSION_PROVIDER": "mem"})
    assert isinstance(shared, MemoryProvider) and shared.store is MemoryProvider.shared().store
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


# ---------------------------------------------------------------------------
# Dashboard backend, Redis
# ---------------------------------------------------------------------------


def test_raw_library_session_shows_up(redis_db: RedisServer) -> None:
    r = redis_db.client()
    sid = "sess-alice-1763719200-abcd1234"
    setex(
        r,
        f"session:{sid}",
        3600,
        record(sid, meta={"role": "admin", "perms": ["r", "w"]}, zulu=True),
    )
    clock = ManualClock()
    backend = KvBackend(redis_db.config(), clock=clock)
    [s] = backend.list_sessions()
    assert s.ref.backend == "kv" and s.id == sid and s.name == sid
    assert s.kind == "kv" and s.state is State.ACTIVE
    assert s.created is not None and s.last_active is not None and s.expires is not None
    assert s.last_active > s.created
    assert_ttl((s.expires - clock.now).total_seconds(), 3600, exact=False)
    assert s.info == "user alice · sandbox app-1"
    assert s.metadata["sandbox"] == "app-1" and s.metadata["user"] == "alice"
    assert s.metadata["status"] == "active"
    assert s.metadata["meta.role"] == "admin"
    assert json.loads(s.metadata["meta.perms"]) == ["r", "w"]
    assert backend.get(sid) == s or backend.get(sid).id == sid
    health = backend.health()
    assert health.ok and health.sessions == 1
    assert health.endpoint == f"redis://127.0.0.1:{redis_db.port}/0"
    assert backend.capabilities == Capability.LIST | Capability.DELETE | Capability.EXTEND
    with pytest.raises(SessionNotFound):
        backend.get("sess-nope")
    backend.close()


async def test_manager_sessions_show_in_backend(redis_db: RedisServer) -> None:
    provider = RedisProvider(redis_db.url)
    mgr = SessionManager("app-9", provider=provider)
    sid = await mgr.allocate_session(user_id="dave", custom_metadata={"k": 3})
    await provider.close()
    backend = KvBackend(redis_db.config(sandbox="app-9"))
    [s] = await asyncio.to_thread(backend.list_sessions)
    assert s.id == sid and s.metadata["meta.k"] == "3" and s.info == "user dave · sandbox app-9"
    backend.close()


def _cmdstat(server: RedisServer, command: str) -> int:
    stats = server.client().info("commandstats")
    entry = stats.get(f"cmdstat_{command}")
    return int(entry["calls"]) if isinstance(entry, dict) else 0


def test_listing_uses_scan_never_keys(redis_db: RedisServer) -> None:
    r = redis_db.client()
    pipe = r.pipeline(transaction=False)
    for i in range(2500):
        setex(pipe, f"session:s{i:05d}", 600, record(f"s{i:05d}"))
    pipe.execute()
    backend = KvBackend(redis_db.config())
    r.config_resetstat()
    sessions = backend.list_sessions()
    assert len(sessions) == 2500
    assert _cmdstat(redis_db, "keys") == 0
    assert _cmdstat(redis_db, "scan") >= 3  # COUNT 1000
    assert _cmdstat(redis_db, "pttl") == 2500
    # a refresh fetches values with one MGET per page
    r.config_resetstat()
    assert len(backend.list_sessions()) == 2500
    assert _cmdstat(redis_db, "keys") == 0
    assert 3 <= _cmdstat(redis_db, "mget") == _cmdstat(redis_db, "scan")
    assert _cmdstat(redis_db, "get") == 0 and _cmdstat(redis_db, "pttl") == 2500
    backend.close()


def test_read_only_acl_user_without_scripting(redis_db: RedisServer) -> None:
    """Where EVAL is refused, listing falls back to SCAN + pipelines (never KEYS)."""
    r = redis_db.client()
    r.acl_setuser(
        "viewer", enabled=True, passwords=["+view-pw"], keys=["session:*"],
        commands=["+@read", "+@connection", "-@scripting"],
    )  # fmt: skip
    for i in range(1500):
        setex(r, f"session:v{i}", 600, record(f"v{i}"))
    setex(r, "session:junk", 600, "junk")
    url = f"redis://viewer:view-pw@127.0.0.1:{redis_db.port}/0"
    backend = KvBackend(redis_db.config(url=url))
    r.config_resetstat()
    sessions = backend.list_sessions()
    assert len(sessions) == 1501
    assert sum(s.state is State.CORRUPT for s in sessions) == 1
    assert _cmdstat(redis_db, "keys") == 0 and _cmdstat(redis_db, "scan") >= 2
    assert _cmdstat(redis_db, "pttl") == 1501
    assert len(backend.list_sessions()) == 1501  # the fallback sticks
    assert backend.health().endpoint == f"redis://viewer:***@127.0.0.1:{redis_db.port}/0"
    r.acl_deluser("viewer")
    backend.close()


def test_corrupt_values_no_ttl_and_foreign_keys(redis_db: RedisServer) -> None:
    r = redis_db.client()
    setex(r, "session:bad-json", 600, "{not json")
    setex(r, "session:bad-bytes", 600, b"\xff\xfe\x00")
    setex(r, "session:a-list", 600, "[1, 2]")
    r.set("session:forever", record("forever"))
    setex(r, b"session:\xffraw", 600, record("raw"))  # a key that is not UTF-8
    r.hset("session:a-hash", "f", "v")  # not a string: never shown
    setex(r, "other:x", 600, record("x"))
    setex(r, "sessionx", 600, record("sessionx"))
    backend = KvBackend(redis_db.config())
    by_id = {s.id: s for s in backend.list_sessions()}
    assert set(by_id) == {"bad-json", "bad-bytes", "a-list", "forever", "\udcffraw"}
    for sid in ("bad-json", "bad-bytes", "a-list"):
        assert by_id[sid].state is State.CORRUPT
    assert by_id["forever"].state is State.ACTIVE
    assert by_id["forever"].metadata["ttl"] == "none"
    # deleting everything shown leaves the foreign keys alone
    result = backend.prune(backend.plan_delete(list(by_id)))
    assert result.ok and len(result.removed) == 5
    left = sorted(k.decode() for k in r.scan_iter(count=1000))
    assert left == ["other:x", "session:a-hash", "sessionx"]
    backend.close()


def test_sandbox_filter_and_custom_prefix(redis_db: RedisServer) -> None:
    r = redis_db.client()
    setex(r, "session:a", 600, record("a", "app-1"))
    setex(r, "session:b", 600, record("b", "app-2"))
    setex(r, "session:junk", 600, "junk")
    setex(r, "tenant/x:c", 600, record("c", "app-1"))
    assert [s.id for s in KvBackend(redis_db.config(sandbox="app-2")).list_sessions()] == ["b"]
    assert [s.id for s in KvBackend(redis_db.config(key_prefix="tenant/x:")).list_sessions()] == [
        "c"
    ]


def test_refresh_shows_every_change(redis_db: RedisServer) -> None:
    """Unchanged records are reused between refreshes; changes never are."""
    r = redis_db.client()
    clock = ManualClock()
    for sid in ("c1", "c2", "c3", "c4"):
        setex(r, f"session:{sid}", 600, record(sid, "app-1", now=clock.now))
    # stated expiry soon, key TTL long: the clock alone turns it EXPIRED
    setex(r, "session:c5", 600, record("c5", "app-1", ttl=0.5, now=clock.now))
    backend = KvBackend(redis_db.config(sandbox="app-1"), clock=clock)
    first = {s.id: s for s in backend.list_sessions()}
    assert set(first) == {"c1", "c2", "c3", "c4", "c5"}
    assert first["c5"].state is State.ACTIVE
    setex(r, "session:c1", 600, record("c1", meta={"v": 2}, now=clock.now))  # new value
    r.expire("session:c2", 3000)  # same value, new TTL
    r.delete("session:c3")
    setex(r, "session:c4", 600, record("c4", "app-2", now=clock.now))  # out of the sandbox
    setex(r, "session:c6", 600, record("c6", now=clock.now))
    # past c5's expires_at, yet its key's expiry instant moves by less than a
    # second: only the EXPIRED-at check may re-read the unchanged c5
    clock.advance(timedelta(seconds=0.9))
    listed = backend.list_sessions()
    second = {s.id: s for s in listed}
    assert set(second) == {"c1", "c2", "c5", "c6"}
    assert second["c1"].metadata["meta.v"] == "2"
    assert second["c2"].expires is not None and first["c2"].expires is not None
    assert (second["c2"].expires - first["c2"].expires).total_seconds() > 2000
    assert second["c5"].state is State.EXPIRED
    third = backend.list_sessions()
    assert [s.id for s in third] == [s.id for s in listed]
    assert all(a is b for a, b in zip(third, listed, strict=True))  # reused, unchanged


def test_expired_by_expires_at(redis_db: RedisServer) -> None:
    setex(redis_db.client(), "session:late", 600, record("late", ttl=-5))
    [s] = KvBackend(redis_db.config()).list_sessions()
    assert s.state is State.EXPIRED


def test_backend_extend_sets_remaining_lifetime(redis_db: RedisServer) -> None:
    r = redis_db.client()
    setex(r, "session:s1", 60, record("s1", ttl=60))
    clock = ManualClock()
    backend = KvBackend(redis_db.config(), clock=clock)
    backend.extend("s1", timedelta(hours=2))
    data = json.loads(r.get("session:s1") or b"")
    assert parse_iso(data["expires_at"]) == clock.now + timedelta(hours=2)
    assert_ttl(r.pttl("session:s1") / 1000, 7200, exact=False)
    assert data["custom_metadata"] == {"role": "admin"}
    backend.extend("s1", timedelta(0))
    assert r.exists("session:s1") == 0
    with pytest.raises(SessionNotFound):
        backend.extend("s1", timedelta(hours=1))
    setex(r, "session:junk", 60, "junk")
    with pytest.raises(ActionFailed, match="not a valid session"):
        backend.extend("junk", timedelta(hours=1))
    # a sandbox-filtered backend cannot reach another sandbox's sessions
    setex(r, "session:other", 60, record("other", "app-2"))
    scoped = KvBackend(redis_db.config(sandbox="app-1"))
    for ttl in (timedelta(hours=1), timedelta(0)):
        with pytest.raises(SessionNotFound):
            scoped.extend("other", ttl)
    with pytest.raises(SessionNotFound):
        scoped.plan_delete(["other"])
    assert r.pttl("session:other") <= 60_000


def _race(backend: KvBackend, mgr: SessionManager, sid: str, *, exact: bool) -> None:
    """N threads extend while one updates metadata; nothing may be lost."""
    stop = threading.Event()
    errors: list[BaseException] = []
    last: dict[int, int] = {}

    def extender(n: int) -> None:
        try:
            for i in range(1, 31):
                backend.extend(sid, timedelta(seconds=1000 + n * 100 + i))
                last[n] = i
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def updater() -> None:
        async def go() -> None:
            for i in range(60):
                assert await mgr.update_session_metadata(sid, {f"k{i}": i})

        try:
            asyncio.run(go())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        stop.set()

    threads = [threading.Thread(target=extender, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=updater))
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    info = asyncio.run(mgr.get_session_info(sid))
    assert info is not None
    assert info["custom_metadata"] == {"role": "admin"} | {f"k{i}": i for i in range(60)}
    # expires_at and the key TTL come from the same (last) write
    expires = parse_iso(info["expires_at"])
    assert expires is not None
    left = (expires - backend.clock()).total_seconds()
    assert left in {1000 + n * 100 + last[n] for n in last}  # one extender's last write
    s = backend.get(sid)
    assert s.expires is not None
    assert_ttl((s.expires - backend.clock()).total_seconds(), left, exact=exact)


def test_concurrent_extend_and_metadata_redis(redis_db: RedisServer) -> None:
    setex(redis_db.client(), "session:race", 600, record("race"))
    provider = RedisProvider(redis_db.url)
    clock = ManualClock()
    backend = KvBackend(redis_db.config(), clock=clock)
    _race(backend, SessionManager("app-1", provider=provider, clock=clock), "race", exact=False)


def test_concurrent_extend_and_metadata_memory() -> None:
    clock = ManualClock()
    store = MemoryProvider.shared_store("race-mem", clock=clock)
    store.setex("session:race", 600, record("race", now=clock.now))
    mgr = SessionManager("app-1", provider=MemoryProvider.shared("race-mem"), clock=clock)
    _race(KvBackend(kv_config("race-mem"), clock=clock), mgr, "race", exact=True)


def test_plan_delete_and_prune(redis_db: RedisServer) -> None:
    r = redis_db.client()
    for sid in ("d1", "d2", "d3"):
        setex(r, f"session:{sid}", 600, record(sid))
    backend = KvBackend(redis_db.config())
    plan = backend.plan_delete(["d1", "d2"])
    assert [e.id for e in plan.entries] == ["d1", "d2"]
    assert all(e.reason is PruneReason.REQUESTED for e in plan.entries)
    r.delete("session:d2")
    result = backend.prune(plan)
    assert [(x.entry.id, x.ok, x.error) for x in result.results] == [
        ("d1", True, ""),
        ("d2", False, "no longer exists"),
    ]
    assert r.exists("session:d3") == 1
    with pytest.raises(SessionNotFound):
        backend.plan_delete(["nope"])
    protected = KvBackend(redis_db.config(protected=True))
    assert protected.plan_delete(["d3"]).skipped
    assert [e.id for e in protected.plan_delete(["d3"], force=True).entries] == ["d3"]


def test_unix_socket_and_env_url(redis_db: RedisServer) -> None:
    setex(redis_db.client(), "session:u", 600, record("u"))
    via_socket = KvBackend(redis_db.config(url=redis_db.unix_url))
    assert [s.id for s in via_socket.list_sessions()] == ["u"]
    via_socket.close()
    cfg = redis_db.config(url=None)
    env = {"SESSION_REDIS_URL": redis_db.url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    assert [s.id for s in KvBackend(cfg, environ=env).list_sessions()] == ["u"]
    env = {"REDIS_URL": redis_db.url}
    assert [s.id for s in KvBackend(cfg, environ=env).list_sessions()] == ["u"]


def test_rediss_tls(redis_tls: RedisServer) -> None:
    setex(redis_tls.client(), "session:t", 600, record("t"))
    trusted = KvBackend(redis_tls.config(url=f"{redis_tls.tls_url}?ssl_ca_certs={redis_tls.cert}"))
    assert [s.id for s in trusted.list_sessions()] == ["t"]
    trusted.close()
    untrusted = KvBackend(redis_tls.config(url=redis_tls.tls_url))
    with pytest.raises(BackendUnavailable, match="certificate"):
        untrusted.list_sessions()
    plain = KvBackend(redis_tls.config(url=f"redis://127.0.0.1:{redis_tls.tls_port}/0"))
    with pytest.raises(BackendUnavailable):
        plain.list_sessions()


async def test_rediss_tls_provider(redis_tls: RedisServer) -> None:
    url = f"{redis_tls.tls_url}?ssl_ca_certs={redis_tls.cert}"
    mgr = SessionManager(
        "tls", provider=provider_from_env({"SESSION_PROVIDER": "redis", "SESSION_REDIS_URL": url})
    )
    sid = await mgr.allocate_session(user_id="tess")
    assert redis_tls.client().exists(f"session:{sid}") == 1
    await mgr.provider.close()


def test_registry_builds_kv_backend(redis_db: RedisServer) -> None:
    backend = build_backend(redis_db.config())
    assert isinstance(backend, KvBackend)
    with pytest.raises(ConfigError, match="known providers"):
        KvBackend(kv_config(provider="etcd"))


# ---------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------


def test_killed_mid_refresh_then_recovers(private_redis: RedisServer) -> None:
    setex(private_redis.client(), "session:k", 600, record("k"))
    backend = KvBackend(private_redis.config())
    assert len(backend.list_sessions()) == 1
    private_redis.stop()
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert "refused" in err.value.message or "did not answer" in err.value.message
    health = backend.health()
    assert health.status is HealthStatus.UNAVAILABLE and health.reason == err.value.message
    private_redis.start()  # same port, empty
    setex(private_redis.client(), "session:k2", 600, record("k2"))
    assert [s.id for s in backend.list_sessions()] == ["k2"]
    assert backend.health().ok


def test_wrong_and_missing_password(private_redis: RedisServer) -> None:
    private_redis.client().config_set("requirepass", PASSWORD)
    url = f"redis://:wrong-{PASSWORD}@127.0.0.1:{private_redis.port}/0"
    backend = KvBackend(private_redis.config(url=url))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert "wrong password" in err.value.message
    assert PASSWORD not in err.value.message and PASSWORD not in backend.health().endpoint
    assert backend.health().endpoint == f"redis://:***@127.0.0.1:{private_redis.port}/0"
    no_auth = KvBackend(private_redis.config())
    with pytest.raises(BackendUnavailable, match="needs a password"):
        no_auth.list_sessions()
    good = KvBackend(
        private_redis.config(url=f"redis://:{PASSWORD}@127.0.0.1:{private_redis.port}")
    )
    assert good.list_sessions() == []
    assert PASSWORD not in good.health().endpoint


class _FakeServer:
    """A TCP listener that is not Redis: answers garbage, or nothing at all."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.recv(1024)
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[_FakeServer]:
    server = _FakeServer(request.param)
    yield server
    server.close()


@pytest.mark.parametrize(
    "fake_server",
    [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", None],
    ids=["http", "silent"],
    indirect=True,
)
def test_not_redis_or_hung_is_unavailable_in_time(fake_server: _FakeServer) -> None:
    cfg = kv_config(
        provider="redis",
        url=f"redis://:{PASSWORD}@127.0.0.1:{fake_server.port}/0",
        connect_timeout=0.5,
        socket_timeout=0.5,
    )
    backend = KvBackend(cfg)
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    text = err.value.message
    assert PASSWORD not in text
    if fake_server.reply is None:
        assert "did not answer within 0.5s" in text
    else:
        assert "does not speak Redis" in text or "cannot use Redis" in text


def test_nothing_listening_is_refused() -> None:
    cfg = kv_config(provider="redis", url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BackendUnavailable, match="refused"):
        KvBackend(cfg).list_sessions()


def test_bad_url_is_unavailable_not_a_crash() -> None:
    backend = KvBackend(kv_config(provider="redis", url=f"http://:{PASSWORD}@host/0"))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert PASSWORD not in err.value.message


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
    store = MemoryProvider.shared_store(name, clock=clock)
    for i in range(3000):
        store.setex(f"session:g{i}", 600, record(f"g{i}"))
    backend = KvBackend(kv_config(name))
    enabled.clear()
    assert len(backend.list_sessions()) == 3000
    assert len(enabled) >= 3 and all(enabled), enabled  # one read per page of 1000
    assert gc.isenabled()
    store.clear()


async def test_memory_backend_sees_the_shared_store() -> None:
    clock = ManualClock()
    mgr = SessionManager(
        "demo", provider=MemoryProvider.shared("kv-demo", clock=clock), clock=clock
    )
    sid = await mgr.allocate_session(user_id="erin", custom_metadata={"x": "y"})
    MemoryProvider.shared_store("kv-demo").setex("session:broken", 60, "nope")
    MemoryProvider.shared_store("kv-demo").set("session:nottl", record("nottl", now=clock.now))
    backend = KvBackend(kv_config("kv-demo", provider="mem"), clock=clock)
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
    MemoryProvider.shared_store("kv-demo").clear()
