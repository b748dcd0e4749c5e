"""The KV dashboard backend against a real redis-server: listing with SCAN,
sandboxes and prefixes, refreshes, extend and delete, sockets and TLS."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

import pytest

from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
)
from core.kv import (
    MemoryStores,
    RedisProvider,
    SessionManager,
    provider_from_env,
)
from core.kv.backend import KvBackend
from core.kv.manager import parse_iso
from core.model import Capability, PruneReason, State
from core.registry import build_backend
from tests.helpers import ManualClock
from tests.helpers import kv_record as record
from tests.kv_helpers import (
    assert_ttl,
    kv_config,
    setex,
)
from tests.redis_fixtures import (
    RedisServer,
    private_redis,
    redis_db,
    redis_server,
    redis_tls,
)

__all__ = ["private_redis", "redis_db", "redis_server", "redis_tls"]  # fixtures, used by name

pytestmark = pytest.mark.redis


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
    for _ in range(2):  # a first listing and a refresh read the same pages
        r.config_resetstat()
        assert len(backend.list_sessions()) == 2500
        assert _cmdstat(redis_db, "keys") == 0
        pages = _cmdstat(redis_db, "eval")  # one script run a page (COUNT 1000)
        assert pages >= 3
        assert _cmdstat(redis_db, "scan") == _cmdstat(redis_db, "mget") == pages
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
    stores = MemoryStores()
    store = stores.store("race-mem", clock=clock)
    store.setex("session:race", 600, record("race", now=clock.now))
    mgr = SessionManager("app-1", provider=stores.provider("race-mem"), clock=clock)
    _race(KvBackend(kv_config("race-mem"), clock=clock, stores=stores), mgr, "race", exact=True)


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
