"""Benchmark for the kv backend and the memory provider.

* In a private redis-server (see ``tests/redis_fixtures.py``) loaded with
  100 000 session records in the chuk-sessions format (pipelined SETEX):
  ``KvBackend.list_sessions()`` (SCAN + pipelined GET/PTTL + parsing) against
  a baseline that only fetches keys and TTLs the quick and unsafe way
  (``KEYS session:*`` + pipelined PTTL); medians of 5 interleaved runs,
  budget 1.5.  The product never sends KEYS; the bench checks that too.
* Reading every row's ref, expires, facts and metadata once (what a KV row
  makes when read), reported against the refresh listing.
* Memory (tracemalloc, same server): what a backend holds after a first
  listing of the 100k (its cache plus the sessions it returns) and its peak
  while listing, against the raw fetched values (the ``(key, value, pttl)``
  rows a plain SCAN + MGET + PTTL client keeps); budget 1.2 for the held
  figure, the peak is reported.
* With ``SESSTUI_BENCH_KV_MILLION=1``: 1,000,000 sessions listed (SCAN pages,
  streamed) against KEYS + pipelined PTTL over the same keys.
* The memory provider's ``setex`` + ``get`` throughput, in ops/s (reported
  against a baseline of 1 with an infinite budget: a figure to watch, not a
  gate).

``SESSTUI_BENCH_KV_SESSIONS`` sets the session count (default 100000), for a
quick smoke run.

Run standalone with ``python bench/bench_kv.py``; the bench runner imports
:func:`run`.  The server and its files go afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as a script: make `bench`, `core`, `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median, quick, spread

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

    from core.model import Session
    from tests.redis_fixtures import RedisServer

SESSIONS = int(os.environ.get("SESSTUI_BENCH_KV_SESSIONS", "10000" if quick() else "100000"))
MILLION = 1_000_000
RUNS = 2 if quick() else 5
LOAD_BATCH = 5_000
MEMORY_OPS = 200_000


def _value(i: int, now: datetime) -> str:
    sid = f"sess-user{i % 977}-{int(now.timestamp())}-{i:08x}"
    return json.dumps(
        {
            "session_id": sid,
            "sandbox_id": f"app-{i % 7}",
            "user_id": f"user{i % 977}",
            "created_at": (now - timedelta(minutes=i % 600)).isoformat(),
            "expires_at": (now + timedelta(hours=24)).isoformat(),
            "last_accessed": now.isoformat(),
            "status": "active",
            "custom_metadata": {"role": "member", "ip": f"10.0.{i % 256}.{i % 200}", "n": i},
        }
    )


def _redis_rows() -> list[Row]:
    from core.kv.backend import KvBackend
    from tests.redis_fixtures import ServerUnavailable, close_server, open_server

    try:
        server = open_server()
    except ServerUnavailable as e:
        print(f"bench_kv: no redis-server ({e}); skipped", file=sys.stderr)
        return []
    try:
        client = server.client()
        now = datetime.now(UTC)
        _load(client, now, 0, SESSIONS)
        backend = KvBackend(server.config("bench", socket_timeout=30.0))

        def baseline() -> int:
            return _keys_and_pttls(client)

        assert len(backend.list_sessions()) == SESSIONS
        assert baseline() == SESSIONS
        client.config_resetstat()
        warm: list[float] = []
        cold: list[float] = []
        cold_cpu: list[float] = []
        raw: list[float] = []
        reads: list[float] = []
        for run_no in range(RUNS):
            _touch(client, now, run_no)  # 1% of the sessions changed since the last refresh
            gc.collect()  # each figure starts from the same heap
            t0 = time.perf_counter()
            listed = backend.list_sessions()
            warm.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _read_all(listed)
            reads.append(time.perf_counter() - t0)
            del listed
            gc.collect()
            t1 = time.perf_counter()
            baseline()
            raw.append(time.perf_counter() - t1)
            fresh = KvBackend(server.config("bench-cold", socket_timeout=30.0))
            gc.collect()
            t3, c3 = time.perf_counter(), time.process_time()
            fresh.list_sessions()
            cold.append(time.perf_counter() - t3)
            cold_cpu.append(time.process_time() - c3)
            fresh.close()
        stats = client.info("commandstats")
        keys_calls = int(stats.get("cmdstat_keys", {}).get("calls", 0))
        assert keys_calls == RUNS, f"KEYS sent {keys_calls} times; only the baseline may send it"
        backend.close()
        memory = _memory_figures(server)
        million = _million_rows(server, now) if os.environ.get("SESSTUI_BENCH_KV_MILLION") else []
    finally:
        close_server(server)
    shape = f"median of {RUNS} interleaved runs; {SESSIONS} sessions in redis-server"
    return (
        memory
        + million
        + [
            Row(
                name="kv: list_sessions refresh (1% changed) vs KEYS+PTTL",
                measured=median(warm),
                baseline=median(raw),
                budget=1.5,
                note=f"{shape}; {spread(warm)} vs {spread(raw)}",
            ),
            Row(
                name="kv: list_sessions first listing vs KEYS+PTTL",
                measured=median(cold),
                baseline=median(raw),
                budget=1.5,
                note=f"{shape}; parses every record; {spread(cold)}, CPU {spread(cold_cpu)}",
            ),
            Row(
                name="kv: reading every row's fields once vs the refresh listing",
                measured=median(reads),
                baseline=median(warm),
                budget=math.inf,
                note=(
                    f"informational: the fields a row makes when read (ref, expires, facts, "
                    f"metadata items), once for each of {SESSIONS} rows; {spread(reads)}"
                ),
            ),
        ]
    )


def _read_all(sessions: list[Session]) -> int:
    """Read what the app reads of every row once (relations, the table, the
    details): the fields a KV row makes on demand included."""
    seen = 0
    for s in sessions:
        seen += len(s.ref.id) + len(s.metadata.items()) + (s.expires is not None)
        seen += s.facts.never_expires
    return seen


def _load(client: redis.Redis, now: datetime, first: int, count: int) -> None:
    """``count`` records (numbered from ``first``), pipelined SETs with a TTL."""
    for start in range(first, first + count, LOAD_BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(first + count, start + LOAD_BATCH)):
            value = _value(i, now)
            sid = json.loads(value)["session_id"]
            pipe.set(f"session:{sid}", value, ex=86400)
        pipe.execute()


def _keys_and_pttls(client: redis.Redis) -> int:
    """The quick and unsafe baseline: KEYS, then PTTLs pipelined 1000 at a time."""
    keys = client.keys("session:*")
    found = 0
    for start in range(0, len(keys), 1000):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + 1000]:
            pipe.pttl(key)
        found += sum(1 for t in pipe.execute() if t != -2)
    return found


def _raw_rows(client: redis.Redis) -> list[tuple[bytes, bytes, int]]:
    """Every record as a plain client fetches it: SCAN pages, MGET + PTTLs."""
    rows: list[tuple[bytes, bytes, int]] = []
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match="session:*", count=1000)
        if keys:
            pipe = client.pipeline(transaction=False)
            pipe.mget(keys)
            for key in keys:
                pipe.pttl(key)
            values, *pttls = pipe.execute()
            rows.extend(zip(keys, values, pttls, strict=True))
        if not cursor:
            return rows


def _traced(fn: Callable[[], object]) -> tuple[object, int, int]:
    """``fn()``'s result, the bytes it left allocated and its peak (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = fn()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, held - start, peak - start


def _memory_figures(server: RedisServer) -> list[Row]:
    from core.kv.backend import KvBackend

    client = server.client()
    rows, raw, _ = _traced(lambda: _raw_rows(client))
    assert isinstance(rows, list) and len(rows) == SESSIONS
    del rows
    backend = KvBackend(server.config("bench-memory", socket_timeout=30.0))
    sessions, held, peak = _traced(backend.list_sessions)
    assert isinstance(sessions, list) and len(sessions) == SESSIONS
    backend.close()
    shape = f"{SESSIONS} sessions; tracemalloc; raw = (key, value, pttl) rows of SCAN+MGET+PTTL"
    return [
        Row(
            name="kv: memory held after a first listing vs the raw fetched values",
            measured=held,
            baseline=raw,
            budget=1.2,
            unit="B",
            note=f"{shape}; held = the backend's cache + the sessions returned",
        ),
        Row(
            name="kv: peak memory while listing vs the raw fetched values",
            measured=peak,
            baseline=raw,
            budget=math.inf,
            unit="B",
            note=f"{shape}; informational (pages stream: the peak is the held figure + a page)",
        ),
    ]


def _million_rows(server: RedisServer, now: datetime) -> list[Row]:
    from core.kv.backend import KvBackend

    client = server.client()
    _load(client, now, SESSIONS, MILLION - SESSIONS)
    backend = KvBackend(server.config("bench-million", socket_timeout=60.0))
    gc.collect()
    t0 = time.perf_counter()
    listed = len(backend.list_sessions())
    ours = time.perf_counter() - t0
    backend.close()
    gc.collect()
    t1 = time.perf_counter()
    found = _keys_and_pttls(client)
    raw = time.perf_counter() - t1
    assert listed == found == MILLION, (listed, found)
    return [
        Row(
            name="kv: 1M sessions, first listing vs KEYS+PTTL",
            measured=ours,
            baseline=raw,
            budget=math.inf,
            note="one run each; informational: 1M must list at all (SCAN, streamed pages)",
        )
    ]


def _touch(client: redis.Redis, now: datetime, run_no: int) -> None:
    """Rewrite 1% of the records (a new last_accessed), keeping their TTLs."""
    pipe = client.pipeline(transaction=False)
    for i in range(run_no, SESSIONS, 100):
        value = json.loads(_value(i, now))
        value["last_accessed"] = datetime.now(UTC).isoformat()
        pipe.set(f"session:{value['session_id']}", json.dumps(value), keepttl=True)
    pipe.execute()


def _memory_rows() -> list[Row]:
    from core.kv.providers import MemoryProvider, MemoryStore

    provider = MemoryProvider(MemoryStore("bench"))
    value = _value(1, datetime.now(UTC))

    async def go() -> float:
        t0 = time.perf_counter()
        for i in range(MEMORY_OPS // 2):
            key = f"session:{i}"
            await provider.setex(key, 3600, value)
            await provider.get(key)
        return time.perf_counter() - t0

    elapsed = min(asyncio.run(go()) for _ in range(3))
    return [
        Row(
            name="kv: memory provider setex+get throughput",
            measured=round(MEMORY_OPS / elapsed),
            baseline=1,
            budget=math.inf,
            unit="ops/s",
            note=f"best of 3 x {MEMORY_OPS} ops; informational (higher is better)",
        )
    ]


def run() -> list[Row]:
    return _redis_rows() + _memory_rows()


if __name__ == "__main__":
    main(run)
