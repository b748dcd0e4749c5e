"""The lean KV row (``core.kv.rows.KvSession``): every field equal to what
an eager ``Session`` held, equality and hashing by value across
representations, the order of a listing, and what a row costs (one object
for the garbage collector, a bounded number of bytes)."""

from __future__ import annotations

import copy
import gc
import json
import math
import pickle
import random
import tracemalloc
from dataclasses import FrozenInstanceError, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.kv import MemoryStores
from core.kv.backend import KvBackend
from core.kv.listing import Builder, newest_first, order_key
from core.kv.manager import parse_iso
from core.kv.records import meta_text
from core.kv.rows import KvSession, Listing
from core.kv.sources import RedisSource
from core.model import Facts, Session, SessionRef, SizeInfo, State
from tests.helpers import ManualClock
from tests.helpers import kv_record as record
from tests.kv_helpers import kv_config, setex
from tests.redis_fixtures import RedisServer, redis_db, redis_server

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
STATES = {"expired": State.EXPIRED, "terminated": State.TERMINATED}


def _eager(backend: str, key: str, raw: str | bytes, pttl: int, now: datetime) -> Session:
    """The plain Session an eager listing built for a row (the reference:
    ``json.loads``, a metadata dict, a Facts, an expires datetime)."""
    sid = key.removeprefix("session:")
    ttl = "none" if pttl == -1 else "set"
    facts = Facts(key=key, never_expires=pttl == -1)
    expires = now + timedelta(milliseconds=pttl) if pttl >= 0 else None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
        return Session(
            SessionRef(backend, sid),
            sid,
            "kv",
            State.CORRUPT,
            expires=expires,
            info=f"not a session record ({size} bytes)",
            metadata={"key": key, "ttl": ttl},
            facts=facts,
        )
    user, status = data.get("user_id"), data.get("status")
    stated = parse_iso(data.get("expires_at"))
    if status in (None, "", "active"):
        late = pttl == 0 or (stated is not None and stated <= now)
        state = State.EXPIRED if late else State.ACTIVE
    else:
        state = STATES.get(str(status), State.UNKNOWN)
    metadata = {
        "sandbox": str(data.get("sandbox_id") or ""),
        "user": "" if user is None else str(user),
        "status": str(status or ""),
        "key": key,
        "ttl": ttl,
    } | {f"meta.{k}": meta_text(v) for k, v in (data.get("custom_metadata") or {}).items()}
    return Session(
        SessionRef(backend, sid),
        sid,
        "kv",
        state,
        created=parse_iso(data.get("created_at")),
        last_active=parse_iso(data.get("last_accessed")),
        expires=expires if pttl >= 0 else stated,
        info=f"{f'user {user}' if user else 'no user'} · sandbox {metadata['sandbox'] or '?'}",
        metadata=metadata,
        facts=facts,
    )


def _values(s: Session) -> dict[str, Any]:
    """Every field as read (the metadata as a dict), and the derived ones."""
    out = {f.name: getattr(s, f.name) for f in fields(Session)}
    return out | {"id": s.id, "backend": s.backend, "metadata": dict(s.metadata)}


def _store(clock: ManualClock) -> tuple[MemoryStores, dict[str, tuple[str, int]]]:
    """A store with one row of each shape; its (value, pttl) by key."""
    stores = MemoryStores()
    store = stores.store("rows", clock=clock)
    now = clock.now
    rows = {
        "session:plain": (record("plain", now=now), 600_000),
        "session:meta": (record("meta", meta={"n": 7, "ip": "10.0.0.1"}, now=now), 90_000),
        "session:nouser": (record("nouser", user=None, now=now), 60_000),
        "session:late": (record("late", ttl=-5, now=now), 600_000),
        "session:done": (
            json.dumps(json.loads(record("done", now=now)) | {"status": "terminated"}),
            600_000,
        ),
        "session:zulu": (record("zulu", zulu=True, now=now), 5_000),
        "session:forever": (record("forever", now=now), -1),
        "session:junk": ("not json", 30_000),
        "session:junk-forever": ("[1, 2]", -1),
    }
    for key, (value, pttl) in rows.items():
        if pttl < 0:
            store.set(key, value)
        else:
            store.setex(key, pttl / 1000, value)
    return stores, rows


def test_every_field_of_a_row_is_what_the_eager_row_held() -> None:
    clock = ManualClock(NOW)
    stores, rows = _store(clock)
    backend = KvBackend(kv_config("rows"), clock=clock, stores=stores)
    listed = {s.id: s for s in backend.list_sessions()}
    assert len(listed) == len(rows)
    for key, (value, pttl) in rows.items():
        row = listed[key.removeprefix("session:")]
        eager = _eager("rows", key, value, pttl, NOW)
        assert isinstance(row, KvSession)
        assert _values(row) == _values(eager), key
        assert type(row.facts) is Facts and row.facts == Facts(key=key, never_expires=pttl == -1)
        assert row.key == key and row.metadata["key"] == key
        # equal by value, both ways, whatever the class; and hashing alike
        assert row == eager and eager == row
        assert not row != eager  # noqa: SIM202 - __ne__ is what the table calls
        assert row.ref == SessionRef("rows", row.id) and hash(row.ref) == hash(eager.ref)
    assert listed["late"].state is State.EXPIRED and listed["done"].state is State.TERMINATED
    assert listed["forever"].expires == parse_iso(
        json.loads(rows["session:forever"][0])["expires_at"]
    )
    assert listed["junk-forever"].expires is None and listed["junk"].state is State.CORRUPT


def test_a_row_compares_by_value_and_turns_plain_when_copied() -> None:
    clock = ManualClock(NOW)
    stores, _rows = _store(clock)
    row = next(s for s in KvBackend(kv_config("rows"), clock=clock, stores=stores).list_sessions())
    assert isinstance(row, KvSession)
    for plain in (
        replace(row),
        copy.copy(row),
        copy.deepcopy(row),
        pickle.loads(pickle.dumps(row)),
    ):
        assert type(plain) is Session
        assert plain == row and row == plain and _values(plain) == _values(row)
    sized = row.with_size(SizeInfo(10, 4096, 1))
    assert type(sized) is Session and sized.size == SizeInfo(10, 4096, 1) and sized != row
    assert replace(row, info="other") != row and row != replace(row, info="other")
    assert row != "not a session" and row != object()
    with pytest.raises(FrozenInstanceError):
        row.name = "x"
    with pytest.raises(FrozenInstanceError):
        row._row = row._row
    with pytest.raises(TypeError):  # metadata is a mapping: unhashable, as before
        hash(row)


def test_a_refresh_gives_new_rows_only_for_what_changed() -> None:
    """``prev is not s and prev != s``: an unchanged record is the same
    object, a changed one is a new row that compares unequal."""
    clock = ManualClock(NOW)
    stores = MemoryStores()
    store = stores.store("refresh", clock=clock)
    for i in range(3000):
        store.setex(f"session:r{i}", 600, record(f"r{i}", now=NOW))
    backend = KvBackend(kv_config("refresh"), clock=clock, stores=stores)
    first = {s.id: s for s in backend.list_sessions()}
    store.setex("session:r7", 600, record("r7", meta={"v": 2}, now=NOW))
    store.setex("session:r8", 900, record("r8", now=NOW))  # the same value, a new TTL
    store.delete("session:r9")
    second = {s.id: s for s in backend.list_sessions()}
    changed = {sid for sid, s in second.items() if first[sid] is not s and first[sid] != s}
    same = {sid for sid, s in second.items() if first[sid] is s}
    assert changed == {"r7", "r8"} and len(same) == 2997 and "r9" not in second
    assert second["r7"].metadata["meta.v"] == "2"
    assert second["r8"].expires == NOW + timedelta(seconds=900)


def _rows(stamps: list[datetime | None], names: list[str]) -> list[KvSession]:
    listing = Listing("o", "session:", NOW)
    build = Builder(listing, None).build
    out = []
    for name, created in zip(names, stamps, strict=True):
        value = json.loads(record(name, now=NOW))
        value["created_at"] = None if created is None else created.isoformat()
        row = build(name, json.dumps(value), 1000, 0)
        assert row is not None
        out.append(row)
    return out


def test_the_order_is_newest_first_then_by_id_on_a_listing_and_a_refresh() -> None:
    rng = random.Random(11)
    times = [NOW - timedelta(minutes=rng.randrange(50)) for _ in range(7)] + [None]
    names = [f"s{rng.randrange(10**6):06d}-{i}" for i in range(600)]
    rows = _rows([rng.choice(times) for _ in names], names)

    def reference(rows: list[KvSession]) -> list[str]:
        stamp = {s.name: 0.0 if s.created is None else s.created.timestamp() for s in rows}
        return [s.name for s in sorted(rows, key=lambda s: (-stamp[s.name], s.name))]

    listed = newest_first([], list(rows))
    assert [s.name for s in listed] == reference(rows)
    assert [order_key(s) for s in listed] == sorted(order_key(s) for s in rows)
    # a refresh: a few rows merged into the kept order, at the ends too
    kept, added = listed[5:-5], [*listed[:5], *listed[-5:]]
    rng.shuffle(added)
    assert [s.name for s in newest_first(kept, added)] == reference(rows)
    assert len(newest_first(kept, [])) == len(kept)


def test_a_listing_keeps_one_tracked_object_and_few_bytes_per_row() -> None:
    """What a row costs: one object for the garbage collector to walk (the
    eager row had four), and well under the ~900 bytes the eager row held
    beside its value (tracemalloc; the values stay in the store)."""
    clock = ManualClock(NOW)
    stores = MemoryStores()
    store = stores.store("cost", clock=clock)
    count = 4000
    for i in range(count):
        value = record(f"sess-user{i % 97}-{i:08x}", f"app-{i % 7}", f"user{i % 97}", now=NOW)
        store.setex(f"session:sess-user{i % 97}-{i:08x}", 600 + i, value)
    backend = KvBackend(kv_config("cost"), clock=clock, stores=stores)
    gc.collect()
    tracked = len(gc.get_objects())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sessions = backend.list_sessions()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    gc.collect()
    gc.collect()  # a tuple of tuples is untracked once its members are
    assert len(sessions) == count
    assert len(gc.get_objects()) - tracked <= count + 50
    per_row = held / count
    assert per_row < 600, f"{per_row:.0f} B a row"
    assert math.isfinite(per_row)


def test_rows_over_redis_equal_the_eager_rows(redis_db: RedisServer) -> None:
    """Bytes from Redis, on a first listing and on a refresh that reuses them."""
    r = redis_db.client()
    values = {
        "session:a": record("a", meta={"x": [1, 2]}, now=NOW).encode(),
        "session:b": b"\xff not utf-8",
    }
    for key, value in values.items():
        setex(r, key, 600, value)
    backend = KvBackend(redis_db.config("over"), clock=lambda: NOW)
    for _ in range(2):
        for row in backend.list_sessions():
            key = f"session:{row.id}"
            pttl = round((row.expires - NOW).total_seconds() * 1000) if row.expires else -1
            assert 0 < pttl <= 600_000
            assert row == _eager("over", key, values[key], pttl, NOW)
    backend.close()


def test_a_listing_stopped_after_its_first_page_leaves_the_store_usable(
    redis_db: RedisServer,
) -> None:
    """The next page is asked for before a page is handed over: a caller that
    stops there leaves a reply unread, and that connection must not serve the
    next command (it would read the page instead of its own reply)."""
    r = redis_db.client()
    pipe = r.pipeline(transaction=False)
    for i in range(2500):
        setex(pipe, f"session:p{i:05d}", 600, record(f"p{i:05d}"))
    pipe.execute()
    backend = KvBackend(redis_db.config("stop"))
    source = backend._source
    assert isinstance(source, RedisSource)
    pages = source.pages("session:")
    assert 0 < len(next(pages)) < 2500
    pages.close()
    assert backend.get("p00007").id == "p00007"
    assert len(backend.list_sessions()) == 2500
    assert len(source.client().connection_pool._available_connections) == 1  # given back
    backend.close()


def test_replies_are_read_by_hiredis() -> None:
    """A page's reply is 3,000 RESP items: hiredis (a dependency) reads them in C."""
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
