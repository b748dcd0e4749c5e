"""One prune engine for every caller (core.dirs.engine): the dashboard/CLI
backend and the producer API get the same rules, tested on real directories,
real processes, real tmpfs mounts and a real unprivileged user.

Each test acts after planning (a mount or a swap made between plan and
delete), so the delete-time checks run, not only the plan-time ones.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.dirs.engine import Status, Target, remove
from core.dirs.naming import PRUNE_LOCK_NAME, parse_name
from core.dirs.producer import SessionDir, SessionHandler
from core.dirs.safety import RemovalBlocked, check_base, remove_tree
from core.errors import ConfigError, LockBusy, UnsafeOperation
from core.jsonstore.store import FileSessionStore
from core.locks import exclusive_lock
from tests.conftest import needs_root
from tests.helpers import (
    as_nobody,
    dirs_config,
    live_process,
    make_session,
    run_cli,
    tmpfs,
)

OLD = timedelta(days=50)


def backend(base: Path, **kw: object) -> DirsBackend:
    return DirsBackend(dirs_config(base, max_sessions=-1, max_age_days=1, **kw))  # type: ignore[arg-type]


def set_old(path: Path) -> None:
    os.utime(path, (1, 1))  # filling a session made its own mtime new again


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


# -- liveness: another program's active session in a shared base -------------------


def test_producer_prune_keeps_another_live_programs_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.dirs")
    proc = live_process()  # "another program", started before its session
    try:
        theirs = make_session(tmp_path, pid=proc.pid)
        set_old(theirs)  # by mtime it is the oldest and far past any age limit
        dead = make_session(tmp_path, age=OLD)
        sd = SessionDir(tmp_path, max_session_dirs=0, max_age_days=1)
        assert [p for p, _ in sd.plan_prune()] == [dead]
        assert sd.prune() == [dead]
        # and the handler's prune on exit: max 0 removes the session that just
        # ran (as vcti-session does), never the other live program's
        with SessionHandler(sd, change_directory=False).session_context() as mine:
            pass
        assert theirs.is_dir() and (theirs / "logs" / "app.log").is_file()
        assert not mine.path.exists()
        assert f"active: pid {proc.pid} is running" in caplog.text
        # the same session is equally kept by the dashboard's prune
        b = backend(tmp_path)
        assert [s.id for s in b.plan_prune().skipped] == [theirs.name]
    finally:
        proc.kill()
        proc.wait()
    # once its program has ended, it is an ordinary old session
    assert sd.prune() == [theirs]


def test_producer_prunes_own_finished_sessions_but_not_open_ones(tmp_path: Path) -> None:
    # two SessionDir objects in one process (two threads' handlers): a session
    # still open in one is safe from the other's prune, a finished one is not
    first = SessionHandler(SessionDir(tmp_path, max_session_dirs=0), change_directory=False)
    second = SessionHandler(SessionDir(tmp_path, max_session_dirs=0), change_directory=False)
    with first.session_context() as open_one:
        set_old(open_one.path)
        with second.session_context() as done:
            pass
        # max 0: the finished one went at its own exit; the open one stays
        assert open_one.path.is_dir() and not done.path.exists()
        done_by_hand = second.session_dir.create()  # ours, never held: finished
        with second.session_context() as again:
            pass
        assert open_one.path.is_dir()
        assert not done_by_hand.exists() and not again.path.exists()
    assert not open_one.path.exists()


# -- mounts: never emptied, by either caller --------------------------------------


@needs_root("mounting a tmpfs")
@pytest.mark.parametrize("caller", ["backend", "producer"])
def test_tmpfs_inside_an_old_session_is_not_emptied(tmp_path: Path, caller: str) -> None:
    s = make_session(tmp_path, files={"top.log": "mine", "deep/er/f.log": "mine too"})
    with tmpfs(s / "deep" / "scratch") as mnt:
        (mnt / "data").write_text("on another filesystem")
        set_old(s)
        if caller == "backend":
            b = backend(tmp_path)
            assert [k.why for k in b.plan_prune(force=True).skipped] == ["holds a mount point"]
        else:
            assert SessionDir(tmp_path, max_session_dirs=0).prune() == []
        assert (mnt / "data").read_text() == "on another filesystem"
        assert (s / "top.log").read_text() == "mine"
        assert (s / "deep" / "er" / "f.log").read_text() == "mine too"


@needs_root("mounting a tmpfs")
def test_mount_made_after_planning_is_refused_by_the_backend(tmp_path: Path) -> None:
    s = make_session(tmp_path, files={"top.log": "mine"})
    (s / "scratch").mkdir()
    set_old(s)
    b = backend(tmp_path)
    plan = b.plan_prune()
    assert [e.id for e in plan.entries] == [s.name]  # no mount yet: planned
    with tmpfs(s / "scratch") as mnt:
        (mnt / "data").write_text("on another filesystem")
        result = b.prune(plan, force=True)
        assert not result.ok
        assert result.failed[0].error == "holds a mount point; left alone"
        assert (mnt / "data").read_text() == "on another filesystem"
        assert (s / "top.log").read_text() == "mine"  # not even partly removed


@needs_root("mounting a tmpfs")
def test_mount_made_after_planning_is_refused_by_the_producer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    s = make_session(tmp_path, files={"top.log": "mine"})
    (s / "scratch").mkdir()
    set_old(s)
    mounted: list[Path] = []

    def mount_now(dirs: list[Path]) -> None:
        assert dirs == [s]  # planned without a mount ...
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(s / "scratch")], check=False
        )
        assert proc.returncode == 0
        mounted.append(s / "scratch")
        (s / "scratch" / "data").write_text("on another filesystem")

    handler = SessionHandler(
        SessionDir(tmp_path, max_session_dirs=-1, max_age_days=1),
        change_directory=False,
        on_before_prune=mount_now,
    )
    try:
        with handler.session_context():
            pass
        assert mounted, "the hook did not run: nothing was planned"
        assert (s / "scratch" / "data").read_text() == "on another filesystem"
        assert (s / "top.log").read_text() == "mine"
        assert "holds a mount point" in warnings_of(caplog)
    finally:
        for m in mounted:
            subprocess.run(["umount", "-l", str(m)], check=False)


@needs_root("mounting a tmpfs")
def test_remove_tree_never_descends_into_another_filesystem(tmp_path: Path) -> None:
    # the last line of defence, below the mount-table check: st_dev per directory
    s = make_session(tmp_path, files={"a.log": "x"})
    with tmpfs(s / "inner" / "mnt") as mnt:
        (mnt / "data").write_text("on another filesystem")
        with pytest.raises(RemovalBlocked, match="on another filesystem") as err:
            remove_tree(s, check_base(tmp_path))
        assert str(mnt) in err.value.message
        assert (mnt / "data").read_text() == "on another filesystem"


# -- a base swapped for a symlink after checking -----------------------------------


def swap_base_for_symlink(base: Path, session: Path) -> Path:
    """Move ``base`` aside and put a symlink in its place pointing at a folder
    holding a same-named copy of ``session``; returns that outside copy."""
    outside = base.parent / "outside"
    shutil.copytree(session, outside / session.name)
    base.rename(base.parent / "moved-aside")
    base.symlink_to(outside, target_is_directory=True)
    return outside / session.name


def test_base_swapped_after_planning_is_refused_by_the_backend(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    s = make_session(base, age=OLD)
    b = backend(base)
    plan = b.plan_prune()
    assert [e.id for e in plan.entries] == [s.name]
    copy = swap_base_for_symlink(base, s)
    with pytest.raises(UnsafeOperation, match="symlink"):
        b.prune(plan, force=True)
    assert (copy / "logs" / "app.log").read_text() == "hello\n"
    assert not (copy.parent / PRUNE_LOCK_NAME).exists()  # not even a lock file outside


def test_base_swapped_after_planning_is_refused_by_the_producer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    base = tmp_path / "runs"
    s = make_session(base, age=OLD)
    copies: list[Path] = []
    handler = SessionHandler(
        SessionDir(base, max_session_dirs=-1, max_age_days=1),
        change_directory=False,
        on_before_prune=lambda dirs: copies.append(swap_base_for_symlink(base, s)),
    )
    with handler.session_context():
        pass
    (copy,) = copies
    assert (copy / "logs" / "app.log").read_text() == "hello\n"
    assert not (copy.parent / PRUNE_LOCK_NAME).exists()
    assert "through a symlink" in warnings_of(caplog)


def swap_parent_for_symlink(base: Path, session: Path) -> Path:
    """Replace the folder *above* ``base`` by a symlink to a copy of it: the base
    path still names a real directory (not a link), with a same-named copy of
    ``session`` in it; returns that copy."""
    parent = base.parent
    elsewhere = parent.parent / f"{parent.name}-elsewhere"
    shutil.copytree(parent, elsewhere, symlinks=True)
    parent.rename(parent.parent / f"{parent.name}-moved")
    parent.symlink_to(elsewhere, target_is_directory=True)
    return elsewhere / base.name / session.name


def replace_base_by_a_directory(base: Path, session: Path) -> Path:
    """Move ``base`` aside and make a new real directory in its place holding a
    same-named copy of ``session``; returns that copy."""
    moved = base.parent / "moved-aside"
    base.rename(moved)
    shutil.copytree(moved / session.name, base / session.name)
    return base / session.name


SWAPS = {"parent symlinked": swap_parent_for_symlink, "base replaced": replace_base_by_a_directory}


@pytest.mark.parametrize("swap", SWAPS)
def test_base_replaced_after_planning_is_refused_by_the_backend(tmp_path: Path, swap: str) -> None:
    # the base path still checks out as a real directory: only the plan's
    # record of which directory it was (device, inode, real path) tells
    base = tmp_path / "area" / "runs"
    s = make_session(base, age=OLD)
    b = backend(base)
    plan = b.plan_prune()
    assert [e.id for e in plan.entries] == [s.name]
    copy = SWAPS[swap](base, s)
    with pytest.raises(UnsafeOperation, match="not the directory that was planned"):
        b.prune(plan, force=True)
    assert (copy / "logs" / "app.log").read_text() == "hello\n"


@pytest.mark.parametrize("swap", SWAPS)
def test_base_replaced_after_planning_is_refused_by_the_producer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, swap: str
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    base = tmp_path / "area" / "runs"
    s = make_session(base, age=OLD)
    copies: list[Path] = []
    handler = SessionHandler(
        SessionDir(base, max_session_dirs=-1, max_age_days=1),
        change_directory=False,
        on_before_prune=lambda dirs: copies.append(SWAPS[swap](base, s)),
    )
    with handler.session_context():
        pass
    (copy,) = copies
    assert (copy / "logs" / "app.log").read_text() == "hello\n"
    assert "not the directory that was planned" in warnings_of(caplog)


@pytest.mark.parametrize("swap", ["symlink", "another directory"])
def test_remove_tree_refuses_a_base_swapped_after_its_check(tmp_path: Path, swap: str) -> None:
    # the window between check_base and the removal: the base is opened
    # without following a link, and its identity compared to the checked one
    base = tmp_path / "runs"
    s = make_session(base, age=OLD)
    checked = check_base(base)
    copy = swap_base_for_symlink(base, s)
    if swap == "another directory":
        base.unlink()
        copy.parent.rename(base)
        copy = base / s.name
    expected = "changed since it was checked" if swap != "symlink" else "swapped for a symlink"
    with pytest.raises(RemovalBlocked, match=expected):
        remove_tree(base / s.name, checked)
    assert (copy / "logs" / "app.log").read_text() == "hello\n"


# -- a busy lock names its holder --------------------------------------------------

HOLD = """
import fcntl, os, sys, time
from pathlib import Path
from core.locks import exclusive_lock
lock = Path(sys.argv[1])
if sys.argv[2] == "ours":
    with exclusive_lock(lock):
        print("held", flush=True)
        time.sleep(300)
else:  # another program: flock, but nothing written into the file
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(300)
"""


@contextmanager
def lock_held_by_another_process(lock: Path, kind: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), kind],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"  # waits for the lock, not the clock
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_busy_lock_names_the_holding_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    s = make_session(tmp_path, age=OLD)
    b = backend(tmp_path)
    plan = b.plan_prune()
    with lock_held_by_another_process(tmp_path / PRUNE_LOCK_NAME, "ours") as holder:
        program = Path(f"/proc/{holder.pid}/comm").read_text().strip()
        with pytest.raises(LockBusy) as err:
            b.prune(plan)
        assert f"held by pid {holder.pid} ({program})" in err.value.message
        # the producer's prune says the same in its warning, and removes nothing
        assert SessionDir(tmp_path, max_session_dirs=0).prune() == []
        assert f"held by pid {holder.pid} ({program})" in warnings_of(caplog)
    assert s.is_dir()


def test_busy_lock_of_another_program_says_so(tmp_path: Path) -> None:
    make_session(tmp_path, age=OLD)
    b = backend(tmp_path)
    plan = b.plan_prune()
    with (
        lock_held_by_another_process(tmp_path / PRUNE_LOCK_NAME, "foreign"),
        pytest.raises(LockBusy) as err,
    ):
        b.prune(plan)
    assert "held by another program" in err.value.message
    assert str(tmp_path / PRUNE_LOCK_NAME) in err.value.message


def test_our_lock_file_records_pid_and_program(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with exclusive_lock(lock):
        pid, program = lock.read_text().split()
    assert int(pid) == os.getpid() and program
    assert lock.read_text() == ""  # emptied on release: a stale pid never misleads


# -- a failed entry names the path that blocked it ---------------------------------


@contextmanager
def tree_nobody_cannot_fully_remove() -> Iterator[tuple[Path, Path, Path]]:
    """A base owned by nobody with one session whose ``inner`` folder nobody
    cannot write (so ``inner/f`` cannot be unlinked) and one free session."""
    top = Path(tempfile.mkdtemp(prefix="sesstui-engine-perm-"))
    try:
        top.chmod(0o755)
        base = top / "runs"
        stuck = make_session(base, files={"a.log": "x", "inner/f": "x"})
        free = make_session(base, files={"b.log": "x"})
        for root, dirs, files in os.walk(top):
            for n in [root, *(os.path.join(root, d) for d in [*dirs, *files])]:
                os.chown(n, 65534, 65534)
        (stuck / "inner").chmod(0o500)
        set_old(stuck)
        set_old(free)
        yield base, stuck, free
    finally:
        for root, dirs, _ in os.walk(top):
            for d in dirs:
                (Path(root) / d).chmod(0o700)
        shutil.rmtree(top, ignore_errors=True)


@needs_root("running as another user")
def test_partly_removed_entry_names_the_blocking_path_in_the_backend() -> None:
    with tree_nobody_cannot_fully_remove() as (base, stuck, free):

        def prune() -> list[tuple[str, bool, str]]:
            b = backend(base)
            return [(r.entry.id, r.ok, r.error) for r in b.prune(b.plan_prune()).results]

        results = {i: (ok, e) for i, ok, e in as_nobody(prune)}
        assert results[free.name] == (True, "")
        assert results[stuck.name] == (
            False,
            f"partly removed: {stuck / 'inner' / 'f'}: Permission denied",
        )
        assert (stuck / "inner" / "f").exists()
        assert not (stuck / "a.log").exists()  # what went before it is gone: "partly"
        assert not free.exists()


@needs_root("running as another user")
def test_partly_removed_entry_names_the_blocking_path_in_the_producer() -> None:
    with tree_nobody_cannot_fully_remove() as (base, stuck, free):

        def prune() -> tuple[list[Path], list[str]]:
            messages: list[str] = []

            class Collect(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    messages.append(record.getMessage())

            logging.getLogger("core.dirs").addHandler(Collect(logging.WARNING))
            return SessionDir(base, max_session_dirs=0).prune(), messages

        removed, messages = as_nobody(prune)
        assert removed == [free]
        assert messages == [
            f"prune: could not remove {stuck}: partly removed: "
            f"{stuck / 'inner' / 'f'}: Permission denied"
        ]


def test_engine_outcomes_are_per_entry(tmp_path: Path) -> None:
    a = make_session(tmp_path, age=OLD)
    b = make_session(tmp_path, age=OLD)
    outside = make_session(tmp_path / "elsewhere", age=OLD)
    gone = tmp_path / "session_gone"
    targets = [
        Target(a, parse_name(a.name)),
        Target(gone, None),
        Target(outside, parse_name(outside.name)),
        Target(b, parse_name(b.name)),
    ]
    outcomes = remove(tmp_path, targets)
    assert [o.status for o in outcomes] == [
        Status.REMOVED,
        Status.GONE,
        Status.REFUSED,
        Status.REMOVED,
    ]
    assert outcomes[2].message == "not a direct child of the base directory; left alone"
    assert outside.is_dir() and not a.exists() and not b.exists()


# -- unsafe bases, compared as real paths, refused at load ------------------------


@pytest.fixture
def homes(tmp_path: Path) -> dict[str, Path]:
    """A home reached through a symlinked parent (``/home -> /var/home`` on
    some systems): HOME=<tmp>/home/me with <tmp>/home -> <tmp>/var/home."""
    real_home = tmp_path / "var" / "home" / "me"
    real_home.mkdir(parents=True)
    (tmp_path / "home").symlink_to(tmp_path / "var" / "home", target_is_directory=True)
    # a link to the home's parent, and a home that is itself a symlink
    (tmp_path / "link-to-parent").symlink_to(tmp_path / "var" / "home")
    (tmp_path / "me-link").symlink_to(real_home)
    return {"home": tmp_path / "home" / "me", "real": real_home, "top": tmp_path}


BAD_BASES: dict[str, Callable[[dict[str, Path]], str]] = {
    "root": lambda h: "/",
    "double slash": lambda h: "//",
    "dot dot to root": lambda h: "/tmp/../..",
    "quoted tilde": lambda h: "'~'",
    "tilde slash": lambda h: "~/",
    "home through ..": lambda h: "~/runs/..",
    "home, real path": lambda h: str(h["real"]),
    "home's parent": lambda h: str(h["top"] / "home"),
    "home's real parent": lambda h: str(h["top"] / "var" / "home"),
    "symlink to home's parent": lambda h: str(h["top"] / "link-to-parent"),
    "ancestor of home": lambda h: str(h["top"]),
    "relative ..": lambda h: "../../..",
}


@pytest.mark.parametrize("kind", ["dirs", "json"])
@pytest.mark.parametrize("case", list(BAD_BASES))
def test_config_check_refuses_unsafe_bases_with_file_and_line(
    homes: dict[str, Path], kind: str, case: str
) -> None:
    cfg = homes["real"] / "conf" / "sesstui.yml"  # relative bases resolve from here
    cfg.parent.mkdir()
    base = BAD_BASES[case](homes)
    cfg.write_text(f"backends:\n  - name: runs\n    kind: {kind}\n\n    base: {base}\n")
    r = run_cli("--config", str(cfg), "config", "check", env={"HOME": str(homes["home"])})
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{cfg}:5: backends[0].base: refusing base directory:" in r.stderr


def test_config_check_accepts_a_folder_in_a_symlinked_home(homes: dict[str, Path]) -> None:
    cfg = homes["real"] / "sesstui.yml"
    cfg.write_text(
        "backends:\n  - {name: runs, kind: dirs, base: ~/runs, create_base: true}\n"
        f"  - {{name: agents, kind: json, base: {homes['top'] / 'me-link' / 'agents'}}}\n"
    )
    r = run_cli("--config", str(cfg), "config", "check", env={"HOME": str(homes["home"])})
    assert r.returncode == 0, r.stderr


def test_home_that_is_itself_a_symlink_is_refused(
    homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(homes["top"] / "me-link"))
    for base in (homes["real"], homes["real"].parent, homes["top"] / "me-link"):
        with pytest.raises(ConfigError, match="refusing base directory") as err:
            SessionDir(base)
        assert err.value.key == "base_directory"
        with pytest.raises(UnsafeOperation, match="refusing base directory"):
            FileSessionStore(base)
        with pytest.raises(UnsafeOperation, match="refusing to prune"):
            backend(base).plan_prune()
    SessionDir(homes["real"] / "runs")  # a folder inside it is fine
    FileSessionStore(homes["real"] / "agents")


@pytest.mark.parametrize("base", ["/", "//", "/tmp/.."])
def test_producer_refuses_the_root_when_built(base: str) -> None:
    with pytest.raises(ConfigError, match="is the filesystem root") as err:
        SessionDir(base)
    assert "base_directory" in str(err.value)
    with pytest.raises(UnsafeOperation, match="is the filesystem root"):
        FileSessionStore(base)
