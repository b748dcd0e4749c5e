"""chuk-sessions interop with the REAL package, over a real redis-server, both
ways: what chuk allocates sesstui lists with the right fields and state, and
what core allocates chuk validates and reads unchanged; the API core mirrors
behaves like chuk's; the long-lived-manager cache caveat of docs/interop.md.

chuk-sessions 0.6 has no grid helpers any more (0.2 dropped them); their
expectations here are those of chuk-sessions <= 0.1.3, the last with them.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.config.records import AppConfig, UIConfig
from core.kv import SessionManager, factory_for_env, sandbox_from_env
from core.kv.backend import KvBackend
from core.kv.providers import RedisProvider
from core.model import State
from tests.helpers import unavailable
from tests.pilot_helpers import dash, wait_until
from tests.redis_fixtures import RedisServer, redis_db, redis_server
from tui.app import SesstuiApp

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name

pytestmark = pytest.mark.redis


def _chuk() -> Any:
    try:
        import chuk_sessions
        import chuk_sessions.providers.redis
    except ImportError as e:
        unavailable(f"chuk-sessions is not installed (pip install 'chuk-sessions[redis]'): {e}")
    return chuk_sessions


@pytest.fixture
def chuk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The chuk_sessions module; the CHUK_* variables chuk's manager exports
    are put back after the test."""
    for name in ("CHUK_SANDBOX_ID", "CHUK_HOST_SANDBOX_ID", "SESSION_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    yield _chuk()


def chuk_manager(chuk: Any, server: RedisServer, sandbox: str | None = "webapp") -> Any:
    factory = chuk.providers.redis.factory(server.url)
    return chuk.SessionManager(sandbox_id=sandbox, session_factory=factory)


@pytest.fixture
async def core_mgr(redis_db: RedisServer) -> AsyncIterator[SessionManager]:
    provider = RedisProvider(redis_db.url, connect_timeout=1.0, socket_timeout=2.0)
    yield SessionManager("webapp", provider=provider)
    await provider.close()


def listed(server: RedisServer) -> dict[str, Any]:
    backend = KvBackend(server.config())
    try:
        return {s.id: s for s in backend.list_sessions()}
    finally:
        backend.close()


# -- chuk writes, sesstui lists -----------------------------------------------------


async def test_sessions_chuk_allocates_are_listed_with_their_fields(
    chuk: Any, redis_db: RedisServer
) -> None:
    mgr = chuk_manager(chuk, redis_db)
    bob = await mgr.allocate_session(
        user_id="bob@example.com", ttl_hours=2, custom_metadata={"role": "admin", "n": 1}
    )
    anon = await mgr.allocate_session()
    rows = listed(redis_db)
    assert set(rows) == {bob, anon}
    s = rows[bob]
    assert s.state is State.ACTIVE and s.kind == "kv"
    assert s.metadata["user"] == "bob@example.com" and s.metadata["sandbox"] == "webapp"
    assert s.metadata["status"] == "active"
    assert s.metadata["meta.role"] == "admin" and s.metadata["meta.n"] == "1"
    info = await mgr.get_session_info(bob)
    assert s.created == datetime.fromisoformat(info["created_at"].replace("Z", "+00:00"))
    assert s.expires is not None
    left = (s.expires - datetime.now(UTC)).total_seconds()
    assert timedelta(hours=2).total_seconds() - 30 < left <= timedelta(hours=2).total_seconds()
    assert rows[anon].metadata["user"] == ""
    assert re.fullmatch(r"sess-\d{10}-[0-9a-f]{8}", anon)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("terminated", State.TERMINATED),
        ("invalidated", State.INVALIDATED),
        ("expired", State.EXPIRED),
        ("active", State.ACTIVE),
    ],
)
async def test_chuk_statuses_show_as_such(
    chuk: Any, redis_db: RedisServer, status: str, state: State
) -> None:
    # chuk has no terminate call: a producer sets the status on chuk's own
    # model and stores it through chuk's provider
    meta = chuk.SessionMetadata(
        session_id="sess-x-1-deadbeef",
        sandbox_id="webapp",
        expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        status=chuk.SessionStatus(status),
    )
    async with chuk.providers.redis.factory(redis_db.url)() as session:
        await session.setex("session:sess-x-1-deadbeef", 3600, json.dumps(meta.to_dict()))
    row = listed(redis_db)["sess-x-1-deadbeef"]
    assert row.state is state and row.metadata["status"] == status


def test_an_unknown_status_is_unknown_not_active(redis_db: RedisServer) -> None:
    now = datetime.now(UTC)
    record = {
        "session_id": "odd",
        "sandbox_id": "webapp",
        "created_at": now.isoformat(),
        "expires_at": (now + timedelta(hours=1)).isoformat(),
        "status": "suspended",
    }
    redis_db.client().set("session:odd", json.dumps(record), ex=3600)
    assert listed(redis_db)["odd"].state is State.UNKNOWN


async def test_the_dashboard_state_column_says_terminated(chuk: Any, redis_db: RedisServer) -> None:
    mgr = chuk_manager(chuk, redis_db)
    live = await mgr.allocate_session(user_id="ann")
    meta = await mgr.get_session_metadata(live)
    meta.status = chuk.SessionStatus.TERMINATED
    async with chuk.providers.redis.factory(redis_db.url)() as session:
        await session.setex(f"session:{live}", 3600, json.dumps(meta.to_dict()))
    other = await mgr.allocate_session(user_id="bo")
    app = SesstuiApp(AppConfig(backends=(redis_db.config(),), ui=UIConfig(refresh_seconds=0.3)))
    async with app.run_test(size=(120, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 2, "two rows")
        assert str(t.cell(f"kv:{live}", "state")) == "terminated"
        assert str(t.cell(f"kv:{other}", "state")) == "active"


# -- core writes, chuk reads ----------------------------------------------------------


@pytest.mark.parametrize(
    "user", ["bob@example.com", "José Müller", "team:ops/eu", "a b c d e f g h i j", "@@"]
)
async def test_core_sessions_validate_in_chuk_with_the_same_id_shape(
    chuk: Any, redis_db: RedisServer, core_mgr: SessionManager, user: str
) -> None:
    mine = await core_mgr.allocate_session(user_id=user, custom_metadata={"k": [1, 2]})
    mgr = chuk_manager(chuk, redis_db)
    theirs = await mgr.allocate_session(user_id=user)
    assert mine.rsplit("-", 2)[0] == theirs.rsplit("-", 2)[0]  # sess-{user part}
    assert re.fullmatch(r"sess-.*-\d{10}-[0-9a-f]{8}", mine)
    fresh = chuk_manager(chuk, redis_db)  # nothing cached: reads what core wrote
    assert await fresh.validate_session(mine) is True
    info = await fresh.get_session_info(mine)
    assert info["user_id"] == user and info["custom_metadata"] == {"k": [1, 2]}
    assert info["sandbox_id"] == "webapp" and info["status"] == "active"
    core_meta = await core_mgr.get_session_metadata(mine)
    assert core_meta is not None and core_meta.user_id == user
    assert set(core_meta.to_dict()) == set(info)


async def test_bob_example_com_becomes_bobexamp(core_mgr: SessionManager) -> None:
    sid = await core_mgr.allocate_session(user_id="bob@example.com")
    assert re.fullmatch(r"sess-bobexamp-\d{10}-[0-9a-f]{8}", sid)


async def test_allocate_with_a_session_id_like_chuk(
    chuk: Any, redis_db: RedisServer, core_mgr: SessionManager
) -> None:
    mgr = chuk_manager(chuk, redis_db)
    for who in (core_mgr, mgr):  # an id of one's own, with a ':' in it
        sid = f"conv:{type(who).__module__}"
        assert await who.allocate_session(sid, "ann") == sid  # chuk's order: session_id first
        assert await who.allocate_session(session_id=sid, custom_metadata={"x": 1}) == sid
    for sid in ("conv:core.kv.manager", "conv:chuk_sessions.session_manager"):
        info = await chuk_manager(chuk, redis_db).get_session_info(sid)
        assert info["user_id"] == "ann" and info["custom_metadata"] == {}  # kept, only touched


async def test_metadata_update_merge_and_replace_match_chuk(
    chuk: Any, redis_db: RedisServer, core_mgr: SessionManager
) -> None:
    mgr = chuk_manager(chuk, redis_db)
    results = []
    managers: tuple[Any, ...] = (core_mgr, mgr)
    for who in managers:
        sid = await who.allocate_session(custom_metadata={"a": 1, "b": 2})
        assert await who.update_session_metadata(sid, {"b": 3, "c": 4}) is True
        merged = (await who.get_session_info(sid))["custom_metadata"]
        assert await who.update_session_metadata(sid, custom_metadata={"z": 0}, merge=False)
        replaced = (await who.get_session_info(sid))["custom_metadata"]
        results.append((merged, replaced))
        assert await who.update_session_metadata("sess-gone-1-00000000", {"a": 1}) is False
    assert results[0] == results[1] == ({"a": 1, "b": 3, "c": 4}, {"z": 0})


async def test_typed_metadata_and_cache_stats_have_chuks_shape(
    chuk: Any, redis_db: RedisServer, core_mgr: SessionManager
) -> None:
    mgr = chuk_manager(chuk, redis_db)
    sid = await core_mgr.allocate_session(user_id="ann", custom_metadata={"r": "x"})
    ours = await core_mgr.get_session_metadata(sid)
    theirs = await chuk_manager(chuk, redis_db).get_session_metadata(sid)
    assert ours is not None and ours.to_dict() == theirs.to_dict()
    assert ours.is_expired() is theirs.is_expired() is False
    assert await core_mgr.get_session_metadata("sess-gone-1-00000000") is None
    assert set(core_mgr.get_cache_stats()) == set(mgr.get_cache_stats())
    assert core_mgr.get_cache_stats()["sandbox_id"] == "webapp"


@pytest.mark.parametrize(
    "env",
    [
        {"CHUK_SANDBOX_ID": "from-env"},
        {"CHUK_HOST_SANDBOX_ID": "from-host"},
        {"CHUK_SANDBOX_ID": "first", "CHUK_HOST_SANDBOX_ID": "second"},
    ],
)
def test_sandbox_none_comes_from_the_environment_like_chuk(
    chuk: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ours = SessionManager(provider=RedisProvider("redis://127.0.0.1:1/0"))
    theirs = chuk.SessionManager()
    assert ours.sandbox_id == theirs.sandbox_id


def test_without_a_sandbox_anywhere_one_random_sandbox_per_process(chuk: Any) -> None:
    first = SessionManager(provider=RedisProvider("redis://127.0.0.1:1/0")).sandbox_id
    assert re.fullmatch(r"sandbox-[0-9a-f]{8}", first)
    assert SessionManager(provider=RedisProvider("redis://127.0.0.1:1/0")).sandbox_id == first
    assert sandbox_from_env({}) == first
    assert re.fullmatch(r"sandbox-[0-9a-f]{8}", chuk.SessionManager().sandbox_id)


async def test_factory_for_env_speaks_with_chuks_provider(chuk: Any, redis_db: RedisServer) -> None:
    ours = factory_for_env({"SESSION_PROVIDER": "redis_store", "SESSION_REDIS_URL": redis_db.url})
    theirs = chuk.providers.redis.factory(redis_db.url)
    async with ours() as session:
        await session.setex("user:123", 300, "alice")
        await session.set("user:456", "bob")
    async with theirs() as session:
        assert await session.get("user:123") == "alice"
        assert await session.get("user:456") == "bob"
        await session.setex("user:789", 60, "carol")
    async with ours() as session:
        assert await session.get("user:789") == "carol"
        assert await session.delete("user:789") is True
        assert await session.get("user:789") is None
    ttl = redis_db.client().ttl("user:456")
    assert 3500 < ttl <= 3600  # set() takes the default TTL, as chuk's does


# -- grid paths (chuk-sessions <= 0.1.3) -------------------------------------------------


def test_grid_paths_are_built_as_chuk_built_them() -> None:
    mgr = SessionManager("my app", provider=RedisProvider("redis://127.0.0.1:1/0"))
    assert mgr.get_session_prefix_pattern() == "grid/my app/"
    assert mgr.get_canonical_prefix("conv:42") == "grid/my app/conv:42/"
    assert mgr.generate_artifact_key("a/b", "doc") == "grid/my app/a/b/doc"
    assert mgr.generate_artifact_key("s", "") == "grid/my app/s/"
    assert mgr.parse_grid_key("grid/a/b/") == {
        "sandbox_id": "a",
        "session_id": "b",
        "artifact_id": "",
        "subpath": None,
    }
    assert mgr.parse_grid_key("grid//s/a") == {
        "sandbox_id": "",
        "session_id": "s",
        "artifact_id": "a",
        "subpath": None,
    }
    parsed = mgr.parse_grid_key("grid/a/b/c/d/e")
    assert parsed is not None and parsed["subpath"] == "d/e"
    for bad in ("grid/a/b", "files/a/b/c", ""):
        assert mgr.parse_grid_key(bad) is None


# -- the long-lived manager cache (docs/interop.md) ----------------------------------------


async def test_a_long_lived_chuk_manager_writes_back_what_sesstui_deleted(
    chuk: Any, redis_db: RedisServer, core_mgr: SessionManager
) -> None:
    """The caveat, shown with the real library: chuk serves validate_session
    from its cache and stores the cached copy again.  The remedies documented:
    a fresh chuk manager, or core's manager (no cache), see the delete."""
    long_lived = chuk_manager(chuk, redis_db)
    sid = await long_lived.allocate_session(user_id="ann")
    backend = KvBackend(redis_db.config())
    try:
        assert backend.prune(backend.plan_delete([sid])).ok
    finally:
        backend.close()
    assert redis_db.client().exists(f"session:{sid}") == 0
    assert await chuk_manager(chuk, redis_db).validate_session(sid) is False
    assert await core_mgr.validate_session(sid) is False
    assert await long_lived.validate_session(sid) is True  # from its cache...
    assert redis_db.client().exists(f"session:{sid}") == 1  # ...and written back
