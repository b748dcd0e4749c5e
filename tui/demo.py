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
from core.settings import AppConfig, DirsBackendConfig, UIConfig

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


def demo_config(base: Path) -> AppConfig:
    return AppConfig(
        backends=(
            DirsBackendConfig(
                name="runs",
                kind="dirs",
                base=base,
                retention=PrunePolicy(max_sessions=8, max_age=timedelta(days=7)),
            ),
        ),
        ui=UIConfig(refresh_seconds=2.0),
    )


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
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.demo", "worker", str(base)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        app = SesstuiApp(demo_config(base), theme=theme)
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
