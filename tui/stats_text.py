"""Live stats as the dashboard shows them: one short cell per session."""

from __future__ import annotations

from core.stats import SessionStats
from tui.formatting import bytes_text


def stats_text(stats: SessionStats | None) -> str:
    """``3.2% 12.0 MiB`` (CPU and memory), ``+1.2 KiB/s`` (a directory's
    growth), ``4 turns 2/h`` (a JSON session); ``-`` when the kind has none,
    ``…`` before the first reading, ``?`` when it could not be measured."""
    if stats is None:
        return "…"
    parts: list[str] = []
    if stats.cpu_percent is not None:
        parts.append(f"{stats.cpu_percent:.1f}%")
    if stats.memory_bytes is not None:
        parts.append(bytes_text(stats.memory_bytes))
    if stats.growth_bytes_per_s is not None:
        sign = "+" if stats.growth_bytes_per_s >= 0 else "-"
        parts.append(f"{sign}{bytes_text(int(abs(stats.growth_bytes_per_s)))}/s")
    if stats.turns is not None:
        parts.append(f"{stats.turns} turn{'s' if stats.turns != 1 else ''}")
        if stats.turns_per_hour is not None:
            parts.append(f"{stats.turns_per_hour:g}/h")
    if parts:
        return " ".join(parts)
    return "-" if not stats.note or "no live stats" in stats.note else "?"
