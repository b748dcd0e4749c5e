"""The dirs backend against real directories: listing, logs, prune safety."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.dirs.backend import LOCK_NAME, DirsBackend
from core.dirs.naming import ParsedName
from core.dirs.producer import SessionDir
from core.errors import ActionFailed, BackendUnavailable, LockBusy, SessionNotFound, UnsafeOperation
from core.inventory import Inventory
from core.locks import exclusive_lock
from core.model import HealthStatus, PruneReason, State, same_listing
from tests.conftest import needs_root
from tests.helpers import as_nobody, dirs_config, live_process, make_session

_cleanups: list[Path] = []


def request_cleanup(path: Path) -> None:
    _cleanups.append(path)


@pytest.fixture(autouse=True)
def _cleanup_dirs() -> object:
    yield
    while _cleanups:
        shutil.rmtree(_cleanups.pop(), ignore_errors=True)


def backend(base: Path, **kw: object) -> DirsBackend:
    return DirsBackend(dirs_config(base, **kw))  # type: ignore[arg-type]


# -- listing ---------------------------------------------------------------


def test_lists_session_dirs_with_created_from_name_and_state(tmp_path: Path) -> None:
    old = make_session(tmp_path, age=timedelta(days=3))
    proc = live_process()
    try:
        live = make_session(tmp_path, pid=proc.pid)
        (tmp_path / "notes.txt").write_text("not a session")
        (tmp_path / "session_garbage").mkdir()
        sessions = {s.id: s for s in backend(tmp_path).list_sessions()}
    finally:
        proc.kill()
        proc.wait()
    assert set(sessions) == {old.name, live.name}
    assert sessions[old.name].state is State.IDLE
    assert sessions[live.name].state is State.ACTIVE
    # created comes from the name (local time), to the second
    created = sessions[old.name].created
    assert created is not None
    assert created.strftime("%Y-%m-%d-%H-%M-%S") in old.name
    assert sessions[live.name].pid == proc.pid
    assert sessions[old.name].path == str(old)


def test_a_listing_with_no_change_hands_out_the_same_rows(tmp_path: Path) -> None:
    """What the dashboard's refresh relies on to compare nothing (same_listing): a session
    whose directory mtime, live pid and measured size are unchanged is the very row object
    of the last listing; a change in any of them makes a new row for that session only."""
    a = make_session(tmp_path, age=timedelta(days=3))
    c = make_session(tmp_path, age=timedelta(days=2))
    proc = live_process()
    try:
        b = make_session(tmp_path, pid=proc.pid)
        be = backend(tmp_path)
        first = be.list_sessions()
        second = be.list_sessions()
        assert [s.id for s in first] == [b.name, c.name, a.name]
        assert same_listing(first, second)

        sizes = dict(be.measure([s.id for s in first]))
        measured = {s.id: s for s in be.list_sessions()}
        assert all(measured[k].size == sizes[k] for k in sizes)  # new rows: sizes came in
        assert all(measured[s.id] is not s for s in first)
        again = dict(be.measure(list(sizes)))
        assert all(again[k] is sizes[k] for k in sizes)  # unchanged: the scanner's objects
        assert same_listing(list(measured.values()), be.list_sessions())

        (a / "logs" / "more.log").write_text("grown\n")
        os.utime(c, (1_000_000_000, 1_000_000_000))  # only c's directory mtime
        dict(be.measure(list(sizes)))
        proc.kill()
        proc.wait()
        now = {s.id: s for s in be.list_sessions()}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert now[a.name] is not measured[a.name]
    grown, was = now[a.name].size, measured[a.name].size
    assert grown is not None and was is not None
    assert grown.apparent == was.apparent + len("grown\n")
    assert now[b.name].state is State.IDLE and measured[b.name].state is State.ACTIVE
    assert now[c.name] is not measured[c.name]
    assert now[c.name].size == measured[c.name].size

    gone, new = c, make_session(tmp_path, age=timedelta(days=1))
    shutil.rmtree(gone)
    later = {s.id: s for s in be.list_sessions()}
    assert set(later) == {a.name, b.name, new.name}
    assert later[a.name] is now[a.name] and later[b.name] is now[b.name]


def test_a_pid_found_dead_is_not_checked_again_until_its_directory_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pid counts only for a process started before the session's bound (its name's stamp
    or its mtime, the later): found dead after that bound, no process can take it in time.
    A live pid, and a dead one whose bound is still ahead (a stamp from a zone ahead of
    ours), are checked at every listing."""
    checked: list[str] = []
    real = DirsBackend._live

    def counting(parsed: ParsedName, bound: float) -> bool:
        checked.append(parsed.uuid)
        return real(parsed, bound)

    monkeypatch.setattr(DirsBackend, "_live", staticmethod(counting))
    dead = make_session(tmp_path, age=timedelta(days=3))
    ahead = make_session(tmp_path, now=datetime.now() + timedelta(hours=3))
    proc = live_process()
    try:
        live = make_session(tmp_path, pid=proc.pid)
        be = backend(tmp_path)
        ids = {p.name.rpartition("_")[2]: p for p in (dead, ahead, live)}  # uuid -> dir
        be.list_sessions()
        assert sorted(checked) == sorted(ids)
        checked.clear()
        states = {s.id: s.state for s in be.list_sessions()}
        assert sorted(ids[k].name for k in checked) == sorted([ahead.name, live.name])
        assert states[dead.name] is State.IDLE and states[live.name] is State.ACTIVE
        checked.clear()
        os.utime(dead)  # a new mtime: a new bound, checked again
        be.list_sessions()
        assert sorted(ids[k].name for k in checked) == sorted([dead.name, ahead.name, live.name])
    finally:
        proc.kill()
        proc.wait()


def test_recycled_pid_does_not_make_an_old_session_active(tmp_path: Path) -> None:
    # our own pid is alive, but it started after this "creating process" did
    s = make_session(tmp_path, pid=os.getpid(), age=timedelta(days=400))
    (listed,) = backend(tmp_path).list_sessions()
    assert listed.id == s.name
    assert listed.state is State.IDLE


def test_symlinked_session_dir_is_not_listed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    real = make_session(outside)
    base = tmp_path / "base"
    base.mkdir()
    (base / real.name).symlink_to(real)
    assert backend(base).list_sessions() == []


def test_missing_base_is_unavailable_with_advice(tmp_path: Path) -> None:
    b = backend(tmp_path / "nope")
    with pytest.raises(BackendUnavailable) as e:
        b.list_sessions()
    assert "does not exist" in e.value.message
    assert "create_base: true" in e.value.message


def test_create_base_makes_the_folder(tmp_path: Path) -> None:
    b = backend(tmp_path / "a" / "b", create_base=True)
    assert b.list_sessions() == []
    assert (tmp_path / "a" / "b").is_dir()


def test_base_that_is_a_file_is_unavailable(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(BackendUnavailable, match="not a directory"):
        backend(f).list_sessions()


@needs_root("dropping to another user")
def test_unreadable_base_names_the_path(tmp_path: Path) -> None:
    # a world-traversable parent, so only the base itself is private
    parent = Path(tempfile.mkdtemp(prefix="sesstui-perm-"))
    parent.chmod(0o755)
    base = parent / "private"
    make_session(base)
    base.chmod(0o700)
    request_cleanup(parent)

    def attempt() -> str:
        try:
            backend(base).list_sessions()
        except BackendUnavailable as e:
            return e.message
        return "listed"

    message = as_nobody(attempt)
    assert "permission denied" in message
    assert str(base) in message
    # a private parent: the message points at the parent, not "does not exist"
    base.chmod(0o755)
    parent.chmod(0o700)
    message = as_nobody(attempt)
    assert "permission denied on a parent folder" in message


def test_inventory_degrades_one_backend_not_the_app(tmp_path: Path) -> None:
    good = tmp_path / "good"
    make_session(good)
    inv = Inventory([backend(good, name="good"), backend(tmp_path / "missing", name="bad")])
    snap = inv.refresh()
    health = {h.backend: h for h in snap.health}
    assert health["good"].status is HealthStatus.OK
    assert health["good"].sessions == 1
    assert health["bad"].status is HealthStatus.UNAVAILABLE
    assert "does not exist" in health["bad"].reason
    assert health["bad"].endpoint == str(tmp_path / "missing")
    assert len(snap.sessions) == 1


# -- sizes and logs -----------------------------------------------------------


def test_measure_counts_bytes_and_links_only_as_links(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 1_000_000)
    base = tmp_path / "base"
    s = make_session(base, files={"logs/app.log": "a" * 1000, "data/x.bin": b"y" * 5000})
    (s / "escape").symlink_to(big)
    ((sid, size),) = list(backend(base).measure([s.name]))
    assert sid == s.name
    # same accounting as du: directories and the link itself, never its target
    du_b = subprocess.run(["du", "-b", "-s", str(s)], capture_output=True, text=True, check=True)
    assert size.apparent == int(du_b.stdout.split()[0])
    assert size.apparent < 1_000_000
    assert size.files == 2
    du = subprocess.run(["du", "-B1", "-s", str(s)], capture_output=True, text=True, check=True)
    assert size.disk == int(du.stdout.split()[0])


def test_logs_newest_first_and_tail(tmp_path: Path) -> None:
    s = make_session(
        tmp_path,
        files={"logs/app.log": "one\ntwo\nthree\n", "worker.log": "w\n", "notes.txt": "n"},
        age=timedelta(hours=1),
    )
    os.utime(s / "worker.log", None)  # now: the newest log
    b = backend(tmp_path)
    names = [src.name for src in b.logs(s.name)]
    assert names == ["worker.log", "logs/app.log"]
    stream = b.tail(s.name, lines=2, source="logs/app.log")
    try:
        assert [ln.text for ln in stream] == ["two", "three"]
    finally:
        stream.close()
    with pytest.raises(SessionNotFound, match=r"it has: worker\.log, logs/app\.log"):
        b.tail(s.name, source="nope.log")


def test_session_without_logs_says_so(tmp_path: Path) -> None:
    s = make_session(tmp_path, files={"out.txt": "x"})
    with pytest.raises(ActionFailed, match=r"no log files matching \*\.log"):
        backend(tmp_path).tail(s.name)


def test_symlinked_log_pointing_outside_is_not_offered(tmp_path: Path) -> None:
    secret = tmp_path / "secret.log"
    secret.write_text("secret\n")
    base = tmp_path / "base"
    s = make_session(base, files={"logs/app.log": "ok\n"})
    (s / "logs" / "evil.log").symlink_to(secret)
    assert [src.name for src in backend(base).logs(s.name)] == ["logs/app.log"]


def test_unknown_session_id_is_not_found(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with pytest.raises(SessionNotFound):
        b.get("../etc")
    with pytest.raises(SessionNotFound):
        b.get("session_2020-01-01-00-00-00_1_" + "0" * 32)


# -- prune --------------------------------------------------------------------


def test_prune_plan_matches_the_producer_api_selection(tmp_path: Path) -> None:
    """The dashboard prunes exactly what the session library would prune."""
    for days in (30, 20, 12, 5, 4, 3, 2, 1):
        make_session(tmp_path, age=timedelta(days=days))
    b = backend(tmp_path, max_sessions=6, max_age_days=10)
    plan = b.plan_prune()
    library = SessionDir(tmp_path, max_session_dirs=6, max_age_days=10).plan_prune()
    assert [(e.id, e.reason) for e in plan.entries] == [(p.name, r) for p, r in library]
    reasons = [e.reason for e in plan.entries]
    assert reasons == [PruneReason.COUNT, PruneReason.COUNT, PruneReason.AGE]
    assert all(e.bytes is not None and e.bytes > 0 for e in plan.entries)


def test_prune_removes_exactly_the_plan(tmp_path: Path) -> None:
    olds = [make_session(tmp_path, age=timedelta(days=d)) for d in (40, 30)]
    keep = make_session(tmp_path, age=timedelta(days=1))
    stray = tmp_path / "session_not_a_real_name"
    stray.mkdir()
    os.utime(stray, (0, 0))
    b = backend(tmp_path, max_sessions=-1, max_age_days=10)
    plan = b.plan_prune()
    assert {e.id for e in plan.entries} == {p.name for p in olds}
    assert [s.id for s in plan.skipped] == [stray.name]
    result = b.prune(plan)
    assert result.ok
    assert result.freed_bytes == plan.total_bytes
    assert not any(p.exists() for p in olds)
    assert keep.exists()
    assert stray.exists()


def test_active_session_is_never_pruned_unless_forced(tmp_path: Path) -> None:
    proc = live_process()
    try:
        live = make_session(tmp_path, pid=proc.pid, age=timedelta(seconds=0))
        os.utime(live, (1, 1))  # very old by mtime: the age rule selects it
        b = backend(tmp_path, max_sessions=-1, max_age_days=1)
        plan = b.plan_prune()
        assert plan.entries == ()
        assert "active" in plan.skipped[0].why
        forced = b.plan_prune(force=True)
        assert [e.id for e in forced.entries] == [live.name]
        # a plan made with force is still refused at execution without force
        result = b.prune(forced)
        assert not result.ok
        assert live.exists()
        assert b.prune(forced, force=True).ok
        assert not live.exists()
    finally:
        proc.kill()
        proc.wait()


def test_symlink_inside_session_is_removed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep me")
    base = tmp_path / "base"
    s = make_session(base, age=timedelta(days=50))
    (s / "link-to-precious").symlink_to(outside)
    (s / "file-link").symlink_to(outside / "keep.txt")
    os.utime(s, (1, 1))  # adding the links made it new again
    b = backend(base, max_sessions=-1, max_age_days=1)
    assert b.prune(b.plan_prune()).ok
    assert not s.exists()
    assert (outside / "keep.txt").read_text() == "keep me"


@pytest.mark.parametrize("make_base", ["root", "symlink", "home"])
def test_unsafe_bases_are_refused(
    tmp_path: Path, make_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if make_base == "root":
        base = Path("/")
    elif make_base == "symlink":
        real = tmp_path / "real"
        make_session(real, age=timedelta(days=99))
        base = tmp_path / "link"
        base.symlink_to(real)
    else:
        monkeypatch.setenv("HOME", str(tmp_path))
        base = tmp_path
    with pytest.raises(UnsafeOperation):
        backend(base, max_sessions=0).plan_prune()


@needs_root("mounting a tmpfs")
def test_session_on_another_filesystem_is_kept(tmp_path: Path) -> None:
    s = make_session(tmp_path, age=timedelta(days=50))
    mnt = s / "scratch"
    mnt.mkdir()
    os.utime(s, (1, 1))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        (mnt / "data").write_text("on another filesystem")
        b = backend(tmp_path, max_sessions=-1, max_age_days=1)
        plan = b.plan_prune()
        assert plan.entries == ()
        assert plan.skipped[0].why == "holds a mount point"
        # even a forced plan built by hand is refused at execution time
        forced = b.plan_prune(force=True)
        assert forced.entries == ()
        assert (mnt / "data").read_text() == "on another filesystem"
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_two_pruners_at_once_the_second_is_told(tmp_path: Path) -> None:
    make_session(tmp_path, age=timedelta(days=50))
    b = backend(tmp_path, max_sessions=-1, max_age_days=1)
    plan = b.plan_prune()
    with exclusive_lock(tmp_path / LOCK_NAME), pytest.raises(LockBusy) as e:
        b.prune(plan)
    assert f"pid {os.getpid()}" in e.value.message
    assert len(plan.entries) == 1
    assert Path(plan.entries[0].path or "").exists()  # nothing touched
    assert b.prune(plan).ok  # and it works once the lock is free


def test_entry_that_changed_since_the_plan_is_left_alone(tmp_path: Path) -> None:
    s = make_session(tmp_path, age=timedelta(days=50))
    b = backend(tmp_path, max_sessions=-1, max_age_days=1)
    plan = b.plan_prune()
    # between plan and act, the directory is replaced by a symlink elsewhere
    target = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    target.mkdir()
    (target / "x").write_text("x")
    os.rename(s, tmp_path / "moved")
    s.symlink_to(target)
    result = b.prune(plan)
    assert not result.ok
    assert "left alone" in result.failed[0].error
    assert (target / "x").exists()


def test_plan_delete_and_json_shape(tmp_path: Path) -> None:
    s = make_session(tmp_path)
    b = backend(tmp_path)
    plan = b.plan_delete([s.name])
    assert [(e.id, e.reason) for e in plan.entries] == [(s.name, PruneReason.REQUESTED)]
    assert b.prune(plan).ok
    assert not s.exists()
    json.dumps([e.id for e in plan.entries])  # ids are plain strings


def test_producer_in_another_time_zone_stays_active(tmp_path: Path) -> None:
    """A name stamped in a zone west of ours looks older than the process that
    made it; the directory's mtime keeps the session active."""
    proc = live_process()
    try:
        s = make_session(tmp_path, pid=proc.pid, now=datetime.now() - timedelta(hours=9))
        os.utime(s, None)  # made just now, whatever the name's clock said
        (listed,) = backend(tmp_path).list_sessions()
        assert listed.state is State.ACTIVE
        b = backend(tmp_path, max_sessions=0)
        assert b.plan_prune().entries == ()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("hours", [9, -5, 5.5, 14, -12])
def test_name_stamped_in_another_zone_shows_the_directorys_age(
    tmp_path: Path, hours: float
) -> None:
    """A stamp ``hours`` ahead of (or behind) the real local time, on a
    directory whose own mtime says it was made an hour ago: the age shown is
    an hour, not an hour plus the zone gap."""
    made = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    name_clock = made + timedelta(hours=hours)
    s = make_session(tmp_path, now=name_clock)
    os.utime(s, (made.timestamp() + 0.4, made.timestamp() + 0.4))
    (listed,) = backend(tmp_path).list_sessions()
    assert listed.created is not None
    assert listed.created.timestamp() == made.timestamp(), "off by the zones' difference"


def test_an_old_stamp_on_a_directory_written_since_is_trusted(tmp_path: Path) -> None:
    # made 3 days ago (same zone), a file added to it 70 minutes ago: the name
    # is right, the mtime only says it was written since
    made = datetime.now().replace(microsecond=0) - timedelta(days=3)
    s = make_session(tmp_path, now=made)
    touched = datetime.now().timestamp() - 70 * 60 - 7.5
    os.utime(s, (touched, touched))
    (listed,) = backend(tmp_path).list_sessions()
    assert listed.created is not None
    assert listed.created.timestamp() == made.timestamp()


def test_one_backend_failing_to_plan_does_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "good"
    old = make_session(good, age=timedelta(days=50))
    inv = Inventory(
        [backend(good, name="good", max_sessions=0), backend(tmp_path / "gone", name="gone")]
    )
    plans = inv.plan_prune()
    by = {p.backend: p for p in plans}
    assert "does not exist" in by["gone"].error
    assert [e.id for e in by["good"].entries] == [old.name]
    results = inv.execute(plans)
    assert [r.backend for r in results] == ["good"] and results[0].ok
    assert not old.exists()
