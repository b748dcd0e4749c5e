"""Durations as people write them: ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``.

:func:`parse_duration` reads them; :func:`duration_text` is the one duration
formatter of sesstui (ages, TTLs, journal command lines).  It is custom:
humanize's ``precisedelta`` / ``naturaldelta`` write words ("2 hours and 4
minutes"), too wide for a table cell and not what ``parse_duration`` reads.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

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


DurationStyle = Literal["ttl", "age", "exact"]
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_WEEKS_FROM = 14 * 86400  # an age shows weeks from two weeks on: 13d, then 2w


def duration_text(delta: timedelta, *, style: DurationStyle = "ttl") -> str:
    """A duration in compact units (s, m, h, d, w); ``0s`` for none or less.

    * ``ttl`` (a remaining time): the two largest units, the second padded,
      whole seconds cut: ``45s``, ``9m12s``, ``3h04m``, ``2d3h``;
    * ``age``: the largest unit alone, weeks from 14 days on: ``45s``,
      ``12m``, ``3h``, ``13d``, ``5w``;
    * ``exact``: every unit that is not zero, rounded to the second, what
      :func:`parse_duration` reads back exactly: ``1h30m``, ``1d2h``.
    """
    seconds = delta.total_seconds()
    secs = max(0, round(seconds)) if style == "exact" else max(0, int(seconds))
    if secs < 60:  # one unit in every style (a fresh age ticks here each second)
        return f"{secs}s"
    if style == "exact":
        parts = []
        rest = secs
        for unit, size in _UNITS:
            n, rest = divmod(rest, size)
            if n:
                parts.append(f"{n}{unit}")
        return "".join(parts)
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    if style == "age":
        if secs >= _WEEKS_FROM:
            return f"{secs // 604800}w"
        return f"{days}d" if days else f"{hours}h" if hours else f"{minutes}m"
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s"
