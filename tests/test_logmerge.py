"""core.logmerge: several real sessions' logs as one time-ordered stream."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.config.records import SessionSpec
from core.dirs.backend import DirsBackend
from core.inventory import Inventory
from core.logmerge import MergedLine, MergedTail, parse_timestamp, timestamp_length
from core.model import SessionRef
from tests.helpers import dirs_config, make_session
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture

# -- timestamps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21T10:00:00Z boot", datetime(2026, 11, 21, 10, tzinfo=UTC)),
        ("2026-11-21T10:00:00.250Z x", datetime(2026, 11, 21, 10, 0, 0, 250_000, tzinfo=UTC)),
        (
            "2026-11-21T10:00:00+01:00 x",
            datetime(2026, 11, 21, 10, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2026-11-21T10:00:00-0530 x",
            datetime(2026, 11, 21, 10, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2026-11-21 10:00:00,123 INFO x", datetime(2026, 11, 21, 10, 0, 0, 123_000).astimezone()),
        ("[2026-11-21 10:00:00] x", datetime(2026, 11, 21, 10).astimezone()),
        ("2026-11-21T10:00:00.123456789Z", datetime(2026, 11, 21, 10, 0, 0, 123_456, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_formats(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == pytest.approx(expected.timestamp())


def test_parse_syslog_takes_the_year_from_now() -> None:
    now = datetime(2026, 11, 22, 12).timestamp()
    assert (
        parse_timestamp("Nov 21 10:00:00 host app[1]: x", now=now)
        == datetime(2026, 11, 21, 10).timestamp()
    )
    # read on New Year's day, "Dec 31" is last year's
    jan = datetime(2027, 1, 1, 0, 5).timestamp()
    assert (
        parse_timestamp("Dec 31 23:59:59 x", now=jan)
        == datetime(2026, 12, 31, 23, 59, 59).timestamp()
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "2026-13-45T10:00:00 bad month",
        "1732183200 epoch",
        "Foo 21 10:00:00",
        "12:00 x",  # a bare clock time needs seconds (12:00:00 is today's noon)
        "2026-11-21T10:00:001 junk",
    ],
)
def test_no_timestamp(text: str) -> None:
    assert parse_timestamp(text) is None


# -- merging real session logs ----------------------------------------------


def _iso(base: datetime, seconds: float) -> str:
    return (base + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[tuple[Inventory, Path]]:
    base = tmp_path / "runs"
    base.mkdir()
    inv = Inventory([DirsBackend(dirs_config(base))])
    yield inv, base
    inv.close()


def read_until(tail: MergedTail, count: int, timeout: float = 10.0) -> list[MergedLine]:
    got: list[MergedLine] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got.extend(tail.read_available(0.1))
    assert len(got) >= count, f"only {len(got)} of {count} lines: {[str(m) for m in got]}"
    return got


def test_backlogs_merge_by_timestamp_and_untimed_lines_stay_with_theirs(
    runs: tuple[Inventory, Path],
) -> None:
    inv, base = runs
    t0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
    a = make_session(
        base,
        files={
            "logs/app.log": "".join(f"{_iso(t0, s)} a{s}\n" for s in (0, 2, 4))
            + "  traceback line of a4\n"
        },
    )
    b = make_session(
        base, files={"logs/app.log": "".join(f"{_iso(t0, s)} b{s}\n" for s in (1, 3, 5))}
    )
    # local time without an offset, and the comma fraction of Python's logging
    c = make_session(
        base,
        files={
            "logs/app.log": (
                (t0 + timedelta(seconds=2.5)).astimezone().strftime("%Y-%m-%d %H:%M:%S,500")
                + " c2.5\n"
            )
        },
    )
    refs = [SessionRef("runs", p.name) for p in (a, b, c)]
    with MergedTail(inv, refs, lines=50, labels={refs[0]: "A"}) as tail:
        got = read_until(tail, 8)
    words = [m.line.text.split()[-1] for m in got]
    assert words == ["a0", "b1", "a2", "c2.5", "b3", "a4", "a4", "b5"]
    assert got[6].line.text == "  traceback line of a4"  # inherits a4's time
    assert got[6].time == got[5].time
    assert [m.label for m in got[:2]] == ["A", str(refs[1])]
    assert got[0].time == pytest.approx(t0.timestamp())


def test_untimed_lines_take_the_open_time_after_older_history(
    runs: tuple[Inventory, Path],
) -> None:
    inv, base = runs
    old = datetime.now(UTC) - timedelta(hours=1)
    timed = make_session(
        base, files={"logs/app.log": f"{_iso(old, 0)} old\n{_iso(old, 1)} older+1\n"}
    )
    plain = make_session(base, files={"logs/app.log": "no time here\nnor here\n"})
    refs = [SessionRef("runs", plain.name), SessionRef("runs", timed.name)]
    before = time.time()
    with MergedTail(inv, refs) as tail:
        got = read_until(tail, 4)
    assert [m.line.text for m in got] == [
        f"{_iso(old, 0)} old",
        f"{_iso(old, 1)} older+1",
        "no time here",
        "nor here",
    ]
    assert got[2].time >= before


def test_live_lines_arrive_in_order_stamped_on_arrival(runs: tuple[Inventory, Path]) -> None:
    inv, base = runs
    a = make_session(base, files={"logs/app.log": "a backlog\n"})
    b = make_session(base, files={"logs/app.log": "b backlog\n"})
    refs = [SessionRef("runs", a.name), SessionRef("runs", b.name)]
    with MergedTail(inv, refs) as tail:
        read_until(tail, 2)
        for path, text in ((b, "b live 1"), (a, "a live 1"), (b, "b live 2")):
            start = time.time()
            with (path / "logs" / "app.log").open("a") as f:
                f.write(f"2001-01-01T00:00:00Z {text}\n")  # a live line's own time is ignored
            (line,) = read_until(tail, 1)
            assert line.line.text.endswith(text)
            assert line.source == SessionRef("runs", path.name)
            assert line.time >= start


def test_failures_are_notice_lines_from_their_source(runs: tuple[Inventory, Path]) -> None:
    inv, base = runs
    good = make_session(base, files={"logs/app.log": "fine\n"})
    nolog = make_session(base, files={"data.txt": "no logs in here\n"})
    refs = [
        SessionRef("runs", good.name),
        SessionRef("runs", nolog.name),
        SessionRef("nope", "x"),
        SessionRef("runs", "session_missing"),
    ]
    with MergedTail(inv, refs, labels={refs[2]: "nope:x"}) as tail:
        got = read_until(tail, 4)
    by_source = {m.source: m for m in got}
    assert by_source[refs[0]].line.text == "fine"
    for ref in refs[1:]:
        line = by_source[ref].line
        assert line.notice and line.text.startswith("cannot tail: "), line
    assert "no log files" in by_source[refs[1]].line.text
    assert str(by_source[refs[2]]).startswith("nope:x: cannot tail: no backend named 'nope'")


def test_close_stops_every_thread_and_reading(runs: tuple[Inventory, Path]) -> None:
    inv, base = runs
    refs = [SessionRef("runs", make_session(base).name) for _ in range(3)]
    before = threading.active_count()
    tail = MergedTail(inv, refs)
    read_until(tail, 3)
    assert tail.alive == 3
    tail.close()
    # closing the streams woke every reader within close()'s one short wait
    assert tail.alive == 0
    assert tail.closed
    assert threading.active_count() <= before
    assert tail.read_available(5.0) == []  # at once, never waits
    tail.close()  # twice is fine


def test_a_slow_source_does_not_hold_the_others_back(runs: tuple[Inventory, Path]) -> None:
    inv, base = runs
    fast = make_session(base, files={"logs/app.log": "fast\n"})
    # an empty log: its first read waits for lines that never come
    slow = make_session(base, files={"logs/app.log": ""})
    refs = [SessionRef("runs", slow.name), SessionRef("runs", fast.name)]
    with MergedTail(inv, refs, backlog_wait=5.0) as tail:
        (line,) = read_until(tail, 1)
        assert line.line.text == "fast"
        with (slow / "logs" / "app.log").open("a") as f:
            f.write("slow woke up\n")
        (line,) = read_until(tail, 1)
        assert line.line.text == "slow woke up"


# -- a tmux session on a private socket, merged with a dirs session ---------


@pytest.fixture
def dirs_and_tmux(tmux_server: TmuxServer, tmp_path: Path) -> Iterator[tuple[Inventory, Path]]:
    """An inventory of a dirs backend with one session (log: "dirs backlog")
    and the private tmux server ("tm") running a session "echo" (cat); the
    session dir is returned with it."""
    base = tmp_path / "runs"
    d = make_session(base, files={"logs/app.log": "dirs backlog\n"})
    tm = tmux_server.backend(log_dir=tmp_path / "pipes")
    inv = Inventory([DirsBackend(dirs_config(base)), tm])
    try:
        tm.start(SessionSpec(name="echo", backend="tm", command=("cat",)))
        yield inv, d
    finally:
        inv.close()


@pytest.mark.tmux
def test_close_does_not_wait_for_a_source_stuck_in_its_backend(
    tmux_server: TmuxServer, dirs_and_tmux: tuple[Inventory, Path]
) -> None:
    inv, d = dirs_and_tmux
    server = int(tmux_server.value("=echo:", "#{pid}"))
    refs = [SessionRef("runs", d.name), SessionRef("tm", "echo")]
    os.kill(server, signal.SIGSTOP)  # every tmux command now hangs: tail() is stuck
    try:
        tail = MergedTail(inv, refs, backlog_wait=0.5)
        (line,) = read_until(tail, 1)
        assert line.line.text == "dirs backlog"
        assert tail.alive == 2  # the tmux source is still in inventory.tail()
        tail.close()
        # close() returned although the tmux source is still stuck in its
        # backend: it waits against a deadline, never for a hung server
        assert tail.closed and tail.alive == 1
        assert not tail.join(0.2)
    finally:
        os.kill(server, signal.SIGCONT)
    # tail() returns, the thread closes the stream it got (stopping the
    # pane's pipe) and ends: nothing is left behind
    assert tail.join(10.0)
    assert tail.alive == 0
    assert tail.read_available(1.0) == []
    assert tmux_server.value("=echo:", "#{pane_pipe}") == "0"


@pytest.mark.tmux
def test_tmux_pane_merges_with_a_dirs_log_and_a_foreign_pipe_ends(
    tmux_server: TmuxServer, dirs_and_tmux: tuple[Inventory, Path]
) -> None:
    inv, d = dirs_and_tmux
    inv.backend("tm").start(SessionSpec(name="piped", backend="tm", command=(sys.executable, "-c",
             "print('piped says hi'); import time; time.sleep(600)")))  # fmt: skip
    tmux_server.wait_screen("=piped:", "piped says hi")
    # somebody else pipes this pane: it cannot be followed, only captured
    tmux_server.run("pipe-pane", "-t", "=piped:", "cat > /dev/null")
    refs = [SessionRef("runs", d.name), SessionRef("tm", "echo"), SessionRef("tm", "piped")]
    with MergedTail(inv, refs, lines=20) as tail:
        got = read_until(tail, 1)
        deadline = time.monotonic() + 10
        while not any(m.line.text == "log ended" for m in got) and time.monotonic() < deadline:
            got.extend(tail.read_available(0.1))
        piped = [m.line for m in got if m.source == refs[2]]
        assert any(ln.text == "piped says hi" for ln in piped)
        assert piped[-1].notice and piped[-1].text == "log ended"
        assert any(m.line.text == "dirs backlog" for m in got)
        tmux_server.run("send-keys", "-t", "=echo:", "hello from tmux", "Enter")
        deadline = time.monotonic() + 10
        seen: list[MergedLine] = []
        while time.monotonic() < deadline and not any(
            "hello from tmux" in m.line.text for m in seen
        ):
            seen.extend(tail.read_available(0.1))
        assert any(m.source == refs[1] and "hello from tmux" in m.line.text for m in seen)
    assert tail.alive == 0


def test_a_bare_clock_time_is_today_or_just_before_midnight() -> None:
    from datetime import datetime

    noon = datetime(2026, 11, 21, 12, 30).timestamp()
    assert parse_timestamp("12:10:23 build: step", now=noon) == (
        datetime(2026, 11, 21, 12, 10, 23).timestamp()
    )
    assert parse_timestamp("[12:10:23.250] x", now=noon) == (
        datetime(2026, 11, 21, 12, 10, 23, 250_000).timestamp()
    )
    after_midnight = datetime(2026, 11, 21, 0, 0, 5).timestamp()
    assert parse_timestamp("23:59:58 x", now=after_midnight) == (
        datetime(2026, 11, 20, 23, 59, 58).timestamp()
    )
    for not_a_time in ("12:10 x", "12:10:23:44 x", "25:00:00 x", "1234 x"):
        assert parse_timestamp(not_a_time, now=noon) is None, not_a_time


@pytest.mark.parametrize(
    ("line", "length"),
    [
        ("2026-11-21T10:00:00.123Z INFO x", 25),
        ("2026-12-06T06:14:07.123456789Z x", 31),  # the engine's own (docker logs -t)
        ("2026-12-06T06:14:07.123Z", 24),  # a container's empty line
        ('2026-12-06T06:14:07.123Z   File "x.py"', 25),  # its indentation stays
        ("2026-11-21 10:00:00,123 INFO x", 24),
        ("[2026-11-21 10:00:00] x", 22),
        ("Nov 21 10:00:00 host x", 16),
        ("12:10:23 x", 9),
        ("Foo 21 10:00:00 x", 0),
        ("  traceback", 0),
        ("", 0),
    ],
)
def test_timestamp_length(line: str, length: int) -> None:
    assert timestamp_length(line) == length
