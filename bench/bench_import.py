"""`import core` vs `python -c pass` (budget 1.5x), in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median

ROOT = Path(__file__).resolve().parent.parent


def _time(code: str, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append(time.perf_counter() - t0)
    return median(times)


def run(n: int = 21) -> list[Row]:
    _time("import core", 3)  # warm the page cache and __pycache__
    base = _time("pass", n)
    ours = _time("import core", n)
    return [Row("import core vs python -c pass", ours, base, 1.5, note=f"median of {n}")]


if __name__ == "__main__":
    main(run)
