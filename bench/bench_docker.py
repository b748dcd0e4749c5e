"""Benchmark for the docker backend's inventory.

On a private dockerd (started like the tests' one, see
``tests/docker_fixtures.py``; ``$SESSTUI_TEST_DOCKER_HOST`` is used instead
when it answers) with 50 labelled containers (created, not started):

* ``DockerBackend.list_sessions()`` vs one raw
  ``client.api.containers(all=True, filters={"label": "sesstui.session"})``,
  medians of interleaved runs (budget 1.2);
* API requests per refresh, from the backend's own counter (exactly 1).

Run standalone with ``python bench/bench_docker.py``; the bench runner imports
:func:`run`.  The containers and the daemon go afterwards.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `core`, `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, listing_rows, main, quick

CONTAINERS = 50
RUNS = 5 if quick() else 31
WARMUP = 5


def run() -> list[Row]:
    from core.docker.backend import DockerBackend
    from tests.docker_fixtures import EngineUnavailable, close_engine, open_engine

    try:
        engine = open_engine()
    except EngineUnavailable as e:
        print(f"bench_docker: no Docker engine ({e}); skipped", file=sys.stderr)
        return []
    try:
        api = engine.client.api
        for i in range(CONTAINERS):
            api.create_container(
                engine.image,
                ["sleep", "600"],
                name=f"bench-{i:02d}",
                labels={"sesstui.session": f"bench-{i:02d}", "sesstui.managed": "true"},
                host_config=api.create_host_config(network_mode="none"),
            )
        backend = DockerBackend(engine.config("bench"))
        filters = {"label": "sesstui.session"}
        sessions = backend.list_sessions()
        assert len(sessions) >= CONTAINERS, f"expected {CONTAINERS} sessions, got {len(sessions)}"
        for _ in range(WARMUP):
            backend.list_sessions()
            api.containers(all=True, filters=filters)

        ours: list[float] = []
        raw: list[float] = []
        before = backend.requests
        # Interleaved, so drift (frequency scaling, other load) hits both alike.
        for _ in range(RUNS):
            t0 = time.perf_counter()
            backend.list_sessions()
            t1 = time.perf_counter()
            api.containers(all=True, filters=filters)
            t2 = time.perf_counter()
            ours.append(t1 - t0)
            raw.append(t2 - t1)
        per_refresh = (backend.requests - before) / RUNS
        backend.close()
    finally:
        close_engine(engine)
    shape = f"{CONTAINERS} labelled containers"
    return listing_rows(
        "docker",
        ours=ours,
        raw=raw,
        budget=1.2,
        per_refresh=per_refresh,
        calls="raw containers(all=True)",
        counted="API requests",
        runs=RUNS,
        shape=shape,
    )


if __name__ == "__main__":
    main(run)
