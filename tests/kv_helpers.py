"""Helpers shared by the KV tests (tests/test_kv_*.py)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

from core.kv import KvProvider, MemoryStores
from core.kv.schema import KvBackendConfig
from tests.helpers import kv_record

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


def fill(stores: MemoryStores, name: str, count: int, now: datetime) -> None:
    """``count`` session records in memory store ``name``, ``s00000`` the
    newest (a minute apart), each key with an hour's TTL."""
    store = stores.store(name)
    for i in range(count):
        sid = f"s{i:05d}"
        created = now - timedelta(minutes=i)
        store.setex(f"session:{sid}", 3600, kv_record(sid, now=created))
