"""``sesstui demo``: a throwaway sandbox of real sessions, then the dashboard.

The sandbox holds session directories made with the producer API: some old
enough for the retention policy to prune, and one whose creating process is
alive and keeps logging, so its log grows while you watch.  Everything is
removed on exit, Ctrl+C included.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from core.dirs.naming import make_name
from core.dirs.producer import LogConfig, SessionDir, SessionHandler
from core.model import PrunePolicy
from core.settings import (
    AppConfig,
    BackendConfig,
    DirsBackendConfig,
    JsonBackendConfig,
    KvBackendConfig,
    UIConfig,
)

_JOBS = ("ingest", "train", "render", "export", "backfill", "reindex")


def build_sandbox(root: Path, *, count: int = 12, seed: int = 7) -> Path:
    """Session dirs of various ages and sizes under ``root/runs``."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    base = root / "runs"
    base.mkdir(parents=True)
    now = datetime.now()
    for i in range(count):
        age = timedelta(hours=rng.uniform(1, 24 * 18)) if i else timedelta(minutes=5)
        when = now - age
        path = base / make_name(now=when, pid=rng.randint(40_000, 90_000) * 40)
        job = _JOBS[i % len(_JOBS)]
        (path / "logs").mkdir(parents=True)
        lines = []
        count = rng.randint(20, 400)
        step = min(age.total_seconds(), 4 * 3600) / count  # never past "now"
        t = when
        for n in range(count):
            t += timedelta(seconds=step * rng.uniform(0.5, 1.0))
            level = rng.choices(["INFO", "WARNING", "ERROR"], [90, 8, 2])[0]
            lines.append(f"{t:%Y-%m-%d %H:%M:%S} {level:<7} {job}: step {n} done")
        (path / "logs" / "app.log").write_text("\n".join(lines) + "\n")
        (path / "output.bin").write_bytes(os.urandom(rng.randint(1, 64) * 4096))
        ts = when.timestamp()
        for f in (path / "logs" / "app.log", path / "output.bin", path / "logs", path):
            os.utime(f, (ts, ts))
    return base


def build_kv_sessions(store_name: str) -> None:
    """In-memory KV sessions (this process's shared store) with TTLs that tick."""
    import asyncio

    from core.kv.manager import SessionManager as KvSessions
    from core.kv.providers import MemoryProvider

    async def fill() -> None:
        provider = MemoryProvider.shared(store_name)
        app = KvSessions("web-app", default_ttl_hours=1, provider=provider)
        api = KvSessions("api-gw", default_ttl_hours=0.5, provider=provider)
        for user, minutes in (("alice", 42), ("bob", 1.5), ("carol", 15)):
            await app.allocate_session(
                user, ttl_hours=minutes / 60, custom_metadata={"plan": "pro"}
            )
        for n in range(3):
            await api.allocate_session(
                None, ttl_hours=(n + 1) * 0.2, custom_metadata={"route": "/v1"}
            )

    asyncio.run(fill())


def build_json_sessions(base: Path) -> None:
    """JSON-file agent sessions, one ended, some in workspaces."""
    from core.jsonstore.manager import SessionManager as JsonSessions
    from core.jsonstore.store import FileSessionStore

    manager = JsonSessions(FileSessionStore(base))
    talk = [("user", "my order #1182 is late"), ("assistant", "checking the carrier"),
            ("assistant", "it ships tomorrow")]  # fmt: skip
    for ws, agent, turns, ended in (
        ("support", "triage", 3, False),
        ("support", "billing", 2, True),
        (None, "researcher", 1, False),
    ):
        rec = manager.start_session(workspace_id=ws, agent_id=agent)
        for role, content in talk[:turns]:
            manager.record_turn(rec.session_id, role=role, content=content)
        if ended:
            manager.end_session(rec.session_id)


def demo_config(base: Path, kv_store: str = "demo-kv", agents: Path | None = None) -> AppConfig:
    backends: list[BackendConfig] = [
        DirsBackendConfig(
            name="runs",
            kind="dirs",
            base=base,
            retention=PrunePolicy(max_sessions=8, max_age=timedelta(days=7)),
        ),
        KvBackendConfig(name=kv_store, kind="kv", provider="memory"),
    ]
    if agents is not None:
        backends.append(JsonBackendConfig(name="agents", kind="json", base=agents))
    return AppConfig(backends=tuple(backends), ui=UIConfig(refresh_seconds=2.0))


def worker(base: Path) -> None:
    """A live session: created by this process, logging until it is stopped."""
    handler = SessionHandler(
        SessionDir(base, max_session_dirs=-1, max_age_days=-1),
        LogConfig(file_path="logs/app.log", level="info"),
        change_directory=False,
        prune_on_exit=False,
    )
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    log = logging.getLogger("demo.worker")
    with handler.session_context():
        n = 0
        # a parent that died without cleaning up (SIGKILL) must not leave us running
        while not stop and os.getppid() == parent:
            n += 1
            log.info("processed batch %d (%d rows)", n, 1000 + n * 7)
            if n % 9 == 0:
                log.warning("slow batch %d: retrying", n)
            time.sleep(0.7)


def run_demo(theme: str | None = None) -> int:
    """Build the sandbox, open the dashboard on it, and clean up afterwards."""
    from tui.app import SesstuiApp

    root = Path(tempfile.mkdtemp(prefix="sesstui-demo-"))
    proc: subprocess.Popen[bytes] | None = None

    def hang_up(signum: int, frame: object) -> None:
        # a closed terminal or SSH connection: leave through the cleanup below
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, hang_up) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        base = build_sandbox(root)
        build_kv_sessions("web")
        build_json_sessions(root / "agents")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.demo", "worker", str(base)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        app = SesstuiApp(demo_config(base, "web", root / "agents"), theme=theme)
        app.run()
        return app.return_code or 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # the live worker entry point used by run_demo
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        worker(Path(sys.argv[2]))
