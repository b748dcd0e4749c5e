"""Measuring session dirs: DirScanner vs `du -b --max-depth=1` on the same warm tree.

Rows: the first scan of 100k files in 200 session dirs (a fresh scanner per run, budget
1.5x du) and the re-scan of the unchanged tree by the same scanner (budget 0.5x du).  du and
the scanner alternate run by run so that load from elsewhere hits both alike.

Two more rows measure the first scan on a loaded machine (issue 11, same 1.5x budget): a busy
loop per core runs alongside both du and the scanner, once started in a session of its own
(another program: where the kernel shares the CPU between sessions, ``sched_autogroup``, or
between cgroups, a second process of ours wins little CPU from it) and once in this bench's
session (the CPU shared task by task, where the helper process counts as one more task).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import BusyLoad, Row, loaded, main, median, quick, spread
from core.dirs.scan import DirScanner

DIRS = 200
FILES = 500  # per dir: 100k files in all
SUBDIRS = ("", "logs", "out", "out/deep")  # files spread over a few nested dirs
ROUNDS = 7


def build(base: Path) -> list[Path]:
    payload = b"x" * 200
    paths = []
    for d in range(DIRS):
        session = base / f"session_{d:03d}"
        dirs = [session / sub if sub else session for sub in SUBDIRS]
        for sub in dirs:
            sub.mkdir(parents=True)
        for i in range(FILES):
            (dirs[i % len(dirs)] / f"f{i}.txt").write_bytes(payload[: (i * 7) % 200 + 1])
        paths.append(session)
    return paths


def du(base: Path) -> dict[str, int]:
    out = subprocess.run(
        ["du", "-b", "--max-depth=1", str(base)], capture_output=True, text=True, check=True
    ).stdout
    return {line.split("\t", 1)[1]: int(line.split("\t", 1)[0]) for line in out.splitlines()}


def timed_du(base: Path) -> float:
    t0 = time.perf_counter()
    du(base)
    return time.perf_counter() - t0


def run() -> list[Row]:
    rounds = 3 if quick() else ROUNDS
    load = BusyLoad() if loaded() else contextlib.nullcontext()
    under = (
        f", under a busy loop on each of {load.processes} cores"
        if isinstance(load, BusyLoad)
        else ""
    )
    base = Path(tempfile.mkdtemp(prefix="sesstui-bench-scan-", dir="/tmp"))
    try:
        paths = build(base)
        reference = du(base)  # also warms the dentry and inode caches
        with DirScanner() as warm:
            sizes = {str(p): info.apparent for p, info in warm.measure_many(paths)}
        wrong = [p for p in sizes if sizes[p] != reference[p]]
        if wrong or len(sizes) != DIRS:
            raise AssertionError(f"scanner disagrees with du on {len(wrong)} dirs")

        with load:
            first, du_first, helpers, again, du_again, watching = _measure(base, paths, rounds)
        rows = [
            Row(
                f"scan {DIRS * FILES // 1000}k files / {DIRS} dirs vs du -b --max-depth=1",
                median(first),
                median(du_first),
                1.5,
                note=f"{spread(first)} s vs du {spread(du_first)} s, fresh scanner each, "
                f"{helpers} helper process{under}",
            ),
            Row(
                "re-scan unchanged tree vs du",
                median(again),
                median(du_again),
                0.5,
                note=f"{spread(again)} s vs du {spread(du_again)} s, same scanner ({watching})"
                + under,
            ),
        ]
        if not isinstance(load, BusyLoad):
            rows += [_loaded_row(base, paths, rounds, own_session=own) for own in (True, False)]
        return rows
    finally:
        shutil.rmtree(base, ignore_errors=True)


class _SessionLoad(BusyLoad):
    """:class:`BusyLoad` whose loops may run in a session of their own (another program)."""

    def __init__(self, *, own_session: bool) -> None:
        super().__init__()
        self.own_session = own_session

    def __enter__(self) -> _SessionLoad:
        code = "while True: pass"
        for _ in range(self.processes):
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-S", "-c", code], start_new_session=self.own_session
                )
            )
        return self


def _loaded_row(base: Path, paths: list[Path], rounds: int, *, own_session: bool) -> Row:
    """The first scan vs du, both under a busy loop per core."""
    du_first: list[float] = []
    first: list[float] = []
    helped: list[int] = []
    with _SessionLoad(own_session=own_session) as load:
        time.sleep(0.2)  # let the loops take their cores
        for _ in range(rounds):
            du_first.append(timed_du(base))
            t0 = time.perf_counter()
            with DirScanner() as scanner:
                done = sum(1 for _ in scanner.measure_many(paths))
                first.append(time.perf_counter() - t0)
                helped.append(scanner.stats.walks_in_helpers)
            assert done == DIRS
    where = "their own session" if own_session else "this session"
    ratios = sorted(f / d for f, d in zip(first, du_first, strict=True))
    return Row(
        f"scan {DIRS * FILES // 1000}k files / {DIRS} dirs vs du, {load.processes} busy loops "
        f"({where})",
        median(first),
        median(du_first),
        1.5,
        note=f"{spread(first)} s vs du {spread(du_first)} s; per-round ratio "
        f"{ratios[0]:.2f}..{ratios[-1]:.2f}; dirs walked by the helper: median "
        f"{median(helped):g} of {DIRS}; load average {os.getloadavg()[0]:.1f}",
    )


def _measure(
    base: Path, paths: list[Path], rounds: int
) -> tuple[list[float], list[float], int, list[float], list[float], str]:
    """du and the scanner alternated run by run: first scans, then re-scans."""
    du_first: list[float] = []
    first: list[float] = []
    scanner = DirScanner()
    helpers = 0
    for _ in range(rounds):
        du_first.append(timed_du(base))
        scanner.close()  # outside the timing: releasing 800 watches is not a scan
        t0 = time.perf_counter()
        scanner = DirScanner()
        done = sum(1 for _ in scanner.measure_many(paths))
        first.append(time.perf_counter() - t0)
        assert done == DIRS
        helpers = scanner.stats.helpers_started

    du_again: list[float] = []
    again: list[float] = []
    walks = scanner.stats.full_walks
    for _ in range(rounds):
        du_again.append(timed_du(base))
        t0 = time.perf_counter()
        done = sum(1 for _ in scanner.measure_many(paths))
        again.append(time.perf_counter() - t0)
        assert done == DIRS
    assert scanner.stats.full_walks == walks, "the re-scan walked"
    scanner.close()
    watching = "inotify" if scanner.inotify_error is None else "no inotify"
    return first, du_first, helpers, again, du_again, watching


if __name__ == "__main__":
    main(run)
