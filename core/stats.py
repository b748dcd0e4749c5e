"""Live stats per session: CPU and memory (containers, tmux sessions), growth
of a session directory, turns per hour of a JSON session.

Rates need two readings and the time between them.  The arithmetic is in
pure functions (:func:`cpu_percent`, :func:`docker_cpu_percent`,
:func:`docker_memory`, :func:`growth_rate`, :func:`turns_per_hour`) that
take the readings and the elapsed time as arguments, so they are tested
exactly and never against the wall clock.  Backends that give stats follow
:class:`StatsSource`; :meth:`core.inventory.Inventory.stats` takes the two
readings with an injected clock and sleep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from core.model import Session, SessionRef


@dataclass(frozen=True, slots=True)
class SessionStats:
    """What was measured for one session; None where the kind has no such
    figure (a KV session has no CPU) or it could not be measured (``note``
    says why)."""

    ref: SessionRef
    kind: str
    cpu_percent: float | None = None  # 100 = one core busy
    memory_bytes: int | None = None
    memory_limit: int | None = None
    processes: int | None = None
    size_bytes: int | None = None
    growth_bytes_per_s: float | None = None
    turns: int | None = None
    turns_per_hour: float | None = None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "backend": self.ref.backend,
            "id": self.ref.id,
            "kind": self.kind,
            "cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 2),
            "memory_bytes": self.memory_bytes,
            "memory_limit": self.memory_limit,
            "processes": self.processes,
            "size_bytes": self.size_bytes,
            "growth_bytes_per_s": (
                None if self.growth_bytes_per_s is None else round(self.growth_bytes_per_s, 2)
            ),
            "turns": self.turns,
            "turns_per_hour": self.turns_per_hour,
            "note": self.note,
        }


@runtime_checkable
class StatsSource(Protocol):
    """A backend that measures its sessions.

    ``two_readings``: whether rates need a reading before the interval (tmux,
    dirs) or one reading has all it needs (the engine's one-shot stats, a
    JSON record's turn times).  :meth:`stats_reading` takes a reading of the
    given sessions (any value the backend understands); :meth:`stats_of`
    turns the readings (``before`` None with one reading), the seconds
    between them and the current time into stats by session id.
    """

    two_readings: bool

    def stats_reading(self, sessions: Sequence[Session]) -> object: ...

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]: ...


# -- the arithmetic ------------------------------------------------------------


def cpu_percent(
    before_ticks: int, after_ticks: int, ticks_per_second: float, elapsed: float
) -> float | None:
    """CPU use between two readings of a process tree's CPU time (clock
    ticks), as a percentage of one core; None when no time passed.  A tree
    that lost a busy process between the readings can sum to less than
    before: that is 0, never negative."""
    if elapsed <= 0 or ticks_per_second <= 0:
        return None
    used = max(0, after_ticks - before_ticks) / ticks_per_second
    return used / elapsed * 100.0


def _num(data: Mapping[str, Any], *path: str) -> float | None:
    cur: Any = data
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return float(cur) if isinstance(cur, int | float) and not isinstance(cur, bool) else None


def docker_cpu_percent(stats: Mapping[str, Any]) -> float | None:
    """CPU use from one answer of the engine's stats API (``cpu_stats`` and
    ``precpu_stats``), as ``docker stats`` computes it: the container's share
    of the host's CPU time between the two, times the online CPUs, in
    percent (100 = one core).  None when the engine gave no previous reading
    (a stream's first answer, or ``one-shot``)."""
    total = _num(stats, "cpu_stats", "cpu_usage", "total_usage")
    pre_total = _num(stats, "precpu_stats", "cpu_usage", "total_usage")
    system = _num(stats, "cpu_stats", "system_cpu_usage")
    pre_system = _num(stats, "precpu_stats", "system_cpu_usage")
    if total is None or pre_total is None or system is None or pre_system is None:
        return None
    cpu_delta, system_delta = total - pre_total, system - pre_system
    if system_delta <= 0:
        return None
    online = _num(stats, "cpu_stats", "online_cpus")
    if not online:
        percpu = stats.get("cpu_stats", {}).get("cpu_usage", {}).get("percpu_usage")
        online = float(len(percpu)) if isinstance(percpu, list) and percpu else 1.0
    return max(0.0, cpu_delta) / system_delta * online * 100.0


def docker_memory(stats: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(used, limit) bytes as ``docker stats`` shows them: the usage minus
    the inactive page cache (cgroup v2 ``inactive_file``, v1
    ``total_inactive_file``)."""
    usage = _num(stats, "memory_stats", "usage")
    limit = _num(stats, "memory_stats", "limit")
    if usage is None:
        return None, int(limit) if limit else None
    inner = stats.get("memory_stats", {}).get("stats", {})
    cache = 0.0
    if isinstance(inner, Mapping):
        for key in ("inactive_file", "total_inactive_file"):
            value = _num(inner, key)
            if value is not None and value < usage:
                cache = value
                break
    return int(usage - cache), int(limit) if limit else None


def growth_rate(before_bytes: int, after_bytes: int, elapsed: float) -> float | None:
    """Bytes per second between two sizes; negative when it shrank; None
    when no time passed."""
    if elapsed <= 0:
        return None
    return (after_bytes - before_bytes) / elapsed


def turns_per_hour(
    started: Iterable[datetime | None], now: datetime, window: timedelta = timedelta(hours=1)
) -> float:
    """Turns that started in the ``window`` up to ``now``, per hour (turns
    without a time, or in the future, do not count)."""
    hours = window.total_seconds() / 3600
    if hours <= 0:
        raise ValueError("window must be positive")
    since = now - window
    recent = sum(1 for t in started if t is not None and since < t <= now)
    return recent / hours
