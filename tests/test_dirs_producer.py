"""The producer API for session directories (core.dirs.producer): SessionHandler's
lifecycle and hooks, and WorkDir.

Real directories under tmp_path, real log files; mtimes are set with os.utime.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pytest

from core.dirs.producer import (
    ActiveSession,
    LogConfig,
    SessionDir,
    SessionHandler,
    WorkDir,
    WorkDirMissing,
)
from core.errors import ConfigError
from tests.dirs_producer_helpers import (
    COUNT,
    DAY,
    clean_state,  # noqa: F401 - an autouse fixture
    make_dir,
    root_state,
)

# --------------------------------------------------------------------------
# SessionHandler lifecycle and hooks


def test_hooks_run_in_order_with_the_right_arguments(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    old = make_dir(base, "session_old", 30)
    events: list[tuple[object, ...]] = []
    start = Path.cwd()
    handler = SessionHandler(
        SessionDir(base, max_session_dirs=5, max_age_days=10),
        LogConfig(file_path="app.log"),
        on_session_created=lambda p: events.append(("created", p, Path.cwd())),
        on_session_exit=lambda p, e: events.append(("exit", p, e, Path.cwd())),
        on_before_prune=lambda dirs: events.append(
            ("before_prune", dirs, Path.cwd(), old.exists())
        ),
        on_session_error=lambda e: events.append(("error", e)),
    )
    with handler.session_context() as session:
        events.append(("body", session.path, Path.cwd()))
        assert isinstance(session, ActiveSession)
    p = session.path
    assert events == [
        ("created", p, p),
        ("body", p, p),
        ("exit", p, None, p),
        ("before_prune", [old], start, True),
    ]
    assert not old.exists()
    assert p.is_dir()
    assert Path.cwd() == start


def test_before_prune_not_called_when_nothing_to_prune(tmp_path: Path) -> None:
    calls: list[list[Path]] = []
    handler = SessionHandler(SessionDir(tmp_path), on_before_prune=calls.append)
    with handler.session_context():
        pass
    assert calls == []


def test_prune_on_exit_false_keeps_everything(tmp_path: Path) -> None:
    old = make_dir(tmp_path, "session_old", 30)
    handler = SessionHandler(SessionDir(tmp_path, max_age_days=1), prune_on_exit=False)
    with handler.session_context():
        pass
    assert old.is_dir()


def test_max_zero_keeps_nothing_not_even_the_session_that_just_ran(tmp_path: Path) -> None:
    # vcti-session prunes after the session ends, with it as a candidate
    seen: list[list[Path]] = []
    handler = SessionHandler(SessionDir(tmp_path, max_session_dirs=0), on_before_prune=seen.append)
    others = [make_dir(tmp_path, f"session_o{i}", i + 1) for i in range(3)]
    with handler.session_context() as session:
        assert handler.path == session.path
        # while it runs, it is protected from any prune in this process
        assert session.path not in handler.session_dir.get_directories_to_prune()
    assert handler.path is None
    assert not session.path.exists()
    assert not any(o.exists() for o in others)
    assert seen == [[*others[::-1], session.path]]


def test_the_session_that_just_ran_stays_with_a_positive_limit(tmp_path: Path) -> None:
    handler = SessionHandler(SessionDir(tmp_path, max_session_dirs=1))
    old = make_dir(tmp_path, "session_old", 1)
    with handler as h:
        assert h is handler
        current = h.path
        assert current is not None and current.is_dir()
    assert handler.path is None
    assert current.is_dir()
    assert not old.exists()


def test_max_zero_never_deletes_a_session_of_another_live_process(tmp_path: Path) -> None:
    # a live pid (ours is alive, but pid 1 is someone else's) keeps its session
    init_dir = tmp_path / f"session_2020-01-01-00-00-00_1_{'a' * 32}"
    init_dir.mkdir()
    t = time.time()
    os.utime(init_dir, (t, t))
    sd = SessionDir(tmp_path, max_session_dirs=0, max_age_days=-1)
    assert sd.get_directories_to_prune() == []
    with SessionHandler(sd) as h:
        ran = h.path
    assert init_dir.is_dir()
    assert ran is not None and not ran.exists()


def test_vcti_prune_names_on_session_dir(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=1, max_age_days=-1)
    a = make_dir(tmp_path, "session_a", 3)
    b = make_dir(tmp_path, "session_b", 2)
    made = sd.create()
    # as vcti-session: the directory create() made is a candidate like any other
    assert sd.get_directories_to_prune() == [a, b]
    assert sd.plan_prune() == [(a, COUNT), (b, COUNT)]
    old = time.time() - 10 * DAY
    os.utime(made, (old, old))
    assert sd.get_directories_to_prune() == [made, a]
    assert sd.plan_prune() == [(a, COUNT)]  # sesstui's own prune() still spares path
    assert sd.prune_old_directories() == [made, a]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("session_")] == ["session_b"]


def test_create_session_and_prune_old_sessions_without_a_with_block(tmp_path: Path) -> None:
    seen: list[list[Path]] = []
    handler = SessionHandler(
        SessionDir(tmp_path, max_session_dirs=0),
        LogConfig(file_path="logs/app.log"),
        on_before_prune=seen.append,
    )
    old = make_dir(tmp_path, "session_old", 2)
    first = handler.create_session()
    assert handler.path == first
    logging.getLogger("standalone").info("in the first")
    assert handler.prune_old_sessions() == [old]  # the open session is never pruned
    assert seen == [[old]]
    second = handler.create_session()  # closes the first: its log handler goes
    logging.getLogger("standalone").info("in the second")
    assert "in the second" not in (first / "logs" / "app.log").read_text()
    assert handler.prune_old_sessions() == [first]
    assert handler.path == second and second.is_dir()


def test_with_handler_does_not_nest_and_logs_to_the_session(tmp_path: Path) -> None:
    handler = SessionHandler(SessionDir(tmp_path / "runs"), LogConfig(file_path="app.log"))
    with handler:
        path = handler.path
        assert path is not None
        assert Path.cwd() == path
        logging.getLogger("w").info("inside with")
        with pytest.raises(RuntimeError, match="does not nest"), handler:
            pass
    assert "inside with" in (path / "app.log").read_text()
    with pytest.raises(ValueError, match="boom"), handler:
        raise ValueError("boom")
    assert handler.path is None
    with pytest.raises(TypeError, match="SessionDir"):
        SessionHandler(tmp_path)  # type: ignore[arg-type]


def test_dir_swapped_for_a_symlink_after_planning_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    base = tmp_path / "runs"
    swapped = make_dir(base, "session_swapped", 30)
    other = make_dir(base, "session_other", 20)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")

    def swap(dirs: list[Path]) -> None:
        # between planning and deleting, a planned directory becomes a symlink
        assert dirs == [swapped, other]
        swapped.rmdir()
        swapped.symlink_to(precious, target_is_directory=True)

    handler = SessionHandler(SessionDir(base, max_age_days=10), on_before_prune=swap)
    with handler.session_context():
        pass
    assert swapped.is_symlink()
    assert (precious / "keep.txt").read_text() == "keep"
    assert not other.exists()
    assert "no longer a directory" in caplog.text


def test_sessions_still_open_on_a_shared_session_dir_are_protected(tmp_path: Path) -> None:
    # one handler used by two threads at once, here nested: the inner exit
    # prunes with max 0, and the older outer session must survive it
    handler = SessionHandler(SessionDir(tmp_path, max_session_dirs=0), change_directory=False)
    with handler.session_context() as outer:
        old = time.time() - 5 * DAY
        os.utime(outer.path, (old, old))
        with handler.session_context() as inner:
            pass
        assert outer.path.is_dir()  # still open: protected, though the oldest
        assert not inner.path.exists()  # finished: max 0 keeps nothing
    assert not outer.path.exists()  # and the outer one goes at its own exit


def test_raising_hooks_are_warnings_and_the_session_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    old = make_dir(tmp_path, "session_old", 30)

    def boom(*_args: object) -> None:
        raise RuntimeError("hook broke")

    ran: list[str] = []
    handler = SessionHandler(
        SessionDir(tmp_path, max_age_days=10),
        on_session_created=boom,
        on_session_exit=boom,
        on_before_prune=boom,
        on_session_error=boom,
    )
    with handler.session_context():
        ran.append("body")
    assert ran == ["body"]
    assert not old.exists()  # prune still happened after the failing before_prune hook
    warnings = [r for r in caplog.records if r.name == "core.dirs" and r.levelno == logging.WARNING]
    hooks = sorted(r.getMessage().split()[0] for r in warnings)
    assert hooks == ["on_before_prune", "on_session_created", "on_session_exit"]
    assert all(r.exc_info is not None for r in warnings)


def test_body_exception_reaches_hooks_and_propagates(tmp_path: Path) -> None:
    start = Path.cwd()
    before = root_state()
    seen: list[tuple[str, object]] = []
    old = make_dir(tmp_path / "runs", "session_old", 30)
    handler = SessionHandler(
        SessionDir(tmp_path / "runs"),
        LogConfig(file_path="logs/app.log"),
        on_session_error=lambda e: seen.append(("error", e)),
        on_session_exit=lambda p, e: seen.append(("exit", e)),
    )
    boom = ValueError("body failed")
    with (
        pytest.raises(ValueError, match="body failed") as info,
        handler.session_context() as session,
    ):
        assert Path.cwd() == session.path
        raise boom
    assert info.value is boom
    assert seen == [("error", boom), ("exit", boom)]
    assert Path.cwd() == start
    assert root_state() == before
    assert not old.exists()  # still pruned after an error


def test_raising_error_hook_does_not_hide_the_body_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")

    def bad_hook(_exc: Exception) -> None:
        raise KeyError("from hook")

    handler = SessionHandler(SessionDir(tmp_path), on_session_error=bad_hook)
    with pytest.raises(ZeroDivisionError), handler.session_context():
        _ = 1 / 0
    assert "on_session_error hook" in caplog.text


def test_system_exit_is_not_an_error_for_the_hooks(tmp_path: Path) -> None:
    start = Path.cwd()
    seen: list[object] = []
    handler = SessionHandler(
        SessionDir(tmp_path),
        on_session_error=lambda e: seen.append(("error", e)),
        on_session_exit=lambda p, e: seen.append(("exit", e)),
    )
    with pytest.raises(SystemExit), handler.session_context():
        sys.exit(0)
    assert seen == [("exit", None)]
    assert Path.cwd() == start


def test_change_directory_false_leaves_cwd_alone(tmp_path: Path) -> None:
    start = Path.cwd()
    where: list[Path] = []
    handler = SessionHandler(
        SessionDir(tmp_path / "runs"),
        change_directory=False,
        on_session_created=lambda _p: where.append(Path.cwd()),
    )
    with handler.session_context() as session:
        where.append(Path.cwd())
        (session.path / "out.txt").write_text("ok")
    assert where == [start, start]
    assert Path.cwd() == start
    assert (session.path / "out.txt").read_text() == "ok"
    assert not (start / "out.txt").exists()


def test_relative_base_prunes_the_right_place_after_chdir(tmp_path: Path) -> None:
    old = make_dir(tmp_path / "runs", "session_old", 30)
    handler = SessionHandler(SessionDir("runs", max_age_days=1))
    with handler.session_context() as session:
        assert Path.cwd() == session.path
    assert session.path.parent == tmp_path / "runs"
    assert not old.exists()


# --------------------------------------------------------------------------
# WorkDir


def test_workdir_missing_without_create_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with (
        pytest.raises(ConfigError, match="create_if_missing") as info,
        WorkDir(missing, None, False).work_context(),  # vcti's positional order
    ):
        pytest.fail("the body must not run")
    assert str(missing) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)  # what vcti-session raises
    assert isinstance(info.value, WorkDirMissing)
    assert not missing.exists()


def test_workdir_vcti_shape(tmp_path: Path) -> None:
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    wd = WorkDir(str(link))  # create_if_missing defaults to True, as in vcti-session
    assert wd.directory == real  # absolute, symlinks resolved
    assert wd.path is None  # outside the context
    with wd as entered:
        assert entered is wd
        assert wd.path == real and Path.cwd() == real
        with pytest.raises(RuntimeError, match="does not nest"), wd:
            pass
    assert wd.path is None
    assert real.is_dir()
    assert "inactive" in repr(wd)


def test_workdir_create_if_missing_creates_and_enters(tmp_path: Path) -> None:
    start = Path.cwd()
    target = tmp_path / "a" / "b"
    with WorkDir(target, create_if_missing=True).work_context() as wd:
        assert wd.path == target.resolve()
        assert Path.cwd() == target
    assert target.is_dir()
    assert Path.cwd() == start


def test_workdir_existing_dir_needs_no_create(tmp_path: Path) -> None:
    target = tmp_path / "exists"
    target.mkdir()
    (target / "data.csv").write_text("1,2\n")
    with WorkDir(target).work_context():
        assert Path("data.csv").read_text() == "1,2\n"


def test_workdir_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("x")
    with (
        pytest.raises(ConfigError, match="not a directory"),
        WorkDir(path, create_if_missing=True).work_context(),
    ):
        pytest.fail("the body must not run")


def test_workdir_restores_cwd_and_handlers_after_exception(tmp_path: Path) -> None:
    start = Path.cwd()
    before = root_state()
    work = WorkDir(tmp_path / "w", LogConfig(file_path="w.log"), create_if_missing=True)
    with pytest.raises(RuntimeError, match="inside"), work.work_context():
        logging.getLogger("wd").warning("before the crash")
        raise RuntimeError("inside")
    assert Path.cwd() == start
    assert root_state() == before
    assert "before the crash" in (tmp_path / "w" / "w.log").read_text()


def test_workdir_change_directory_false(tmp_path: Path) -> None:
    start = Path.cwd()
    with WorkDir(tmp_path / "w", create_if_missing=True, change_directory=False).work_context():
        assert Path.cwd() == start
    assert (tmp_path / "w").is_dir()
