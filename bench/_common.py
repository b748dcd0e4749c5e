"""Shared bench types: each ``bench/bench_*.py`` exposes ``run() -> list[Row]``."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Row:
    """One benchmark figure: ``measured`` against ``baseline``.

    The figure passes when ``ratio`` (measured / baseline) is at most ``budget``; with
    ``absolute`` the budget is a limit on ``measured`` itself (the ratio is shown for context).
    """

    name: str
    measured: float
    baseline: float
    budget: float
    unit: str = "s"
    note: str = ""
    absolute: bool = False

    @property
    def ratio(self) -> float:
        if self.baseline == 0:
            return math.inf if self.measured else 1.0
        return self.measured / self.baseline

    @property
    def ok(self) -> bool:
        if self.absolute:
            return self.measured <= self.budget
        return self.ratio <= self.budget


def quick() -> bool:
    """``--quick``: a smoke run (small sizes, few rounds); its numbers mean nothing."""
    return os.environ.get("SESSTUI_BENCH_QUICK") == "1"


def loaded() -> bool:
    """``--load``: measure (and baseline) under a busy loop on each core, where supported."""
    return os.environ.get("SESSTUI_BENCH_LOAD") == "1"


def seconds(default: float) -> float:
    """``--seconds S``: how long the duration-based rows run (default: the issue's figure)."""
    value = os.environ.get("SESSTUI_BENCH_SECONDS")
    return float(value) if value else default


def spread(values: Sequence[float]) -> str:
    """``min..max`` of the runs behind a median, for the note column."""
    return f"n={len(values)}, {min(values):.4g}..{max(values):.4g}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.3f} s"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return f"{value:g} {unit}".strip()


def format_rows(rows: Sequence[Row]) -> str:
    lines = []
    for row in rows:
        verdict = "ok" if row.ok else "OVER BUDGET"
        lines.append(
            f"{row.name}: {format_value(row.measured, row.unit)} vs "
            f"{format_value(row.baseline, row.unit)} = {row.ratio:.3f} "
            f"(budget {row.budget}) {verdict}" + (f"  [{row.note}]" if row.note else "")
        )
    return "\n".join(lines)


def listing_rows(
    label: str,
    *,
    ours: Sequence[float],
    raw: Sequence[float],
    budget: float,
    per_refresh: float,
    calls: str,
    counted: str,
    runs: int,
    shape: str,
) -> list[Row]:
    """The two rows of a backend whose refresh must cost one call: the listing
    against the raw call (medians), and the calls made per refresh (budget 1)."""
    return [
        Row(
            name=f"{label}: list_sessions vs {calls}",
            measured=median(ours),
            baseline=median(raw),
            budget=budget,
            note=f"median of {runs} interleaved runs; {shape}",
        ),
        Row(
            name=f"{label} {counted} per refresh",
            measured=per_refresh,
            baseline=1,
            budget=1.0,
            unit="",
            note=f"{runs} refreshes; {shape}",
        ),
    ]


def main(run: Callable[[], list[Row]]) -> None:
    """Run one bench standalone.

    Started by hand (``python bench/bench_scan.py``), it hands over to ``bench/run.py --only
    scan`` so that it runs from the clean install; started by ``run.py`` in the clean venv, it
    runs, prints its rows, writes them as JSON where ``SESSTUI_BENCH_JSON`` says, and exits 1
    when one is over budget.
    """
    import json
    import sys
    from dataclasses import asdict
    from pathlib import Path

    module = sys.modules[run.__module__]
    name = Path(module.__file__ or "bench_x.py").stem.removeprefix("bench_")
    if os.environ.get("SESSTUI_BENCH_CHILD") != "1":
        runner = Path(__file__).resolve().parent / "run.py"
        raise SystemExit(
            subprocess.call([sys.executable, str(runner), "--only", name, *sys.argv[1:]])
        )
    rows = run()
    print(format_rows(rows))
    out = os.environ.get("SESSTUI_BENCH_JSON")
    if out:
        Path(out).write_text(json.dumps([asdict(r) for r in rows]))
    raise SystemExit(0 if all(r.ok for r in rows) else 1)


def row_from_dict(data: dict[str, object]) -> Row:
    return Row(**data)  # type: ignore[arg-type]


class BusyLoad:
    """A busy loop on each core (separate processes) while the block runs: ``--load``.

    Both the measured run and its baseline run under it, so the ratio says how the product
    holds up on a machine that is busy with something else.
    """

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes if processes is not None else (os.cpu_count() or 1)
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyLoad:
        import sys

        for _ in range(self.processes):
            self._procs.append(subprocess.Popen([sys.executable, "-S", "-c", "while True: pass"]))
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            proc.kill()
        for proc in self._procs:
            proc.wait()
        self._procs.clear()
