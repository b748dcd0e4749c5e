"""Run every benchmark and print a table of ratios against same-run baselines.

python bench/run.py            # all
python bench/run.py tail scan  # some (by module suffix)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, format_value

MODULES = ["import", "scan", "tail", "prune", "tmux", "docker", "kv", "json", "tui"]


def main(argv: list[str]) -> int:
    chosen = argv or MODULES
    rows: list[Row] = []
    for name in chosen:
        mod = importlib.import_module(f"bench.bench_{name}")
        print(f"running bench_{name} …", file=sys.stderr, flush=True)
        rows.extend(mod.run())
    width = max(len(r.name) for r in rows)
    print(f"{'benchmark'.ljust(width)}  {'measured':>11}  {'baseline':>11}  ratio  budget  verdict")
    for r in rows:
        verdict = "ok" if r.ok else "OVER"
        print(
            f"{r.name.ljust(width)}  {format_value(r.measured, r.unit):>11}  "
            f"{format_value(r.baseline, r.unit):>11}  {r.ratio:5.2f}  {r.budget:6.2f}  {verdict}"
        )
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
