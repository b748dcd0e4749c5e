"""Live stats (#13): the arithmetic exactly, /proc against real processes, and
Inventory.stats over real directories, JSON records and a dead engine, with
an injected clock and sleep (never the wall clock)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.docker.backend import DockerBackend
from core.docker.schema import DockerBackendConfig
from core.inventory import Inventory
from core.jsonstore.backend import JsonBackend
from core.jsonstore.schema import JsonBackendConfig
from core.kv.backend import KvBackend
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import Session, SessionRef, State
from core.procs import Proc, clock_ticks, read_processes, ticks_used
from core.stats import (
    cpu_percent,
    docker_cpu_percent,
    docker_memory,
    growth_rate,
    turns_per_hour,
)
from tests.helpers import dirs_config, kv_record, make_session, run_cli, wait_for

NOW = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)


def ticks_clock(*values: float) -> Callable[[], float]:
    it = iter(values)
    return lambda: next(it)


def no_sleep(seconds: float) -> None:
    raise AssertionError("no backend here needs two readings")


# ------------------------------------------------------------------ arithmetic


def test_cpu_percent_from_two_readings() -> None:
    assert cpu_percent(100, 250, 100, 2.0) == 75.0  # 1.5 s of CPU in 2 s
    assert cpu_percent(0, 400, 100, 1.0) == 400.0  # four cores busy
    assert cpu_percent(250, 100, 100, 1.0) == 0.0  # a busy process ended: never negative
    assert cpu_percent(0, 10, 100, 0.0) is None


def test_ticks_used_counts_new_processes_and_drops_ended_ones() -> None:
    def p(pid: int, ticks: int) -> Proc:
        return Proc(pid, 1, "x", "R", ticks, 0)

    before = {1: p(1, 100), 2: p(2, 50)}
    after = {1: p(1, 130), 3: p(3, 20)}
    assert ticks_used([1, 3], before, after) == 30 + 20
    assert ticks_used([2], before, after) == 0


def test_docker_cpu_percent_as_docker_stats_computes_it() -> None:
    sample = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 200_000_000},
            "system_cpu_usage": 2_000_000_000,
            "online_cpus": 4,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 100_000_000},
            "system_cpu_usage": 1_000_000_000,
        },
    }
    assert docker_cpu_percent(sample) == pytest.approx(40.0)
    older = json.loads(json.dumps(sample))
    del older["cpu_stats"]["online_cpus"]
    older["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2]
    assert docker_cpu_percent(older) == pytest.approx(20.0)
    first = {"cpu_stats": sample["cpu_stats"], "precpu_stats": {"cpu_usage": {}}}
    assert docker_cpu_percent(first) is None  # no previous reading


def test_docker_memory_leaves_out_the_page_cache() -> None:
    mib = 1024**2
    v2 = {"memory_stats": {"usage": 100 * mib, "limit": 1024 * mib,
                           "stats": {"inactive_file": 30 * mib}}}  # fmt: skip
    assert docker_memory(v2) == (70 * mib, 1024 * mib)
    v1 = {"memory_stats": {"usage": 10 * mib, "stats": {"total_inactive_file": 4 * mib}}}
    assert docker_memory(v1) == (6 * mib, None)
    assert docker_memory({}) == (None, None)


def test_growth_rate_and_turns_per_hour() -> None:
    assert growth_rate(1000, 3000, 4.0) == 500.0
    assert growth_rate(3000, 1000, 4.0) == -500.0
    assert growth_rate(0, 10, 0.0) is None
    times = [
        NOW - timedelta(minutes=10),
        NOW - timedelta(minutes=59),
        NOW - timedelta(minutes=61),
        None,
        NOW + timedelta(minutes=1),
    ]
    assert turns_per_hour(times, NOW) == 2.0
    assert turns_per_hour(times, NOW, timedelta(minutes=30)) == 2.0  # 1 turn in half an hour
    with pytest.raises(ValueError):
        turns_per_hour(times, NOW, timedelta(0))


# ------------------------------------------------------------------ /proc


@pytest.fixture
def busy() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_cpu_of_a_real_busy_process(busy: subprocess.Popen[bytes]) -> None:
    first = read_processes(cmdlines=False)
    start = first[busy.pid].cpu_ticks

    def burned() -> bool:
        return read_processes(cmdlines=False)[busy.pid].cpu_ticks >= start + 10

    wait_for(burned, 30, "the busy process to use 10 ticks")
    second = read_processes(cmdlines=False)
    used = ticks_used([busy.pid], first, second)
    assert used >= 10
    # the same reading over an elapsed time we choose: exact arithmetic
    assert cpu_percent(0, used, clock_ticks(), 0.5) == used / clock_ticks() / 0.5 * 100
    assert second[busy.pid].rss_bytes > 0 and second[busy.pid].state in "RS"


# ------------------------------------------------------------------ Inventory.stats


def test_dirs_growth_between_two_readings(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    path = make_session(base, files={"logs/app.log": "x" * 1000})
    inv = Inventory([DirsBackend(dirs_config(base))])
    (session,) = inv.refresh().sessions
    waits: list[float] = []

    def grow(seconds: float) -> None:
        waits.append(seconds)
        with (path / "logs" / "app.log").open("a") as f:
            f.write("y" * 4096)

    (st,) = inv.stats([session], interval=2.5, sleep=grow, clock=ticks_clock(10.0, 12.0))
    assert waits == [2.5]
    # apparent bytes, directories included (as `du -b` counts them)
    assert st.size_bytes == sum(p.lstat().st_size for p in [path, *path.rglob("*")])
    assert st.growth_bytes_per_s == 2048.0  # 4096 bytes over the 2 s the clock says
    assert st.cpu_percent is None and st.note == ""


def test_json_turns_per_hour_needs_one_reading(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    base.mkdir()
    turns = [
        {"turn_id": f"t{n}", "started_at": (NOW - ago).isoformat()}
        for n, ago in enumerate([timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=2)])
    ]
    record = {"session_id": "c1", "created_at": NOW.isoformat(), "updated_at": NOW.isoformat(),
              "turns": turns, "agent_transitions": [], "metadata": {}}  # fmt: skip
    (base / "c1.json").write_text(json.dumps(record))
    inv = Inventory([JsonBackend(JsonBackendConfig(name="js", kind="json", base=base))])
    (session,) = inv.refresh().sessions
    (st,) = inv.stats([session], sleep=no_sleep, clock=ticks_clock(0.0, 0.0), now=lambda: NOW)
    assert (st.turns, st.turns_per_hour) == (3, 2.0)


def test_a_kind_without_stats_and_a_dead_engine_say_why(tmp_path: Path) -> None:
    stores = MemoryStores()
    stores.store("stats-kv").setex("session:s1", 600, kv_record("s1"))
    kv = KvBackend(KvBackendConfig(name="stats-kv", kind="kv"), stores=stores)
    gone = DockerBackend(
        DockerBackendConfig(name="gone", kind="docker", base_url=f"unix://{tmp_path}/no.sock")
    )
    base = tmp_path / "runs"
    make_session(base)
    inv = Inventory([kv, gone, DirsBackend(dirs_config(base))])
    snap = inv.refresh()
    container = Session(SessionRef("gone", "web"), "web", "docker", State.RUNNING)
    sessions = [*snap.sessions, container]
    got = {st.ref: st for st in inv.stats(sessions, sleep=lambda s: None)}
    assert got[SessionRef("stats-kv", "s1")].note == "kv sessions have no live stats"
    assert "no Docker engine" in got[container.ref].note  # degraded, not raised
    dirs = next(st for ref, st in got.items() if ref.backend == "runs")
    assert dirs.size_bytes is not None and dirs.growth_bytes_per_s == 0.0
    stores.clear()


def test_cli_stats_json(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    path = make_session(base)
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: runs, kind: dirs, base: '{base}'}}\n")
    r = run_cli("--config", str(cfg), "stats", "--json", "--interval", "0.01")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (st,) = doc["stats"]
    assert st["id"] == path.name and st["kind"] == "dirs" and st["growth_bytes_per_s"] == 0
    r = run_cli("--config", str(cfg), "stats", f"runs:{path.name}", "--interval", "0.01")
    assert r.returncode == 0 and r.stdout.startswith("BACKEND  NAME")
    r = run_cli("--config", str(cfg), "stats", "--interval", "0")
    assert r.returncode == 2 and "--interval" in r.stderr
