"""Shared bench types: each ``bench/bench_*.py`` exposes ``run() -> list[Row]``."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Row:
    """One benchmark figure: ``measured`` against ``baseline``.

    The figure passes when ``ratio`` (measured / baseline) is at most ``budget``.
    """

    name: str
    measured: float
    baseline: float
    budget: float
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.baseline == 0:
            return math.inf if self.measured else 1.0
        return self.measured / self.baseline

    @property
    def ok(self) -> bool:
        return self.ratio <= self.budget


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
    return f"{value:g} {unit}"


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
    """Run one bench standalone: print its rows, exit 1 when one is over budget."""
    rows = run()
    print(format_rows(rows))
    raise SystemExit(0 if all(r.ok for r in rows) else 1)
