"""Processes from ``/proc``: one reading of every process, the tree under a pid,
and the CPU time and resident memory of a tree (Linux; elsewhere empty).

A reading is a snapshot: :func:`read_processes` scans ``/proc`` once, and
every tree is cut out of that one scan, so a tmux session with ten panes costs
one scan, not ten.  CPU percentages come from two readings and the time
between them, computed by :func:`core.stats.cpu_percent` (a pure function).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def clock_ticks() -> int:
    """Kernel clock ticks per second (the unit of utime/stime in ``stat``)."""
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 100


def page_size() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 4096


@dataclass(frozen=True, slots=True)
class Proc:
    """One process as ``/proc/<pid>/stat`` and ``cmdline`` describe it."""

    pid: int
    ppid: int
    comm: str
    state: str  # R, S, D, Z, T ...
    cpu_ticks: int  # utime + stime, in clock ticks
    rss_bytes: int
    cmdline: str = ""

    @property
    def label(self) -> str:
        """The command line, or ``[comm]`` for a kernel thread or a zombie."""
        return self.cmdline or f"[{self.comm}]"


def parse_stat(text: str, pid: int, *, page: int | None = None) -> Proc | None:
    """A ``/proc/<pid>/stat`` line as a :class:`Proc` (no cmdline), or None
    when it does not read.  ``comm`` may hold spaces and parentheses: it is
    everything between the first ``(`` and the *last* ``)``."""
    start, end = text.find("("), text.rfind(")")
    if start < 0 or end < start:
        return None
    fields = text[end + 2 :].split()
    # fields[0] is field 3 of proc(5) (state); utime 14, stime 15, rss 24
    if len(fields) < 22:
        return None
    try:
        return Proc(
            pid=pid,
            ppid=int(fields[1]),
            comm=text[start + 1 : end],
            state=fields[0],
            cpu_ticks=int(fields[11]) + int(fields[12]),
            rss_bytes=int(fields[21]) * (page or page_size()),
        )
    except ValueError:
        return None


def _cmdline(pid: int, root: Path) -> str:
    try:
        raw = (root / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)


def read_processes(root: Path = PROC, *, cmdlines: bool = True) -> dict[int, Proc]:
    """Every process readable now, by pid (a process that ends meanwhile is
    left out).  ``cmdlines=False`` skips reading command lines (stats do not
    need them)."""
    page = page_size()
    found: dict[int, Proc] = {}
    try:
        names = os.listdir(root)  # noqa: PTH208 - names only; no Path per entry
    except OSError:
        return found  # no /proc: not Linux
    for name in names:
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            text = (root / name / "stat").read_text(errors="replace")
        except OSError:
            continue
        proc = parse_stat(text, pid, page=page)
        if proc is None:
            continue
        if cmdlines:
            proc = Proc(
                proc.pid,
                proc.ppid,
                proc.comm,
                proc.state,
                proc.cpu_ticks,
                proc.rss_bytes,
                _cmdline(pid, root),
            )
        found[pid] = proc
    return found


def children_map(procs: Mapping[int, Proc]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in procs.values():
        kids.setdefault(p.ppid, []).append(p.pid)
    for pids in kids.values():
        pids.sort()
    return kids


def tree(
    roots: Iterable[int], procs: Mapping[int, Proc], kids: Mapping[int, list[int]] | None = None
) -> list[tuple[int, Proc]]:
    """``(depth, process)`` for each root that exists and everything under it,
    depth first, children by pid; a pid is listed once."""
    kids = children_map(procs) if kids is None else kids
    out: list[tuple[int, Proc]] = []
    seen: set[int] = set()
    stack = [(0, pid) for pid in sorted(roots, reverse=True)]
    while stack:
        depth, pid = stack.pop()
        if pid in seen or pid not in procs:
            continue
        seen.add(pid)
        out.append((depth, procs[pid]))
        stack.extend((depth + 1, child) for child in reversed(kids.get(pid, [])))
    return out


@dataclass(frozen=True, slots=True)
class TreeUsage:
    """The summed CPU time and RSS of a process tree at one reading."""

    cpu_ticks: int
    rss_bytes: int
    processes: int
    pids: frozenset[int]


def usage(roots: Iterable[int], procs: Mapping[int, Proc]) -> TreeUsage:
    rows = tree(roots, procs)
    return TreeUsage(
        cpu_ticks=sum(p.cpu_ticks for _d, p in rows),
        rss_bytes=sum(p.rss_bytes for _d, p in rows),
        processes=len(rows),
        pids=frozenset(p.pid for _d, p in rows),
    )


def ticks_used(pids: Iterable[int], before: Mapping[int, Proc], after: Mapping[int, Proc]) -> int:
    """CPU ticks the processes ``pids`` (of the ``after`` reading) used since
    ``before``: the difference for a process in both readings, all of its
    time for one that started in between.  A process that ended in between
    is not counted (its time is gone with it)."""
    total = 0
    for pid in pids:
        now = after.get(pid)
        if now is None:
            continue
        was = before.get(pid)
        total += now.cpu_ticks - was.cpu_ticks if was is not None else now.cpu_ticks
    return max(0, total)
