"""core.logtail against real files, real threads and real inotify: no mocks.

Waits are generous deadlines for an expected line to appear; nothing here
asserts that anything was fast.
"""

from __future__ import annotations

import codecs
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.backend import LineStream
from core.errors import ActionFailed
from core.logtail import (
    DELETED_NOTICE,
    ROTATED_NOTICE,
    TRUNCATED_NOTICE,
    FileTail,
    Mode,
    read_last_lines,
)
from core.model import LogLine
from core.sizes import format_size
from tests.helpers import unavailable

WAIT = 5.0

# --------------------------------------------------------------------------- helpers


def write(path: Path, data: str | bytes, mode: str = "ab") -> None:
    with path.open(mode) as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()


def texts(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


def collect_until(
    tail: FileTail, done: Callable[[list[LogLine]], bool], timeout: float = WAIT
) -> list[LogLine]:
    """Lines read until ``done(lines)`` holds; fails after ``timeout`` seconds."""
    got: list[LogLine] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got.extend(tail.read_available(0.1))
        if done(got):
            return got
    pytest.fail(f"expected lines did not arrive within {timeout}s; got {texts(got)!r}")


def until_text(tail: FileTail, text: str) -> list[str]:
    """Texts read up to and including the first line equal to ``text``."""
    return texts(collect_until(tail, lambda got: text in texts(got)))


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def reference_last(data: bytes, n: int, max_line_bytes: int) -> list[str]:
    """What read_last_lines must return, computed the obvious way."""
    if not data or n <= 0:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    out = []
    for raw in parts[-n:]:
        if len(raw) <= max_line_bytes:
            out.append((raw[:-1] if raw.endswith(b"\r") else raw).decode("utf-8", "replace"))
        else:
            head = codecs.getincrementaldecoder("utf-8")("replace").decode(raw[:max_line_bytes])
            out.append(f"{head}… [line truncated, {format_size(len(raw), tenths=True)}]")
    return out


@pytest.fixture(params=["inotify", "poll"])
def mode(request: pytest.FixtureRequest) -> Mode:
    value: Mode = request.param
    if value == "inotify" and not sys.platform.startswith("linux"):
        unavailable("inotify is Linux-only")
    return value


@pytest.fixture
def make_tail(mode: Mode) -> Iterator[Callable[..., FileTail]]:
    """Following tails in the parametrized mode, closed at teardown."""
    made: list[FileTail] = []

    def make(path: Path, **kw: object) -> FileTail:
        kw.setdefault("follow", True)
        kw.setdefault("poll_interval", 0.02)
        tail = FileTail(path, mode=mode, **kw)  # type: ignore[arg-type]
        made.append(tail)
        return tail

    yield make
    for tail in made:
        tail.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    write(path, "".join(f"line {i}\n" for i in range(1, 21)), "wb")
    return path


# --------------------------------------------------------------------------- read_last_lines


def test_last_lines_of_small_file(log: Path) -> None:
    assert read_last_lines(log, 3) == ["line 18", "line 19", "line 20"]


def test_n_larger_than_line_count_returns_all(log: Path) -> None:
    assert read_last_lines(log, 1000) == [f"line {i}" for i in range(1, 21)]


def test_n_zero_and_empty_file(tmp_path: Path, log: Path) -> None:
    assert read_last_lines(log, 0) == []
    empty = tmp_path / "empty.log"
    empty.touch()
    assert read_last_lines(empty, 10) == []


def test_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "crlf.log"
    write(path, b"one\r\ntwo\r\nthree", "wb")
    assert read_last_lines(path, 5) == ["one", "two", "three"]
    assert read_last_lines(path, 1) == ["three"]


def test_blank_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "blank.log"
    write(path, b"a\n\nb\n\n", "wb")
    assert read_last_lines(path, 10) == ["a", "", "b", ""]
    write(path, b"\n", "wb")
    assert read_last_lines(path, 10) == [""]


@pytest.mark.parametrize("max_line_bytes", [1 << 20, 100])
def test_matches_reference_across_block_boundaries(tmp_path: Path, max_line_bytes: int) -> None:
    """Random lines (some longer than a 64 KiB block, some UTF-8, some CRLF,
    over 1 MiB in all) against a plain split, for many n."""
    rng = random.Random(1234)
    alphabet = b"abcxyz \t" + "é€".encode()
    chunks = []
    for i in range(25_000):
        length = (
            rng.choice([0, 1, 5, 80, 200, 4000, 70_000]) if i % 50 == 0 else rng.randint(0, 120)
        )
        end = b"\r\n" if rng.random() < 0.1 else b"\n"
        raw = rng.randbytes(length).translate(
            bytes(alphabet[b % len(alphabet)] for b in range(256))
        )
        chunks.append(raw + end)
    data = b"".join(chunks)
    assert len(data) > 3 * 1024 * 1024
    for final in (b"", b"tail without newline"):
        path = tmp_path / "random.log"
        write(path, data + final, "wb")
        for n in (1, 2, 7, 63, 64, 65, 500, 2999, 24_999, 25_000, 25_001, 100_000):
            expected = reference_last(data + final, n, max_line_bytes)
            assert read_last_lines(path, n, max_line_bytes=max_line_bytes) == expected, n


def test_large_file_last_lines(tmp_path: Path) -> None:
    """~50 MB of real data: the last lines are right."""
    block = "".join(f"{i:06d} some log text here\n" for i in range(40_000)).encode()
    path = tmp_path / "big.log"
    with path.open("wb") as f:
        for _ in range(50 * 1024 * 1024 // len(block)):
            f.write(block)
        f.write(b"the end minus one\nthe end\n")
    assert path.stat().st_size > 45 * 1024 * 1024
    assert read_last_lines(path, 4) == [
        "039998 some log text here",
        "039999 some log text here",
        "the end minus one",
        "the end",
    ]


def test_sparse_gigabyte_file_is_not_read_whole(tmp_path: Path) -> None:
    """1 GiB of hole then a few lines: reading the whole file would take far
    longer than the test timeout, and the scan stops 32 MiB into a line."""
    path = tmp_path / "sparse.log"
    with path.open("wb") as f:
        f.truncate(1 << 30)
        f.seek(1 << 30)
        f.write(b"alpha\nbeta\ngamma\n")
    assert read_last_lines(path, 2) == ["beta", "gamma"]
    # Asking for more lines runs into the first line: a GiB of NULs, then "alpha".
    # Its start lies beyond the scan limit, so it is shown by its end.
    first, *rest = read_last_lines(path, 10, max_line_bytes=100)
    assert rest == ["beta", "gamma"]
    assert first.startswith("[line truncated, over ")
    assert first.endswith("MiB] …" + "\0" * 95 + "alpha")


def test_giant_line_is_cut_with_marker(tmp_path: Path) -> None:
    path = tmp_path / "giant.log"
    write(path, b"before\n" + b"x" * (1 << 20) + b"\nafter\n", "wb")
    lines = read_last_lines(path, 3, max_line_bytes=1000)
    assert lines[0] == "before"
    assert lines[1] == "x" * 1000 + "… [line truncated, 1.0 MiB]"
    assert lines[2] == "after"


def test_cut_never_splits_a_character(tmp_path: Path) -> None:
    path = tmp_path / "utf8.log"
    write(path, ("é" * 1000 + "\n").encode(), "wb")
    (line,) = read_last_lines(path, 1, max_line_bytes=999)
    assert line == "é" * 499 + "… [line truncated, 2.0 KiB]"


def test_binary_junk_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "junk.log"
    write(path, bytes(b for b in range(256) if b != 0x0A) * 4 + b"\nok\n", "wb")
    junk, ok = read_last_lines(path, 2)
    assert "\ufffd" in junk
    assert ok == "ok"


# --------------------------------------------------------------------------- errors


def test_missing_file_error_names_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.log"
    with pytest.raises(ActionFailed, match="no such file") as info:
        read_last_lines(path, 5)
    assert str(path) in info.value.message
    assert info.value.title == "Cannot read log"
    with pytest.raises(ActionFailed, match="no such file"):
        FileTail(path, follow=True)


def test_directory_at_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dir.log"
    path.mkdir()
    for call in (lambda: read_last_lines(path, 5), lambda: FileTail(path, follow=True)):
        with pytest.raises(ActionFailed, match="is a directory") as info:
            call()
        assert str(path) in info.value.message


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "pipe.log"
    os.mkfifo(path)
    with pytest.raises(ActionFailed, match="not a regular file") as info:
        FileTail(path)
    assert str(path) in info.value.message


def _read_as_nobody(path: Path) -> str:
    """read_last_lines(path) in a forked child that dropped root for 'nobody'."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                read_last_lines(path, 5)
                message = "READ OK"
            except ActionFailed as e:
                message = e.message
            os.write(w, message.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return b"".join(chunks).decode()


def test_permission_denied_names_path_and_remedy() -> None:
    """Root reads anything, so as root the read runs in a child as 'nobody'."""
    base = Path(tempfile.mkdtemp(prefix="logtail-perm-"))
    try:
        base.chmod(0o755)
        path = base / "secret.log"
        write(path, "hidden\n", "wb")
        path.chmod(0o600)
        if os.geteuid() == 0:
            message = _read_as_nobody(path)
        else:
            with pytest.raises(ActionFailed) as info:
                read_last_lines(path, 5)
            message = info.value.message
        assert str(path) in message
        assert "permission denied" in message
        assert "run as its owner" in message
    finally:
        shutil.rmtree(base)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="lines"):
        FileTail("/dev/null", lines=-1)
    with pytest.raises(ValueError, match="mode"):
        FileTail("/dev/null", mode="magic")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- FileTail, no follow


def test_tail_without_follow_yields_last_lines_and_ends(log: Path) -> None:
    before = open_fds()
    tail = FileTail(log, lines=2)
    assert isinstance(tail, LineStream)
    assert list(tail) == [LogLine("line 19"), LogLine("line 20")]
    assert tail.done
    assert list(tail) == []
    # Exhausting the stream released the file even without close().
    assert open_fds() == before
    tail.close()


def test_follow_auto_mode_uses_inotify_on_linux(log: Path) -> None:
    if not sys.platform.startswith("linux"):
        unavailable("inotify is Linux-only")
    with FileTail(log, follow=True) as tail:
        assert tail.mode == "inotify"
    with FileTail(log, follow=True, mode="poll") as tail:
        assert tail.mode == "poll"


# --------------------------------------------------------------------------- FileTail, follow


def test_follow_shows_last_lines_then_appends(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    tail = make_tail(log, lines=3)
    assert texts(tail.read_available(WAIT)) == ["line 18", "line 19", "line 20"]
    write(log, "line 21\n")
    assert until_text(tail, "line 21") == ["line 21"]
    write(log, "line 22\nline 23\n")
    assert until_text(tail, "line 23") == ["line 22", "line 23"]


def test_follow_empty_file(tmp_path: Path, make_tail: Callable[..., FileTail]) -> None:
    path = tmp_path / "empty.log"
    path.touch()
    tail = make_tail(path)
    assert tail.read_available(0.05) == []
    write(path, "first\n")
    assert until_text(tail, "first") == ["first"]


def test_burst_comes_back_in_one_batch(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0)
    assert tail.read_available(0) == []
    write(log, "".join(f"burst {i}\n" for i in range(1000)))
    batch = tail.read_available(WAIT)
    assert texts(batch) == [f"burst {i}" for i in range(1000)]


def test_huge_burst_is_split_into_batches(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0)
    assert tail.read_available(0) == []
    expected = [f"burst line {i:08d}" for i in range(25_000)]
    write(log, "".join(f"{text}\n" for text in expected))
    first = tail.read_available(WAIT)
    assert 10_000 <= len(first) < 25_000
    rest = collect_until(tail, lambda got: len(first) + len(got) >= 25_000)
    assert texts(first + rest) == expected


def test_partial_line_is_held_until_completed(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    tail = make_tail(log, lines=0, partial_timeout=None)
    write(log, "half a ")
    # The tail has read "half a " by the time this returns; it must hold it.
    assert tail.read_available(0.3) == []
    write(log, "line\r\nnext\n")
    assert until_text(tail, "next") == ["half a line", "next"]


def test_stale_partial_line_is_flushed(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0, partial_timeout=0.05)
    write(log, "Password: ")
    assert until_text(tail, "Password: ") == ["Password: "]
    # The newline that completes the flushed line adds no blank line.
    write(log, "\nnext\n")
    assert until_text(tail, "next") == ["next"]
    # Text completing a flushed line shows as a line of its own.
    write(log, "progress...")
    assert until_text(tail, "progress...") == ["progress..."]
    write(log, " done\n")
    assert until_text(tail, " done") == [" done"]


def test_unterminated_last_line_at_open(tmp_path: Path, make_tail: Callable[..., FileTail]) -> None:
    path = tmp_path / "prompt.log"
    write(path, "a\nprompt> ", "wb")
    tail = make_tail(path, lines=5)
    assert texts(tail.read_available(WAIT)) == ["a", "prompt> "]
    write(path, "\nafter\n")
    assert until_text(tail, "after") == ["after"]


def test_truncation_notice_then_continue(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=1)
    assert texts(tail.read_available(WAIT)) == ["line 20"]
    with log.open("ab") as writer:  # copytruncate: the writer keeps its O_APPEND fd
        os.truncate(log, 0)
        got = collect_until(tail, lambda g: any(line.notice for line in g))
        assert got == [LogLine(TRUNCATED_NOTICE, notice=True)]
        writer.write(b"after truncation\n")
        writer.flush()
    assert until_text(tail, "after truncation") == ["after truncation"]
    write(log, b"", "wb")  # `> file`
    collect_until(tail, lambda g: LogLine(TRUNCATED_NOTICE, notice=True) in g)
    write(log, "fresh\n")
    assert until_text(tail, "fresh") == ["fresh"]


def test_rotation_keeps_old_tail_then_follows_new_file(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    tail = make_tail(log, lines=1)
    assert texts(tail.read_available(WAIT)) == ["line 20"]
    rotated = log.with_name("app.log.1")
    with log.open("ab") as writer:
        writer.write(b"before rotation\n")
        writer.flush()
        log.rename(rotated)
        # The application has not reopened yet: it still writes to the old file.
        writer.write(b"late old line\n")
        writer.flush()
        assert until_text(tail, "late old line") == ["before rotation", "late old line"]
        writer.write(b"last old line\n")
        writer.flush()
    write(log, "new file line\n", "wb")
    got = collect_until(tail, lambda g: "new file line" in texts(g))
    assert got == [
        LogLine("last old line"),
        LogLine(ROTATED_NOTICE, notice=True),
        LogLine("new file line"),
    ]
    write(rotated, "ignored: the old file is no longer followed\n")
    write(log, "second new line\n")
    assert until_text(tail, "second new line") == ["second new line"]


def test_delete_then_recreate(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=1)
    assert texts(tail.read_available(WAIT)) == ["line 20"]
    log.unlink()
    got = collect_until(tail, lambda g: any(line.notice for line in g))
    assert got == [LogLine(DELETED_NOTICE, notice=True)]
    assert tail.read_available(0.2) == []
    write(log, "reborn 1\nreborn 2\n", "wb")
    assert until_text(tail, "reborn 2") == ["reborn 1", "reborn 2"]
    write(log, "reborn 3\n")
    assert until_text(tail, "reborn 3") == ["reborn 3"]


def test_delete_and_recreate_at_once(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=1)
    assert texts(tail.read_available(WAIT)) == ["line 20"]
    log.unlink()
    write(log, "replacement\n", "wb")
    got = collect_until(tail, lambda g: "replacement" in texts(g))
    assert got == [LogLine(DELETED_NOTICE, notice=True), LogLine("replacement")]


def test_directory_in_place_of_deleted_log(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0)
    log.unlink()
    collect_until(tail, lambda g: LogLine(DELETED_NOTICE, notice=True) in g)
    log.mkdir()
    got = collect_until(tail, lambda g: any("directory" in line.text for line in g))
    assert got[-1].notice
    assert str(log) in got[-1].text
    log.rmdir()
    write(log, "a file again\n", "wb")
    assert until_text(tail, "a file again") == ["a file again"]


def test_giant_lines_while_following(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0, max_line_bytes=1000, partial_timeout=None)
    write(log, b"x" * (1 << 20) + b"\nafter\n")
    assert until_text(tail, "after") == ["x" * 1000 + "… [line truncated, 1.0 MiB]", "after"]
    # A long partial line is capped while it is assembled, then cut the same way.
    write(log, "y" * 600)
    assert tail.read_available(0.1) == []
    write(log, "y" * 600 + "\nend\n")
    assert until_text(tail, "end") == ["y" * 1000 + "… [line truncated, 1.2 KiB]", "end"]


def test_binary_junk_while_following(log: Path, make_tail: Callable[..., FileTail]) -> None:
    tail = make_tail(log, lines=0)
    write(log, bytes(b for b in range(256) if b != 0x0A) * 4 + b"\nstill fine\n")
    got = until_text(tail, "still fine")
    assert len(got) == 2
    assert "\ufffd" in got[0]


def test_close_from_another_thread_ends_blocked_iteration(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    tail = make_tail(log, lines=2)
    got: list[LogLine] = []
    first = threading.Event()

    def consume() -> None:
        for line in tail:
            got.append(line)
            if len(got) == 2:
                first.set()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    assert first.wait(WAIT)
    # Nothing more arrives, so the reader is (or soon will be) blocked waiting.
    time.sleep(0.1)
    tail.close()
    reader.join(WAIT)
    assert not reader.is_alive()
    assert texts(got) == ["line 19", "line 20"]


def test_close_from_another_thread_ends_blocked_read_available(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    tail = make_tail(log, lines=0)
    results: list[list[LogLine]] = []
    started = threading.Event()

    def consume() -> None:
        started.set()
        results.append(tail.read_available(None))

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    assert started.wait(WAIT)
    time.sleep(0.1)
    tail.close()
    reader.join(WAIT)
    assert not reader.is_alive()
    assert results == [[]]
    assert tail.closed
    assert tail.read_available(0) == []
    assert list(tail) == []


def test_close_is_idempotent_and_releases_every_fd(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    before = open_fds()
    tail = make_tail(log, lines=1)
    assert len(open_fds() - before) >= 1
    assert texts(tail.read_available(WAIT)) == ["line 20"]
    # Rotation and deletion swap descriptors; none may be left behind.
    log.rename(log.with_name("old.log"))
    write(log, "new\n", "wb")
    assert until_text(tail, "new")[-2:] == [ROTATED_NOTICE, "new"]
    log.unlink()
    collect_until(tail, lambda g: LogLine(DELETED_NOTICE, notice=True) in g)
    write(log, "again\n", "wb")
    until_text(tail, "again")
    tail.close()
    tail.close()
    assert open_fds() == before


def test_close_from_other_thread_releases_fds(
    log: Path, make_tail: Callable[..., FileTail]
) -> None:
    before = open_fds()
    tail = make_tail(log, lines=0)
    reader = threading.Thread(target=lambda: list(tail), daemon=True)
    reader.start()
    time.sleep(0.1)
    closers = [threading.Thread(target=tail.close) for _ in range(3)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(WAIT)
    reader.join(WAIT)
    assert not reader.is_alive()
    assert open_fds() == before


def test_failed_construction_leaks_nothing(tmp_path: Path, mode: Mode) -> None:
    before = open_fds()
    with pytest.raises(ActionFailed):
        FileTail(tmp_path / "missing.log", follow=True, mode=mode)
    (tmp_path / "d").mkdir()
    with pytest.raises(ActionFailed):
        FileTail(tmp_path / "d", follow=True, mode=mode)
    assert open_fds() == before
