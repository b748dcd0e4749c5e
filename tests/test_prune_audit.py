"""Rules of the prune engine and its guards that a deliberately broken line
slipped past (an audit of issue 10): each test here fails when that line is
removed.  Real directories, real processes, real mounts (as root).
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.dirs.engine import BaseView, refusal
from core.dirs.naming import parse_name
from core.dirs.producer import SessionDir, SessionHandler
from core.dirs.safety import check_base
from core.errors import UnsafeOperation
from tests.conftest import needs_root
from tests.helpers import dirs_config, live_process, make_session, run_cli, unavailable

OLD = timedelta(days=50)


def backend(base: Path) -> DirsBackend:
    return DirsBackend(dirs_config(base, max_sessions=-1, max_age_days=1))


@contextmanager
def mounted(*args: str) -> Iterator[None]:
    """``mount ARGS``, unmounted (lazily) afterwards; the last arg is the point."""
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"mount {' '.join(args)}: {proc.stderr.strip()}"
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", args[-1]], check=False)


def config_check(tmp_path: Path, base: Path | str, home: Path | str) -> tuple[int, str]:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - name: runs\n    kind: dirs\n    base: '{base}'\n")
    done = run_cli("--config", str(cfg), "config", "check", env={"HOME": str(home)})
    return done.returncode, done.stderr


# -- liveness is checked again right before the producer deletes ---------------------


def test_producer_keeps_a_session_that_became_active_after_planning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A session named with a live pid that started *after* the directory was
    made is a recycled pid (not active) when planned; when that process writes
    into the directory before the delete, it is its session now: kept."""
    caplog.set_level(logging.INFO, logger="core.dirs")
    proc = live_process()
    try:
        theirs = make_session(tmp_path, pid=proc.pid, age=OLD)
        touched: list[Path] = []

        def program_writes(dirs: list[Path]) -> None:
            assert dirs == [theirs]  # planned: not active then
            (theirs / "logs" / "new.log").write_text("still writing")
            os.utime(theirs)  # what the write does to the folder, to the second
            touched.append(theirs)

        handler = SessionHandler(
            SessionDir(tmp_path, max_session_dirs=-1, max_age_days=1),
            change_directory=False,
            on_before_prune=program_writes,
        )
        with handler.session_context():
            pass
        assert touched, "the hook did not run: nothing was planned"
        assert (theirs / "logs" / "new.log").read_text() == "still writing"
        assert f"active: pid {proc.pid} is running" in caplog.text
    finally:
        proc.kill()
        proc.wait()


# -- a base whose folder above was swapped for a link to the same directory ----------


def test_base_reached_by_another_path_since_planning_is_refused(tmp_path: Path) -> None:
    # the folder above the base is moved and a symlink put in its place: the
    # base is still the same directory (device, inode) but no longer the path
    # that was planned, which the README promises is refused as well
    base = tmp_path / "area" / "runs"
    s = make_session(base, age=OLD)
    b = backend(base)
    plan = b.plan_prune()
    assert [e.id for e in plan.entries] == [s.name]
    (tmp_path / "area").rename(tmp_path / "area-moved")
    (tmp_path / "area").symlink_to(tmp_path / "area-moved", target_is_directory=True)
    with pytest.raises(UnsafeOperation, match="not the directory that was planned"):
        b.prune(plan, force=True)
    assert (tmp_path / "area-moved" / "runs" / s.name / "logs" / "app.log").is_file()


# -- another filesystem, without a mount table ---------------------------------------


@needs_root("mounting a tmpfs")
def test_a_session_that_is_itself_a_mount_is_refused_by_its_device(tmp_path: Path) -> None:
    """Where the mount table cannot be read (not Linux, no /proc), the device
    number alone keeps a session directory that is another filesystem."""
    s = make_session(tmp_path, age=OLD)
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(s)):
        (s / "data").write_text("on another filesystem")
        no_mount_table = BaseView(tmp_path, check_base(tmp_path), (), os.path.realpath(tmp_path))
        assert refusal(no_mount_table, s, parse_name(s.name), force=True) == (
            "on another filesystem"
        )
        assert (s / "data").read_text() == "on another filesystem"


# -- the home directory, however it is reached ----------------------------------------


def test_the_account_databases_home_is_refused_when_HOME_says_otherwise(
    tmp_path: Path,
) -> None:
    """$HOME points elsewhere (sudo, a service): the home directory of the
    account is still never a base, nor an ancestor of it."""
    account_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    if not account_home.is_dir():
        unavailable(f"the account's home {account_home} does not exist")
    rc, err = config_check(tmp_path, account_home, tmp_path)
    assert rc == 2, err
    assert "is the home directory" in err


@needs_root("bind mounts")
def test_a_bind_mount_of_home_or_of_its_parent_is_refused(tmp_path: Path) -> None:
    """The same directory under another path (a bind mount) has another real
    path: compared as files, it is the home directory or contains it."""
    home = tmp_path / "users" / "me"
    home.mkdir(parents=True)
    (tmp_path / "home-bind").mkdir()
    (tmp_path / "users-bind").mkdir()
    with (
        mounted("--bind", str(home), str(tmp_path / "home-bind")),
        mounted("--bind", str(tmp_path / "users"), str(tmp_path / "users-bind")),
    ):
        rc, err = config_check(tmp_path, tmp_path / "home-bind", home)
        assert rc == 2 and "is the home directory" in err, err
        rc, err = config_check(tmp_path, tmp_path / "users-bind", home)
        assert rc == 2 and "contains the home directory" in err, err
        rc, err = config_check(tmp_path, tmp_path / "users-bind" / "me" / "runs", home)
        assert rc == 0, err  # a folder inside it is fine
    shutil.rmtree(tmp_path / "users")
