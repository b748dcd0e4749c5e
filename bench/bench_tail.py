"""Benchmarks for core.logtail.

* last 100 lines of a 1 GiB file vs a 1 MiB file with the same ending: the
  backwards read must cost the same (budget 1.2);
* follow latency, append -> line handed out, for FileTail vs a watchfiles
  watcher (``watch(path, step=50)``) on the same file and the same appends,
  measured together (budget 1.0).

Run standalone with ``python bench/bench_tail.py``; the bench runner imports
:func:`run`.  Temporary files live under /tmp and are removed afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, main, median, percentile, quick

BLOCK_BYTES = 1024 * 1024
READ_RUNS = 20 if quick() else 200
APPENDS = 30
WAIT = 5.0


def _block() -> bytes:
    """About 1 MiB of log-like lines, ending on a newline."""
    lines = []
    size = 0
    i = 0
    while size < BLOCK_BYTES:
        line = (
            f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO "
            f"worker-{i % 8} GET /api/v1/items/{i} -> 200 in {i % 997} ms\n"
        ).encode()
        lines.append(line)
        size += len(line)
        i += 1
    return b"".join(lines)


def _write_file(path: Path, block: bytes, copies: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(copies):
            os.write(fd, block)
    finally:
        os.close(fd)


def bench_last_lines(tmp: Path) -> Row:
    from core.logtail import read_last_lines

    block = _block()
    small = tmp / "small.log"
    big = tmp / "big.log"
    _write_file(small, block, 1)
    _write_file(big, block, 64 if quick() else 1024)  # 1 GiB of real data (quick: 64 MiB)
    expected = read_last_lines(small, 100)
    assert read_last_lines(big, 100) == expected, "1 GiB and 1 MiB files must end alike"
    assert len(expected) == 100

    small_times: list[float] = []
    big_times: list[float] = []
    # Interleaved, so drift (frequency scaling, other load) hits both alike.
    for _ in range(READ_RUNS):
        t0 = time.perf_counter()
        read_last_lines(small, 100)
        t1 = time.perf_counter()
        read_last_lines(big, 100)
        t2 = time.perf_counter()
        small_times.append(t1 - t0)
        big_times.append(t2 - t1)
    size_gib = big.stat().st_size / 2**30
    big.unlink()
    return Row(
        name="tail: last 100 lines, 1 GiB vs 1 MiB file",
        measured=median(big_times),
        baseline=median(small_times),
        budget=1.2,
        note=f"median of {READ_RUNS} interleaved runs; {size_gib:.2f} GiB of real data, cache warm",
    )


def bench_follow_latency(tmp: Path) -> Row:
    import watchfiles

    from core.logtail import FileTail

    path = tmp / "follow.log"
    path.write_bytes(b"")
    sent: dict[str, float] = {}
    ours: dict[str, float] = {}
    theirs: dict[str, float] = {}
    lock = threading.Lock()
    changed = threading.Condition(lock)

    def record(where: dict[str, float], text: str) -> None:
        now = time.perf_counter()
        with changed:
            where.setdefault(text, now)
            changed.notify_all()

    tail = FileTail(path, lines=0, follow=True)

    def follow_ours() -> None:
        for line in tail:
            record(ours, line.text)

    stop = threading.Event()

    def follow_watchfiles() -> None:
        # The usual watchfiles pattern: wait for a change, then read what is new.
        offset = 0
        pending = b""
        with path.open("rb") as f:
            for _changes in watchfiles.watch(path, step=50, stop_event=stop):
                f.seek(offset)
                data = f.read()
                offset += len(data)
                *complete, pending = (pending + data).split(b"\n")
                for raw in complete:
                    record(theirs, raw.decode("utf-8", "replace"))

    threads = [
        threading.Thread(target=follow_ours, daemon=True),
        threading.Thread(target=follow_watchfiles, daemon=True),
    ]
    for thread in threads:
        thread.start()

    def both_saw(text: str) -> bool:
        return text in ours and text in theirs

    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        # Warm up until the watchfiles watcher demonstrably runs.
        for k in range(50):
            text = f"warmup {k}"
            os.write(fd, f"{text}\n".encode())
            with changed:
                if changed.wait_for(lambda t=text: both_saw(t), timeout=1.0):  # type: ignore[misc]
                    break
        else:
            raise RuntimeError("watchfiles never reported the warm-up appends")
        for i in range(APPENDS):
            time.sleep(0.02)  # let both watchers settle back into waiting
            text = f"append {i} " + "x" * 80
            line = f"{text}\n".encode()
            t0 = time.perf_counter()
            os.write(fd, line)
            with changed:
                sent[text] = t0
                if not changed.wait_for(lambda t=text: both_saw(t), timeout=WAIT):  # type: ignore[misc]
                    raise RuntimeError(f"append {i} was not seen by both watchers")
    finally:
        os.close(fd)
        tail.close()
        stop.set()
        for thread in threads:
            thread.join(WAIT)

    ours_lat = [ours[t] - t0 for t, t0 in sent.items()]
    theirs_lat = [theirs[t] - t0 for t, t0 in sent.items()]
    return Row(
        name="tail: follow, append -> line shown, FileTail vs watchfiles(step=50)",
        measured=median(ours_lat),
        baseline=median(theirs_lat),
        budget=1.0,
        note=(
            f"median of {APPENDS} appends, both watching at once; mode={tail.mode}; "
            f"p90 {percentile(ours_lat, 0.9) * 1e3:.2f} ms vs "
            f"{percentile(theirs_lat, 0.9) * 1e3:.2f} ms"
        ),
    )


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-tail-", dir="/tmp") as name:
        tmp = Path(name)
        return [bench_last_lines(tmp), bench_follow_latency(tmp)]


if __name__ == "__main__":
    main(run)
