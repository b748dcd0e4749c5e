"""Durations as people write them: ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

from core.errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# the longest duration accepted: a TTL beyond it would overflow dates (year
# 9999) and no session lives that long
MAX_DAYS = 36500


def parse_duration(text: str) -> timedelta:
    """``"2h"`` -> 2 hours; ``"1h30m"``; a bare number means seconds.

    Raises UsageError with an example for anything else.
    """
    raw = text.strip()
    if not raw:
        raise UsageError("a duration is needed, e.g. 30m, 2h or 1d")
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return _bounded(float(raw), raw)
    pos = 0
    total = 0.0
    for m in _PART.finditer(raw):
        if raw[pos : m.start()].strip():
            break
        total += float(m.group(1)) * _UNIT[m.group(2).lower()]
        pos = m.end()
    else:
        if pos and not raw[pos:].strip():
            return _bounded(total, raw)
    raise UsageError(f"cannot read {text!r} as a duration; write e.g. 90s, 30m, 2h, 1d or 1h30m")


def _bounded(seconds: float, raw: str) -> timedelta:
    if seconds > MAX_DAYS * 86400:
        raise UsageError(
            f"{raw!r} is too long: a duration can be at most {MAX_DAYS}d (100 years); "
            "write e.g. 30d or 52w"
        )
    return timedelta(seconds=seconds)


def duration_text(delta: timedelta) -> str:
    """A compact remaining time: ``45s``, ``9m12s``, ``3h04m``, ``2d3h``; ``0s`` when past."""
    secs = int(delta.total_seconds())
    if secs <= 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m{secs % 60:02d}s"
    if secs < 86400:
        return f"{secs // 3600}h{secs % 3600 // 60:02d}m"
    return f"{secs // 86400}d{secs % 86400 // 3600}h"
