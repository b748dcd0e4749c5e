"""DirScanner against real trees, checked against ``du`` / ``find`` run on the same tree.

No mocks and no timing asserts.  Some cases need privileges or kernel features (a tmpfs
mount, a bind mount, user namespaces, dropping capabilities); they skip with the reason when
those are not available.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from core import inotify
from core.dirs import helpers, scan, walker
from core.dirs.scan import DirScanner
from core.model import SizeInfo
from tests.helpers import tmpfs, unavailable

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify/du semantics: Linux")


# --- references -------------------------------------------------------------------------------


def du(paths: Sequence[Path], *opts: str) -> list[int]:
    """``du -s -x OPTS PATHS``: one number per path, in order (hard links once per call)."""
    out = subprocess.run(
        ["du", "-s", "-x", *opts, *map(str, paths)], capture_output=True, text=True, check=False
    )
    sizes = [int(line.split("\t", 1)[0]) for line in out.stdout.splitlines()]
    assert len(sizes) == len(paths), out.stderr
    return sizes


def ref_files(paths: Sequence[Path]) -> list[int]:
    """Regular files per path (``find -xdev -type f``), each inode once per call like du."""
    seen: set[str] = set()
    counts = []
    for p in paths:
        out = subprocess.run(
            ["find", "-P", str(p), "-xdev", "-type", "f", "-printf", "%D:%i\\n"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        new = set(out) - seen
        seen |= new
        counts.append(len(new))
    return counts


def ref_newest(path: Path) -> float:
    out = subprocess.run(
        ["find", "-P", str(path), "-xdev", "-printf", "%T@\\n"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return max(float(x) for x in out)


def expected(paths: Sequence[Path]) -> list[tuple[int, int, int]]:
    return list(zip(du(paths, "-b"), du(paths, "-B1"), ref_files(paths), strict=True))


def got(infos: Sequence[SizeInfo]) -> list[tuple[int, int, int]]:
    return [(i.apparent, i.disk, i.files) for i in infos]


def check_one(scanner: DirScanner, path: Path) -> SizeInfo:
    info = scanner.measure(path)
    assert got([info]) == expected([path])
    return info


def check_many(scanner: DirScanner, paths: Sequence[Path], workers: int = 2) -> None:
    results = list(scanner.measure_many(paths, workers=workers))
    assert [p for p, _ in results] == list(paths)
    assert got([i for _, i in results]) == expected(paths)


def write(path: Path, data: bytes | int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else b"x" * data)
    return path


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(params=[True, False], ids=["inotify", "walk"])
def scanner(request: pytest.FixtureRequest) -> Iterator[DirScanner]:
    s = DirScanner(use_inotify=request.param)
    if request.param:
        assert s.watching, s.inotify_error
    yield s
    s.close()


@pytest.fixture
def watched() -> Iterator[DirScanner]:
    s = DirScanner()
    assert s.watching, s.inotify_error
    yield s
    s.close()


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """Three session dirs with nested dirs, a sparse file, hard links within and across
    sessions, a symlink to a big file outside, an empty file, a fifo and a dangling link."""
    base = tmp_path / "base"
    outside = tmp_path / "outside"
    outside.mkdir()
    big = outside / "big.bin"
    with big.open("wb") as f:
        f.truncate(64 << 20)
        f.write(b"data")
    s1, s2, s3 = base / "session_1", base / "session_2", base / "session_3"
    write(s1 / "logs" / "app.log", 1000)
    write(s1 / "data" / "nested" / "deep" / "result.json", 5000)
    with (s1 / "sparse.bin").open("wb") as f:
        f.seek(8 << 20)
        f.write(b"x" * 4096)
    (s1 / "big-link").symlink_to(big)
    (s1 / "dangling").symlink_to(tmp_path / "nowhere")
    write(s1 / "hl_a", 3000)
    (s1 / "data").mkdir(exist_ok=True)
    os.link(s1 / "hl_a", s1 / "data" / "hl_b")  # hard link within a session
    write(s1 / "empty", b"")
    os.mkfifo(s1 / "fifo")
    write(s1 / "cross.bin", 7000)
    write(s2 / "notes.txt", 300)
    os.link(s1 / "cross.bin", s2 / "cross.bin")  # hard link across sessions
    write(s3 / "a" / "b" / "c" / "file", 123)
    write(s3 / "plain", 4567)
    odd = os.fsdecode(b"odd-\xff-name\nwith newline")  # not UTF-8: must survive the helpers
    write(s3 / odd / odd, 321)
    return {"base": base, "s1": s1, "s2": s2, "s3": s3, "outside": outside, "big": big}


def sessions(tree: dict[str, Path]) -> list[Path]:
    return [tree["s1"], tree["s2"], tree["s3"]]


# --- exact sizes ------------------------------------------------------------------------------


def test_measure_matches_du_per_dir(scanner: DirScanner, tree: dict[str, Path]) -> None:
    for p in sessions(tree):
        info = check_one(scanner, p)
        assert info.newest_mtime == pytest.approx(ref_newest(p), abs=1e-5)
    # The symlink counts as itself: nowhere near the 64 MiB it points to.
    assert scanner.measure(tree["s1"]).apparent < (16 << 20)
    # Measured twice (cached with inotify): the same answer.
    check_one(scanner, tree["s1"])


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_measure_many_dedupes_like_one_du_call(
    scanner: DirScanner, tree: dict[str, Path], workers: int
) -> None:
    paths = sessions(tree)
    check_many(scanner, paths, workers)
    check_many(scanner, list(reversed(paths)), workers)  # the first path owns a shared inode
    check_many(scanner, paths, workers)  # and again from the cache


def test_measure_many_yields_each_path_once(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s1, s2, s3 = sessions(tree)
    missing = tree["base"] / "session_gone"
    results = list(scanner.measure_many([s1, s2, s1, missing, s3, s2], workers=2))
    assert [p for p, _ in results] == [s1, s2, s3]
    assert list(scanner.last_errors) == [missing]


def test_measure_many_in_helper_processes(
    scanner: DirScanner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "_SPAWN_AFTER_S", 0.0)  # start helpers after the first dir
    monkeypatch.setattr(scan, "_usable_cpus", lambda: 3)  # two helpers, whatever the machine
    base = tmp_path / "many"
    paths = []
    for i in range(40):
        d = base / f"session_{i:02d}"
        for j in range(60):
            write(d / f"sub{j % 3}" / f"f{j}", i * 10 + j)
        paths.append(d)
    for i in range(0, 40, 7):  # links across sessions, owned by the first one listed
        os.link(paths[i] / "sub0" / "f0", paths[(i + 13) % 40] / f"link{i}")
    check_many(scanner, paths, workers=3)
    assert scanner.stats.helpers_started >= 1
    walked_here = scanner.stats.full_walks - scanner.stats.walks_in_helpers
    assert walked_here >= 1
    check_many(scanner, list(reversed(paths)), workers=3)
    # Changes after a helper walked (and watched) a dir are seen by this process.
    for p in paths[::5]:
        append(p / "sub1" / "f1", b"more")
        write(p / "sub2" / "new" / "file", 77)
    check_many(scanner, paths, workers=3)


def test_helper_process_walks_and_watches_for_the_scanner(tmp_path: Path) -> None:
    """The helper end to end, without timing: it takes tokens from the pipe, walks, and adds
    its watches to the scanner's own inotify instance."""
    paths = [write(tmp_path / f"s{i}" / "sub" / "f", 100 * i + 1).parent.parent for i in range(3)]
    with DirScanner() as s:
        ino = s._ino
        assert ino is not None
        r, w = os.pipe()
        os.write(w, b"".join(struct.pack("<I", i) for i in (2, 0)))
        os.close(w)
        header = marshal.dumps((r, ino.fd, walker.DIR_MASK, [str(p) for p in paths]))
        argv = helpers.helper_argv()
        assert argv is not None, "the helper's sources are plain files in a checkout"
        try:
            proc = subprocess.run(
                argv,
                input=header,
                capture_output=True,
                pass_fds=(r, ino.fd),
                check=True,
            )
        finally:
            os.close(r)
        frames, data = [], proc.stdout
        while data:
            (n,) = struct.unpack_from("<I", data)
            frames.append(marshal.loads(data[4 : 4 + n]))
            data = data[4 + n :]
        assert [index for index, _ in frames] == [2, 0]
        for index, (kind, records, watch_err) in frames:
            assert (kind, watch_err) == ("ok", 0)
            here = walker.walk_root(str(paths[index]), None)[1]
            assert [rec[6:11] for rec in records] == [rec[6:11] for rec in here]
            assert all(rec[5] >= 0 for rec in records)  # each dir was watched
        assert ino.read() == []
        append(paths[2] / "sub" / "f", b"x")
        sub_wd = next(rec[5] for rec in frames[0][1][1] if rec[0].endswith("/sub"))
        assert (sub_wd, inotify.IN_MODIFY) in ino.read()


def test_helper_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    """Where the kernel shares a busy CPU between sessions (sched_autogroup), a helper in the
    scanner's session only splits the scanner's share; in a session of its own it gets one."""
    paths = [str(write(tmp_path / f"s{i}" / "f", 10 + i).parent) for i in range(4)]
    pool = helpers.HelperPool(paths, list(range(len(paths))))
    try:
        assert pool.spawn(1, -1) == 1
        (proc,) = pool.procs
        # Read before the pool reaps it: an exited helper keeps its session until then.
        assert os.getsid(proc.pid) == proc.pid
        assert os.getsid(proc.pid) != os.getsid(0)
        frames: list[bytes] = []
        while pool.open_readers:
            frames += pool.take(block=True)
        decoded = [helpers.decode(blob) for blob in frames]
        assert decoded, "the helper walked nothing"
        assert all(d is not None and d[1][0] == "ok" for d in decoded)
    finally:
        pool.close()


def test_helper_start_loads_no_importlib_util_nor_typing() -> None:
    """A helper starts while the scan's clock runs: its interpreter loads the walker through
    ``importlib.machinery``, not ``importlib.util`` (contextlib, collections and functools:
    1.4 of the 14.8 ms of CPU a helper took to start), and nothing else heavy."""
    argv = helpers.helper_argv()
    assert argv is not None, "the helper's sources are plain files in a checkout"
    r, w = os.pipe()
    os.close(w)  # no tokens: the helper loads, finds no work and exits
    try:
        proc = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]],
            input=marshal.dumps((r, -1, walker.DIR_MASK, [])),
            capture_output=True,
            pass_fds=(r,),
            check=True,
        )
    finally:
        os.close(r)
    lines = proc.stderr.decode().splitlines()
    loaded = {ln.rsplit("|", 1)[1].strip() for ln in lines if ln.startswith("import time:")}
    assert {"os", "struct"} <= loaded, "the import listing is incomplete"
    heavy = {"importlib.util", "contextlib", "typing", "core"}
    assert not loaded & heavy, f"a helper loads {sorted(loaded & heavy)}"


def _helpers_started(tree: Path, cpus: set[int]) -> int:
    """``helpers_started`` of a scan with ``workers=3`` in a process that may run on ``cpus``."""
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from core.dirs import scan
        os.sched_setaffinity(0, {sorted(cpus)!r})
        scan._SPAWN_AFTER_S = 0.0
        with scan.DirScanner() as s:
            paths = sorted(Path({str(tree)!r}).iterdir())
            assert len(list(s.measure_many(paths, workers=3))) == len(paths)
            print(s.stats.helpers_started)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_no_more_walkers_than_usable_cpus(tmp_path: Path) -> None:
    """A process confined to one CPU (taskset, a container's cpuset) walks alone: a helper
    could only take turns with it.  With two CPUs, one helper joins it."""
    for i in range(12):
        write(tmp_path / f"s{i:02d}" / "f", 10 + i)
    cpus = sorted(os.sched_getaffinity(0))
    assert _helpers_started(tmp_path, {cpus[0]}) == 0
    if len(cpus) < 2:
        pytest.skip("one CPU here: the two-CPU half needs two")
    assert _helpers_started(tmp_path, set(cpus[:2])) == 1


def test_abandoned_measure_many_stops_helpers(
    watched: DirScanner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "_SPAWN_AFTER_S", 0.0)
    monkeypatch.setattr(scan, "_usable_cpus", lambda: 3)
    paths = [write(tmp_path / f"s{i}" / "f", 100 + i).parent for i in range(30)]
    it = watched.measure_many(paths, workers=3)
    first = next(it)
    assert first[0] == paths[0]
    it.close()  # kills and reaps the helpers
    check_many(watched, paths)


# --- the cache stays correct ------------------------------------------------------------------


def test_growing_file(scanner: DirScanner, tree: dict[str, Path]) -> None:
    log = tree["s1"] / "logs" / "app.log"
    before = check_one(scanner, tree["s1"])
    append(log, b"y" * 10)
    after = check_one(scanner, tree["s1"])
    assert after.apparent == before.apparent + 10
    with log.open("ab") as f:  # still open: every write counts, not only the close
        f.write(b"z" * 5000)
        f.flush()
        assert check_one(scanner, tree["s1"]).apparent == before.apparent + 5010
    os.truncate(log, 0)
    check_one(scanner, tree["s1"])


def test_newest_mtime_follows_touches(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s3 = tree["s3"]
    first = check_one(scanner, s3).newest_mtime
    assert first is not None
    later = first + 1000.5
    os.utime(s3 / "a" / "b", (later, later))  # a nested dir's own mtime
    assert scanner.measure(s3).newest_mtime == pytest.approx(later)
    os.utime(s3 / "a" / "b" / "c" / "file", (later + 1, later + 1))  # a file
    assert scanner.measure(s3).newest_mtime == pytest.approx(later + 1)
    os.utime(s3, (later + 2, later + 2))  # the measured dir itself
    info = check_one(scanner, s3)
    assert info.newest_mtime == pytest.approx(later + 2)
    assert info.newest_mtime == pytest.approx(ref_newest(s3), abs=1e-5)


def test_new_file_in_new_nested_dir(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s3 = tree["s3"]
    check_one(scanner, s3)
    write(s3 / "x" / "y" / "z" / "new.bin", 2222)
    info = check_one(scanner, s3)
    write(s3 / "x" / "y" / "z" / "w" / "newer.bin", 1)  # below a dir first seen just now
    write(s3 / "a" / "b" / "c" / "other", 10)
    assert check_one(scanner, s3).files == info.files + 2


def test_deleted_file(scanner: DirScanner, tree: dict[str, Path]) -> None:
    before = check_one(scanner, tree["s1"])
    (tree["s1"] / "data" / "nested" / "deep" / "result.json").unlink()
    after = check_one(scanner, tree["s1"])
    assert after.files == before.files - 1


def test_renames(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s1, s2, s3 = sessions(tree)
    check_many(scanner, [s1, s2, s3])
    (s1 / "logs" / "app.log").rename(s1 / "data" / "app.log.1")  # file across dirs
    (s3 / "a").rename(s3 / "moved")  # a dir within the tree
    (s3 / "moved" / "b").rename(s3 / "b2")  # ... and a dir to a shallower place
    check_many(scanner, [s1, s2, s3])
    (s1 / "data").rename(s2 / "data-from-s1")  # a dir to another session
    check_many(scanner, [s1, s2, s3])
    (s2 / "data-from-s1").rename(tree["outside"] / "gone")  # out of the measured trees
    write(tree["outside"] / "gone" / "after-move", 999)  # changes there no longer count
    check_many(scanner, [s1, s2, s3])
    (tree["outside"] / "gone").rename(s3 / "back")  # and back in
    check_many(scanner, [s1, s2, s3])


def test_swap_dirs_by_rename(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s3 = tree["s3"]
    write(s3 / "p" / "one", 1)
    write(s3 / "q" / "two", 2000)
    check_one(scanner, s3)
    (s3 / "p").rename(s3 / "tmp")
    (s3 / "q").rename(s3 / "p")
    (s3 / "tmp").rename(s3 / "q")
    check_one(scanner, s3)
    append(s3 / "p" / "two", b"more")  # the watch follows the directory, not its name
    check_one(scanner, s3)


def test_removed_dirs(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s1, s2, s3 = sessions(tree)
    check_many(scanner, [s1, s2, s3])
    shutil.rmtree(s1 / "data")
    check_many(scanner, [s1, s2, s3])
    shutil.rmtree(s3)
    with pytest.raises(FileNotFoundError):
        scanner.measure(s3)
    assert s3 in scanner.last_errors
    assert [p for p, _ in scanner.measure_many([s1, s2, s3])] == [s1, s2]
    assert s3 in scanner.last_errors
    s3.mkdir()  # a new dir of the same name is a new session
    write(s3 / "again", 42)
    check_many(scanner, [s1, s2, s3])
    renamed = s2.with_name("session_2_renamed")
    s2.rename(renamed)
    with pytest.raises(FileNotFoundError):
        scanner.measure(s2)
    check_many(scanner, [s1, renamed, s3])
    shutil.rmtree(s3)
    s3.symlink_to(tree["outside"])  # a cached session replaced by a symlink: never followed
    assert scanner.measure(s3).apparent == len(str(tree["outside"]))
    assert dict(scanner.measure_many([s3]))[s3].apparent == len(str(tree["outside"]))


def test_replaced_by_symlink_is_not_followed(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s1 = tree["s1"]
    check_one(scanner, s1)
    shutil.rmtree(s1 / "data")
    (s1 / "data").symlink_to(tree["outside"])  # the 64 MiB file is behind it
    info = check_one(scanner, s1)
    assert info.apparent < (16 << 20)
    # A measured path that is itself a symlink or a file is measured as itself.
    link = tree["base"] / "session_link"
    link.symlink_to(tree["outside"])
    assert scanner.measure(link).apparent == len(str(tree["outside"]))
    assert scanner.measure(tree["big"]).apparent == 64 << 20
    assert scanner.measure(tree["big"]).files == 1


def test_new_hard_links_between_cached_dirs(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s1, s2, s3 = sessions(tree)
    check_many(scanner, [s1, s2, s3])
    check_one(scanner, s3)
    # Within one session: the dir holding the original gets no event for it.
    os.link(s3 / "plain", s3 / "a" / "plain-link")
    check_one(scanner, s3)
    # Across sessions, in both orders.
    os.link(s3 / "a" / "b" / "c" / "file", s2 / "from-s3")
    check_many(scanner, [s1, s2, s3])
    check_many(scanner, [s3, s2, s1])
    os.link(s1 / "sparse.bin", s3 / "sparse-link")
    check_many(scanner, [s1, s2, s3])
    check_many(scanner, [s3, s1, s2])
    (s1 / "sparse.bin").unlink()  # back to one link
    check_many(scanner, [s3, s1, s2])
    check_one(scanner, s3)


@pytest.mark.parametrize("workers", [1, 2])
def test_new_session_linking_into_a_cached_one(
    scanner: DirScanner, tree: dict[str, Path], workers: int
) -> None:
    s3 = tree["s3"]
    check_many(scanner, [s3])  # cached: "plain" has one link
    fresh = [write(tree["base"] / f"session_new{i}" / "f", 10 + i).parent for i in range(4)]
    os.link(s3 / "plain", fresh[-1] / "plain-again")  # no event for any dir of s3
    # s3 is yielded before the new session holding the other link is even walked.
    check_many(scanner, [s3, *fresh], workers)
    check_many(scanner, [*fresh, s3], workers)


def test_write_through_link_outside_the_tree(watched: DirScanner, tree: dict[str, Path]) -> None:
    s3 = tree["s3"]
    outside_link = tree["outside"] / "also-plain"
    os.link(s3 / "plain", outside_link)
    before = check_one(watched, s3)
    append(outside_link, b"x" * 100)  # no watched directory hears of this write
    assert check_one(watched, s3).apparent == before.apparent + 100
    outside_link.unlink()
    append(s3 / "plain", b"y")
    check_one(watched, s3)


def test_counted_once_when_linked_twice_in_one_dir(scanner: DirScanner, tmp_path: Path) -> None:
    d = tmp_path / "session"
    write(d / "a", 5000)
    os.link(d / "a", d / "b")
    os.link(d / "a", d / "c")
    info = check_one(scanner, d)
    assert info.files == 1
    append(d / "b", b"more")
    check_one(scanner, d)


def test_forget_and_close(watched: DirScanner, tree: dict[str, Path]) -> None:
    s1 = tree["s1"]
    watched.measure(s1)
    walks = watched.stats.full_walks
    watched.measure(s1)
    assert watched.stats.full_walks == walks  # cached
    watched.forget(s1)
    check_one(watched, s1)
    assert watched.stats.full_walks == walks + 1
    watched.close()
    with pytest.raises(ValueError, match="closed"):
        watched.measure(s1)


def test_without_inotify_every_measure_walks(tree: dict[str, Path]) -> None:
    with DirScanner(use_inotify=False) as s:
        assert not s.watching
        s.measure(tree["s1"])
        s.measure(tree["s1"])
        assert s.stats.full_walks == 2
        assert not s.report(tree["s1"]).watched


def test_threads_share_one_scanner(watched: DirScanner, tree: dict[str, Path]) -> None:
    paths = sessions(tree)
    errors: list[Exception] = []

    def measure_loop() -> None:
        try:
            for _ in range(30):
                list(watched.measure_many(paths))
                watched.measure(paths[0])
        except Exception as e:  # noqa: BLE001 (reported by the assert below)
            errors.append(e)

    def change_loop() -> None:
        for i in range(60):
            write(tree["s1"] / "churn" / f"d{i % 5}" / f"f{i}", i)
            if i % 3 == 0:
                shutil.rmtree(tree["s1"] / "churn" / f"d{(i + 2) % 5}", ignore_errors=True)
            append(tree["s2"] / "notes.txt", b"x" * i)

    threads = [threading.Thread(target=measure_loop) for _ in range(2)]
    threads.append(threading.Thread(target=change_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check_many(watched, paths)
    check_one(watched, paths[0])


# --- unreadable, other filesystems, cycles ----------------------------------------------------

_PROBE = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from core.dirs.scan import DirScanner
    path = Path(sys.argv[2])
    s = DirScanner()
    out = {}
    def record(tag):
        info = s.measure(path)
        rep = s.report(path)
        du = [
            int(os.popen(f"du -s -x {opt} '{path}' 2>/dev/null").read().split()[0])
            for opt in ("-b", "-B1")
        ]
        out[tag] = {
            "got": [info.apparent, info.disk], "du": du,
            "unreadable": [p for p, _ in rep.unreadable], "watched": rep.watched,
        }
    record("before")
    exec(sys.argv[3])
    record("after")
    out["stats"] = [s.stats.watch_limit_hits, s.stats.full_walks]
    print(json.dumps(out))
    """
)


def run_probe(prefix: list[str], path: Path, change: str) -> dict[str, object]:
    if prefix:
        # can this machine run the prefix at all (user namespaces, capabilities)?
        env = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
        if env.returncode != 0:
            unavailable(f"{prefix[0]} cannot run here: {env.stderr.strip()[-300:]}")
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", _PROBE, str(REPO), str(path), change],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        # the environment runs; the scanner under test crashed
        pytest.fail(f"the probe failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_unreadable_subdir_is_skipped_and_reported(tmp_path: Path) -> None:
    session = tmp_path / "session"
    write(session / "ok" / "file", 100)
    write(session / "locked" / "secret", 5000)
    write(session / "locked" / "inner" / "more", 5000)
    (session / "locked").chmod(0)
    prefix: list[str] = []
    if IS_ROOT:
        # Root reads everything: drop the two capabilities that bypass file modes.
        if shutil.which("setpriv") is None:
            unavailable("root without setpriv cannot make a directory unreadable")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    # Make it readable again inside the probe: the parent's watch sees the chmod.
    try:
        out = run_probe(prefix, session, f"os.chmod({str(session / 'locked')!r}, 0o755)")
    finally:
        (session / "locked").chmod(0o755)
    before, after = out["before"], out["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert before["unreadable"] == [str(session / "locked")]
    assert before["got"] == before["du"]  # its own size counts, its contents do not
    assert after["unreadable"] == []
    assert after["got"] == after["du"]
    assert after["got"][0] == before["got"][0] + 10000 + 4096


def test_watch_limit_falls_back_to_relisting(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        unavailable("no unshare(1)")
    session = tmp_path / "session"
    for i in range(8):
        write(session / f"d{i}" / "deep" / "file", 10 * i + 1)
    # In a user namespace of its own the probe gets a limit of 3 watches (the host's limits
    # stay untouched), so most directories cannot be watched.
    change = (
        "open(f'{path}/d7/deep/file', 'ab').write(b'x' * 1000);"
        "os.makedirs(f'{path}/d6/deep/new');"
        "open(f'{path}/d6/deep/new/f', 'wb').write(b'y' * 10)"
    )
    prefix = [
        "unshare",
        "-U",
        "-r",
        "sh",
        "-c",
        'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"',
        "-",
    ]
    out = run_probe(prefix, session, change)
    before, after, stats = out["before"], out["after"], out["stats"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert isinstance(stats, list)
    assert stats[0] >= 1  # the limit was hit
    assert stats[1] == 1  # and yet no full walk was needed after it
    assert before["watched"] is False
    assert before["got"] == before["du"]
    assert after["got"] == after["du"]
    assert after["got"][0] > before["got"][0] + 1000


def test_queue_overflow_walks_again(watched: DirScanner, tree: dict[str, Path]) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 500_000:
        unavailable(f"max_queued_events={limit}: too many events to overflow in a test")
    s1, s2, s3 = sessions(tree)
    check_many(watched, [s1, s2, s3])
    walks = watched.stats.full_walks
    a = os.open(s1 / "logs" / "app.log", os.O_WRONLY | os.O_APPEND)
    b = os.open(s1 / "hl_a", os.O_WRONLY | os.O_APPEND)
    try:
        # Alternating files: identical consecutive events would be merged into one.
        for _ in range(limit // 2 + 50):
            os.write(a, b"a")
            os.write(b, b"b")
    finally:
        os.close(a)
        os.close(b)
    write(s2 / "made-during-overflow" / "f", 4321)  # its events are lost
    check_many(watched, [s1, s2, s3])
    assert watched.stats.overflows == 1
    assert watched.stats.full_walks == walks + 3
    append(s2 / "made-during-overflow" / "f", b"and watched again")
    check_many(watched, [s1, s2, s3])


@pytest.fixture
def tmpfs_inside(tree: dict[str, Path]) -> Iterator[Path]:
    with tmpfs(tree["s1"] / "data" / "mnt", size="8m") as mnt:
        yield mnt


def test_other_filesystem_is_not_entered(
    scanner: DirScanner, tree: dict[str, Path], tmpfs_inside: Path
) -> None:
    write(tmpfs_inside / "on-tmpfs", 1 << 20)
    assert os.lstat(tmpfs_inside).st_dev != os.lstat(tree["s1"]).st_dev
    info = check_one(scanner, tree["s1"])  # du -x: the mount point itself is not counted
    assert scanner.report(tree["s1"]).other_fs == (str(tmpfs_inside),)
    append(tmpfs_inside / "on-tmpfs", b"x" * (1 << 20))
    write(tmpfs_inside / "sub" / "more", 1000)
    assert check_one(scanner, tree["s1"]) == info


def test_bind_mount_cycle_is_not_followed(scanner: DirScanner, tree: dict[str, Path]) -> None:
    s3 = tree["s3"]
    loop = s3 / "a" / "loop"
    loop.mkdir()
    proc = subprocess.run(
        ["mount", "--bind", str(s3), str(loop)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        unavailable(f"cannot bind-mount here: {proc.stderr.strip()}")
    try:
        check_one(scanner, s3)  # same filesystem, same inode as an ancestor: a cycle
        assert scanner.report(s3).skipped == (str(loop),)
        write(s3 / "a" / "b" / "added", 50)
        check_one(scanner, s3)
    finally:
        subprocess.run(["umount", "-l", str(loop)], check=False)
