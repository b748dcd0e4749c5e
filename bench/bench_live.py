"""The dashboard as a user meets it: live (refresh and countdowns on), in a real terminal.

Every app runs in a pane of a private tmux server (120x40), started from the clean venv by
``bench/_apps.py`` (sesstui through ``tui.cli.main --config``, i.e. the ``sesstui`` command).
Each row is a ratio against a baseline measured in the same run:

* idle CPU over 30 s (after a warm-up; 2 alternated runs each) with 2,000 session dirs and 10,000 KV
  sessions in memory, vs a plain Textual DataTable app with the same rows; budget 1% of a core
  absolute, as CPU time (all threads, plus waited-for children such as the size helpers) over
  wall time, read from /proc/PID/stat;
* cursor latency with 2,000 dirs: `j` sent with ``tmux send-keys`` until a table line of the
  screen (``capture-pane -e``: the highlight is in the escapes) differs, vs the plain app;
  budget 1.5x (median; the note gives p90);
* first screen (the first page of rows drawn, measured from the app's start after its data
  is in place) with 10,000 and 100,000 KV sessions vs an EMPTY Textual app's first screen;
  budgets 3x and 5x;
* RSS with 100,000 rows once the app has settled vs the plain DataTable app; budget 1.5x;
* the log pane following a log that grows by 200 MB in 60 s: CPU of sesstui plus its tmux
  server vs `tail -F` plus its tmux server (budget 2x), and RSS at the end vs RSS at
  min(60 s, half the run) (flat: budget 1.1x).

``--quick`` shrinks sizes and durations (smoke only); ``--seconds S`` sets the idle window and
the log run (default 30 s and 60 s; with S the log run is S too, 200 MB scaled to S/60).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._apps import EMPTY_MARK, KV_PATTERN
from bench._common import Row, main, median, percentile, quick, seconds, spread
from bench._term import (
    Tmux,
    cpu_seconds,
    read_mark,
    rows_on_screen,
    rss_mib,
    table_lines,
    wait_for,
)

BENCH_SRC = Path(__file__).resolve().parent.parent
DIR_PATTERN = r"\d{4}-\d\d-\d\d-\d\d"  # the timestamp in a session dir name
LOG_MB_PER_MIN = 200


@dataclass(frozen=True, slots=True)
class Scene:
    label: str
    config: Path
    pattern: str
    rows: int
    kv: str | None = None  # "NAME:N": fill the memory store first


def dirs_scene(tmp: Path, count: int, *, log_lines: int = 5) -> Scene:
    from core.dirs.naming import make_name

    base = tmp / f"runs-{count}"
    base.mkdir()
    old = time.time() - 10 * 86400  # ages in days: no clock ticking in the rows
    start = datetime.now() - timedelta(days=10)
    for i in range(count):
        session = base / make_name(now=start - timedelta(minutes=i), pid=1000 + i)
        (session / "logs").mkdir(parents=True)
        log = session / "logs" / "app.log"
        log.write_text("".join(f"12:00:{j % 60:02d} INFO step {j}\n" for j in range(log_lines)))
        for p in (log, session / "logs", session):
            os.utime(p, (old, old))
    config = tmp / f"dirs-{count}.yml"
    config.write_text(f"backends:\n  - name: runs\n    kind: dirs\n    base: {base}\n")
    return Scene(f"{count:,} dirs", config, DIR_PATTERN, count)


def kv_scene(tmp: Path, count: int) -> Scene:
    config = tmp / "kv.yml"
    config.write_text("backends:\n  - name: kv\n    kind: kv\n    provider: memory\n")
    return Scene(f"{count:,} KV sessions", config, KV_PATTERN, count, kv=f"kv:{count}")


class Terminal:
    """Starts the bench apps in panes of one private tmux server."""

    def __init__(self, tmp: Path, name: str = "tmux") -> None:
        self.tmp = tmp
        self.tmux = Tmux(tmp / f"{name}.sock", os.environ)
        self.count = 0

    def launch(self, mode: str, scene: Scene | None) -> tuple[str, int, Path]:
        self.count += 1
        name = f"{mode}{self.count}"
        mark = self.tmp / f"{name}.mark"
        home = self.tmp / f"home-{name}"
        env = {
            "SESSTUI_BENCH_MARK": str(mark),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
        argv = [sys.executable, "-m", "bench._apps", mode]
        if scene is not None:
            argv.append(str(scene.config))
            if scene.kv:
                argv += ["--kv", scene.kv]
        pid = self.tmux.start(name, argv, cwd=BENCH_SRC, env=env)
        return name, pid, mark

    def first_screen(self, name: str, scene: Scene | None, *, timeout: float = 600) -> float:
        """``time.monotonic()`` when the first page of rows (or the empty app's text) shows."""
        if scene is None:
            return wait_for(
                lambda: EMPTY_MARK in self.tmux.capture(name), timeout=timeout, what="empty app"
            )
        want = min(10, scene.rows)
        return wait_for(
            lambda: rows_on_screen(self.tmux.capture(name), scene.pattern) >= want,
            timeout=timeout,
            what=f"{want} rows of {scene.label} in {name}",
        )

    def stop(self, name: str, pid: int) -> None:
        self.tmux.kill_session(name)  # SIGHUP to the app, as when a terminal closes
        try:
            wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=10, step=0.05)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.tmux.close()


def _settle(pid: int, *, limit: float) -> None:
    """Wait until the app rests: under 5% CPU over 2 s and RSS steady (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    cpu, rss = cpu_seconds(pid), rss_mib(pid)
    while time.monotonic() < deadline:
        time.sleep(2)
        cpu2, rss2 = cpu_seconds(pid), rss_mib(pid)
        if cpu2 - cpu < 0.1 and abs(rss2 - rss) <= 0.01 * rss:
            return
        cpu, rss = cpu2, rss2


# --- the rows ----------------------------------------------------------------------------


def idle_rows(
    term: Terminal, scenes: list[Scene], window: float, warm: float, runs: int
) -> list[Row]:
    rows = []
    for scene in scenes:
        got: dict[str, list[float]] = {"plain": [], "sesstui": []}
        for _ in range(runs):  # alternated
            for mode in ("plain", "sesstui"):
                name, pid, _ = term.launch(mode, scene)
                try:
                    term.first_screen(name, scene)
                    time.sleep(warm)  # first sizes, chunks of rows, countdowns started
                    c0, t0 = cpu_seconds(pid), time.monotonic()
                    time.sleep(window)
                    c1, t1 = cpu_seconds(pid), time.monotonic()
                    got[mode].append(100 * (c1 - c0) / (t1 - t0))
                finally:
                    term.stop(name, pid)
        rows.append(
            Row(
                f"live: idle CPU, {scene.label} (vs plain DataTable)",
                median(got["sesstui"]),
                median(got["plain"]),
                1.0,
                unit="%",
                absolute=True,
                note=f"% of a core over {window:g} s after {warm:g} s warm-up, refresh and "
                f"countdowns on: {spread(got['sesstui'])} vs {spread(got['plain'])}",
            )
        )
    return rows


def _press(term: Terminal, name: str, scene: Scene) -> float:
    """Seconds from sending ``j`` to the pane until the table's lines change."""
    tmux = term.tmux
    before = table_lines(tmux.capture(name, escapes=True), scene.pattern)
    t0 = time.monotonic()
    tmux.send(name, "j")
    t1 = wait_for(
        lambda: table_lines(tmux.capture(name, escapes=True), scene.pattern) != before,
        timeout=30,
        step=0.002,
        what="the cursor to move",
    )
    time.sleep(0.1)  # let the frame finish before the next key
    return t1 - t0


def cursor_row(term: Terminal, scene: Scene, presses: int, warm: float) -> Row:
    """Both apps open at once (each rests at well under 1% of a core), presses alternated
    one by one, who goes first swapped each round: a burst of load from elsewhere hits both
    alike instead of whichever app was being measured then."""
    modes = ("plain", "sesstui")
    got: dict[str, list[float]] = {mode: [] for mode in modes}
    apps: dict[str, tuple[str, int]] = {}
    try:
        for mode in modes:
            name, pid, _ = term.launch(mode, scene)
            apps[mode] = (name, pid)
            term.first_screen(name, scene)
        time.sleep(warm)
        for _, pid in apps.values():
            _settle(pid, limit=10 if quick() else 30)
        for i in range(presses):
            for mode in modes if i % 2 == 0 else modes[::-1]:
                got[mode].append(_press(term, apps[mode][0], scene))
    finally:
        for name, pid in apps.values():
            term.stop(name, pid)
    ours, plain = got["sesstui"], got["plain"]
    return Row(
        f"live: cursor j, {scene.label}, tmux (vs plain DataTable)",
        median(ours),
        median(plain),
        1.5,
        note=f"{presses} presses each, alternated, both apps open; p90 "
        f"{percentile(ours, 0.9) * 1e3:.0f} ms vs {percentile(plain, 0.9) * 1e3:.0f} ms; "
        f"max {max(ours) * 1e3:.0f} ms",
    )


def first_screen_rows(term: Terminal, scenes: list[tuple[Scene, float]], runs: int) -> list[Row]:
    empty: list[float] = []
    ours: dict[str, list[float]] = {s.label: [] for s, _ in scenes}

    def once(scene: Scene | None) -> float:
        name, pid, mark = term.launch("empty" if scene is None else "sesstui", scene)
        try:
            origin = read_mark(mark)
            return term.first_screen(name, scene) - origin
        finally:
            term.stop(name, pid)

    once(None)  # warm the page cache
    for _ in range(runs):  # alternated
        for scene, _ in scenes:
            empty.append(once(None))
            ours[scene.label].append(once(scene))
    return [
        Row(
            f"live: first screen, {scene.label}, tmux (vs empty Textual app)",
            median(ours[scene.label]),
            median(empty),
            budget,
            note=f"{spread(ours[scene.label])} s vs empty {spread(empty)} s; from the app's "
            "start, data in place",
        )
        for scene, budget in scenes
    ]


def rss_row(term: Terminal, scene: Scene) -> Row:
    got: dict[str, float] = {}
    for mode in ("plain", "sesstui"):
        name, pid, _ = term.launch(mode, scene)
        try:
            term.first_screen(name, scene)
            _settle(pid, limit=20 if quick() else 180)
            got[mode] = rss_mib(pid)
        finally:
            term.stop(name, pid)
    return Row(
        f"live: RSS, {scene.label} (vs plain DataTable)",
        got["sesstui"],
        got["plain"],
        1.5,
        unit="MiB",
        note="VmRSS once the app rests (under 5% CPU over 2 s and RSS steady, "
        f"or after {20 if quick() else 180} s)",
    )


class Writer(threading.Thread):
    """Appends log lines at ``rate`` bytes a second for ``duration`` seconds."""

    def __init__(self, path: Path, rate: float, duration: float) -> None:
        super().__init__(daemon=True)
        self.path, self.rate, self.duration = path, rate, duration
        self.written = 0

    def run(self) -> None:
        chunk = "".join(
            f"2026-12-01T12:00:{i % 60:02d}.{i % 1000:03d}Z INFO worker-{i % 8} "
            f"GET /api/v1/items/{i} -> 200 in {i % 997} ms\n"
            for i in range(600)
        ).encode()
        start = time.monotonic()
        with self.path.open("ab", buffering=0) as f:
            while (now := time.monotonic()) - start < self.duration:
                due = self.rate * (now - start)
                if self.written < due:
                    f.write(chunk)
                    self.written += len(chunk)
                else:
                    time.sleep(len(chunk) / self.rate / 2)


def log_rows(tmp: Path, duration: float) -> list[Row]:
    (tmp / "log").mkdir()
    scene = dirs_scene(tmp / "log", 1)
    log = next((tmp / "log").glob("runs-1/*/logs/app.log"))
    rate = LOG_MB_PER_MIN * 1024 * 1024 / 60
    checkpoint = min(60.0, duration / 2)

    def follow(mode: str) -> tuple[float, float, float, int]:
        term = Terminal(tmp, f"log-{mode}")
        try:
            if mode == "tail":
                name = "tail"
                pid = term.tmux.start(name, ["tail", "-F", str(log)], cwd=tmp)
            else:
                name, pid, _ = term.launch("sesstui", scene)
                term.first_screen(name, scene)
                time.sleep(3)  # the log pane opens on the selected session
            server = term.tmux.server_pid()
            writer = Writer(log, rate, duration)
            c0 = cpu_seconds(pid) + cpu_seconds(server)
            t0 = time.monotonic()
            writer.start()
            mid = 0.0
            while writer.is_alive():
                time.sleep(0.5)
                if not mid and time.monotonic() - t0 >= checkpoint:
                    mid = rss_mib(pid)
            c1 = cpu_seconds(pid) + cpu_seconds(server)
            cpu = 100 * (c1 - c0) / (time.monotonic() - t0)
            end = rss_mib(pid)
            # Only a pane that shows the appended lines was following at all.
            wait_for(
                lambda: "GET /api/v1/items/" in term.tmux.capture(name),
                timeout=30,
                what=f"the appended lines in the {mode} pane (is it following the log?)",
            )
            term.stop(name, pid)
            return cpu, mid, end, writer.written
        finally:
            term.close()

    tail_cpu, _, _, _ = follow("tail")
    ours_cpu, mid, end, written = follow("sesstui")
    shape = f"{written / 2**20:.0f} MiB in {duration:g} s"
    return [
        Row(
            "live: log pane following (vs tail -F), CPU incl. the terminal",
            ours_cpu,
            tail_cpu,
            2.0,
            unit="%",
            note=f"{shape}; % of a core, app + its tmux server",
        ),
        Row(
            "live: log pane following, RSS at the end vs at the checkpoint",
            end,
            mid,
            1.1,
            unit="MiB",
            note=f"{shape}; checkpoint at {checkpoint:g} s",
        ),
    ]


def run() -> list[Row]:
    short = quick()
    window = seconds(5 if short else 30)
    log_run = seconds(8 if short else 60)
    big = 20_000 if short else 100_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sesstui-bench-live-", dir="/tmp") as name:
        tmp = Path(name)
        term = Terminal(tmp)
        try:
            dirs = dirs_scene(tmp, 2_000)
            kv10 = kv_scene(tmp, 10_000)
            kv_big = kv_scene(tmp, big)
            rows += idle_rows(term, [dirs, kv10], window, 3 if short else 10, 1 if short else 2)
            rows.append(cursor_row(term, dirs, 10 if short else 40, 2 if short else 5))
            rows += first_screen_rows(term, [(kv10, 3.0), (kv_big, 5.0)], 1 if short else 5)
            rows.append(rss_row(term, kv_big))
        finally:
            term.close()
        rows += log_rows(tmp, log_run)
    return rows


if __name__ == "__main__":
    main(run)
