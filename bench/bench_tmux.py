"""Benchmark for the tmux backend's inventory.

On a private server (``-L sesstui-bench-<uuid>``) with 30 sessions of 3
windows each (``sleep 600`` panes):

* ``TmuxBackend.list_sessions()`` vs one raw ``tmux list-panes -a -F <the
  same format>`` subprocess call, medians of interleaved runs (budget 1.5);
* tmux processes started per refresh, from the backend's own counter
  (must be exactly 1).

Run standalone with ``python bench/bench_tmux.py``; the bench runner imports
:func:`run`.  The server is killed and its socket removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, listing_rows, main, quick

SESSIONS = 30
WINDOWS = 3
RUNS = 11 if quick() else 101
WARMUP = 5


def _populate(tmux: str, socket: str) -> None:
    """All sessions and windows in one tmux command sequence."""
    args = [tmux, "-L", socket, "-f", "/dev/null", "start-server"]
    args += [";", "set-option", "-g", "exit-empty", "off"]
    for i in range(SESSIONS):
        name = f"bench-{i:02d}"
        args += [";", "new-session", "-d", "-s", name, "sleep 600"]
        for _ in range(WINDOWS - 1):
            args += [";", "new-window", "-d", "-t", f"={name}:", "sleep 600"]
    subprocess.run(args, check=True, capture_output=True)


def _kill(tmux: str, socket: str) -> None:
    subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, check=False)
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"
    (Path(base) / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)


def run() -> list[Row]:
    from core.tmux.backend import TmuxBackend
    from core.tmux.listing import FORMAT
    from core.tmux.schema import TmuxBackendConfig

    tmux = shutil.which("tmux")
    if tmux is None:
        print("bench_tmux: tmux is not installed; skipped", file=sys.stderr)
        return []
    socket = f"sesstui-bench-{uuid.uuid4().hex[:8]}"
    raw_argv = [tmux, "-u", "-L", socket, "list-panes", "-a", "-F", FORMAT]
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    try:
        _populate(tmux, socket)
        backend = TmuxBackend(TmuxBackendConfig(name="bench", kind="tmux", socket_name=socket))
        sessions = backend.list_sessions()
        panes = sum(int(s.metadata["panes"]) for s in sessions)
        assert len(sessions) == SESSIONS, f"expected {SESSIONS} sessions, got {len(sessions)}"
        assert panes == SESSIONS * WINDOWS, f"expected {SESSIONS * WINDOWS} panes, got {panes}"
        for _ in range(WARMUP):
            backend.list_sessions()
            subprocess.run(raw_argv, capture_output=True, check=True, env=env)

        ours: list[float] = []
        raw: list[float] = []
        spawns_before = backend.spawns
        # Interleaved, so drift (frequency scaling, other load) hits both alike.
        for _ in range(RUNS):
            t0 = time.perf_counter()
            backend.list_sessions()
            t1 = time.perf_counter()
            subprocess.run(raw_argv, capture_output=True, check=True, env=env)
            t2 = time.perf_counter()
            ours.append(t1 - t0)
            raw.append(t2 - t1)
        per_refresh = (backend.spawns - spawns_before) / RUNS
    finally:
        _kill(tmux, socket)
    shape = f"{SESSIONS} sessions x {WINDOWS} windows"
    return listing_rows(
        "tmux",
        ours=ours,
        raw=raw,
        budget=1.5,
        per_refresh=per_refresh,
        calls="raw list-panes -a",
        counted="spawns",
        runs=RUNS,
        shape=shape,
    )


if __name__ == "__main__":
    main(run)
