"""`import core` vs `python -c pass` (budget 1.5x), in fresh interpreters of the clean venv.

Both commands alternate run by run from a folder that holds nothing of the project, so
``core`` comes from the venv's site-packages (``bench/run.py`` checks that).  A second row
counts the heavy modules ``import core`` loads (typing, yaml, textual, rich, docker, redis,
libtmux; budget 0), and the note names the biggest imports from ``-X importtime``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median, quick, spread

HEAVY = ("typing", "yaml", "textual", "rich", "docker", "redis", "libtmux")


def _once(code: str, cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True)
    return time.perf_counter() - t0


def _biggest(cwd: str) -> str:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import core"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    rows.sort(reverse=True)
    return ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in rows[:3])


def run() -> list[Row]:
    n = 7 if quick() else 31
    with tempfile.TemporaryDirectory(prefix="sesstui-bench-import-") as cwd:
        for _ in range(3):  # warm the page cache and __pycache__
            _once("import core", cwd)
        base: list[float] = []
        ours: list[float] = []
        for _ in range(n):  # alternated, so drift hits both alike
            base.append(_once("pass", cwd))
            ours.append(_once("import core", cwd))
        loaded = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys, json, core; print(json.dumps(list(sys.modules)))",
                ],
                cwd=cwd,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
        biggest = _biggest(cwd)
    return [
        Row(
            "import core vs python -c pass (clean venv)",
            median(ours),
            median(base),
            1.5,
            note=f"{spread(ours)} s vs {spread(base)} s; biggest cumulative: {biggest}",
        ),
        Row(
            "heavy modules loaded by import core",
            len(heavy),
            0,
            0,
            unit="",
            absolute=True,
            note=", ".join(heavy) or "none of " + ", ".join(HEAVY),
        ),
    ]


if __name__ == "__main__":
    main(run)
