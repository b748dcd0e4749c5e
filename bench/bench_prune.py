"""Prune N session dirs vs `rm -rf` of an identical copy (budget 1.1x)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median, quick
from core.dirs.backend import DirsBackend
from core.dirs.naming import make_name
from core.dirs.schema import DirsBackendConfig
from core.model import PrunePolicy

DIRS = 100
FILES = 300  # 30k files per round


def build(base: Path) -> None:
    base.mkdir(parents=True)
    for i in range(DIRS):
        d = base / make_name(pid=4_194_999 - i)
        (d / "logs").mkdir(parents=True)
        for j in range(FILES):
            (d / ("logs" if j % 3 == 0 else "") / f"f{j}.dat").write_bytes(b"x" * 200)


def run(rounds: int | None = None) -> list[Row]:
    rounds = rounds or (1 if quick() else 3)
    root = Path(tempfile.mkdtemp(prefix="sesstui-bench-prune-"))
    ours: list[float] = []
    theirs: list[float] = []
    try:
        for r in range(rounds):
            a, b = root / f"a{r}", root / f"b{r}"
            build(a)
            subprocess.run(["cp", "-a", str(a), str(b)], check=True)
            subprocess.run(["sync"], check=True)
            backend = DirsBackend(
                DirsBackendConfig(
                    name="bench", kind="dirs", base=a, retention=PrunePolicy(0, timedelta(days=1))
                )
            )
            plan = backend.plan_prune()  # planning (and measuring) is not part of the act
            assert len(plan.entries) == DIRS, plan.skipped[:3]
            t0 = time.perf_counter()
            result = backend.prune(plan)
            ours.append(time.perf_counter() - t0)
            assert result.ok
            backend.close()
            children = [str(p) for p in b.iterdir()]
            t0 = time.perf_counter()
            subprocess.run(["rm", "-rf", *children], check=True)
            theirs.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        Row(
            f"prune {DIRS} dirs ({DIRS * FILES // 1000}k files) vs rm -rf",
            median(ours),
            median(theirs),
            1.1,
            note=f"median of {rounds}",
        )
    ]


if __name__ == "__main__":
    main(run)
