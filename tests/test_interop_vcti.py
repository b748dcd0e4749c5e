"""vcti-session interop with the REAL package (its own Python >= 3.12 venv,
see tests/peers.py): what vcti makes sesstui lists and prunes, what core makes
vcti reads; the same inputs give the same prune set; settings resolve alike
(levels, presets, stripped environment values, .env files); a stamp written
in another time zone does not skew the age; the one deliberate difference
(a live process's session is never pruned by core).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.dirs.backend import DirsBackend
from core.dirs.naming import parse_name
from core.dirs.producer import (
    LogConfig,
    SessionDir,
    SessionHandler,
    forget_loaded_env_files,
)
from core.errors import ConfigError
from core.model import Session, State
from tests.helpers import DEAD_PID, dirs_config, live_process, make_session, unavailable
from tests.peers import run_peer

DAY = 86400.0
VCTI = "vcti.session"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in list(os.environ):
        if "SESSION_DIR_" in var or "SESSION_LOG_" in var:
            monkeypatch.delenv(var)
    forget_loaded_env_files()
    yield
    forget_loaded_env_files()


def vcti(code: str, cwd: Path, **env: str) -> object:
    return run_peer(VCTI, code, cwd=cwd, env=env)


def listed(base: Path) -> dict[str, Session]:
    b = DirsBackend(dirs_config(base))
    return {s.id: s for s in b.list_sessions()}


# -- both ways ----------------------------------------------------------------------


def test_sessions_vcti_makes_are_listed_with_logs_and_pruned_by_core(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    made = vcti(
        f"""
        import json, logging
        from vcti.session import SessionDir, SessionHandler, LogConfig
        paths = []
        for i in range(3):
            h = SessionHandler(
                SessionDir({str(base)!r}, max_session_dirs=-1),
                # "logs/app.log" fails in vcti-session 1.0.1: it opens the file
                # before making its folder (docs/interop.md)
                LogConfig(file_path="app.log", level="verbose"),
                change_directory=False,
            )
            with h.session_context() as s:
                logging.getLogger("vcti.app").info("run %d", i)
                paths.append(str(s.path))
        print(json.dumps(paths))
        """,
        tmp_path,
    )
    assert isinstance(made, list) and len(made) == 3
    sessions = listed(base)
    assert sorted(sessions) == sorted(Path(p).name for p in made)
    for p in made:
        s = sessions[Path(p).name]
        assert s.state is State.IDLE  # its process has ended
        assert "run" in (Path(p) / "app.log").read_text()
        b = DirsBackend(dirs_config(base))
        assert [str(src.path) for src in b.logs(s.id)] == [str(Path(p) / "app.log")]
    # core's prune with vcti's rule: keep the newest one
    sd = SessionDir(base, max_session_dirs=1, max_age_days=-1)
    newest = max(made, key=lambda p: Path(p).stat().st_mtime)
    assert sorted(map(str, sd.prune_old_directories())) == sorted(set(made) - {newest})


def test_sessions_core_makes_are_vcti_candidates_and_pruned_by_vcti(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    paths = []
    for i in range(3):
        with SessionHandler(
            SessionDir(base, max_session_dirs=-1),
            LogConfig(file_path="logs/app.log"),
            change_directory=False,
        ) as h:
            assert h.path is not None
            os.utime(h.path, (time.time() - (3 - i) * DAY,) * 2)
            paths.append(h.path)
    result = vcti(
        f"""
        import json
        from vcti.session import SessionDir
        sd = SessionDir({str(base)!r}, max_session_dirs=1, max_age_days=-1)
        planned = [str(p) for p in sd.get_directories_to_prune()]
        sd.prune_old_directories()
        print(json.dumps(planned))
        """,
        tmp_path,
    )
    assert result == [str(p) for p in paths[:2]]
    assert not paths[0].exists() and not paths[1].exists() and paths[2].is_dir()
    # the names core makes are the names vcti makes: prefix, stamp, pid, uuid4 hex
    parsed = parse_name(paths[2].name)
    assert parsed is not None and parsed.pid == os.getpid() and len(parsed.uuid) == 32


# -- the same inputs, the same prune set -----------------------------------------------


def _tree(base: Path) -> None:
    """Sessions at many ages, a prefixed folder outside the pattern, a file,
    a symlink and an unprefixed folder: what a real base holds."""
    now = time.time()
    for age in (0.5, 1.5, 3, 3.2, 6, 9.5, 10.5, 12, 40):
        path = make_session(base, pid=DEAD_PID)
        os.utime(path, (now - age * DAY,) * 2)
    manual = base / "session_manual"
    manual.mkdir()
    os.utime(manual, (now - 20 * DAY,) * 2)
    (base / "session_file.txt").write_text("not a directory")
    (base / "other").mkdir()


@pytest.mark.parametrize(
    ("max_dirs", "max_age"),
    [(20, 10), (5, 10), (3, -1), (-1, 5), (-1, -1), (0, -1), (2, 1), (4, 0)],
)
def test_the_same_inputs_give_vcti_and_core_the_same_prune_set(
    tmp_path: Path, max_dirs: int, max_age: int
) -> None:
    base = tmp_path / "runs"
    base.mkdir()
    _tree(base)
    theirs = vcti(
        f"""
        import json
        from vcti.session import SessionDir
        sd = SessionDir({str(base)!r}, max_session_dirs={max_dirs}, max_age_days={max_age})
        print(json.dumps([str(p) for p in sd.get_directories_to_prune()]))
        """,
        tmp_path,
    )
    ours = SessionDir(base, max_session_dirs=max_dirs, max_age_days=max_age)
    assert [str(p) for p in ours.get_directories_to_prune()] == theirs
    assert [str(p) for p in ours.prune_old_directories()] == theirs
    # the dashboard's pruner: the same set, minus what does not follow the pattern
    left = DirsBackend(dirs_config(base, max_sessions=max_dirs, max_age_days=max_age))
    assert left.plan_prune().entries == ()  # all of that set is gone already


def test_dashboard_plan_matches_vcti_on_pattern_names(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    base.mkdir()
    _tree(base)
    (base / "session_manual").rmdir()  # only names both read as sessions
    theirs = vcti(
        f"""
        import json
        from vcti.session import SessionDir
        sd = SessionDir({str(base)!r}, max_session_dirs=4, max_age_days=7)
        print(json.dumps([str(p) for p in sd.get_directories_to_prune()]))
        """,
        tmp_path,
    )
    plan = DirsBackend(dirs_config(base, max_sessions=4, max_age_days=7)).plan_prune()
    assert [e.path for e in plan.entries] == theirs


# -- max_session_dirs=0, and the deliberate difference ------------------------------------


def test_max_zero_keeps_nothing_in_both_but_core_spares_a_live_process(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    proc = live_process()
    try:
        live = make_session(base, pid=proc.pid)  # another program, still running
        code = f"""
            import json
            from vcti.session import SessionDir, SessionHandler
            sd = SessionDir({str(base)!r}, max_session_dirs=0)
            h = SessionHandler(sd, change_directory=False)
            with h.session_context() as s:
                ran = str(s.path)
            import os
            print(json.dumps([ran, sorted(os.listdir({str(base)!r}))]))
            """
        result = vcti(code, tmp_path)
        assert isinstance(result, list)
        ran, left = result
        # vcti deletes everything, the session that just ran and the live one too
        assert not Path(ran).exists() and left == []
        live = make_session(base, pid=proc.pid)
        with SessionHandler(SessionDir(base, max_session_dirs=0), change_directory=False) as h:
            mine = h.path
        assert mine is not None and not mine.exists()  # the session that just ran: gone
        assert live.is_dir()  # a live process's session: kept (docs/interop.md)
    finally:
        proc.kill()
        proc.wait()


# -- settings resolve alike ---------------------------------------------------------------

_RESOLVE = """
import json
from vcti.session import SessionDir, LogConfig
out = {}
try:
    sd = SessionDir(BASE, env_prefix=PREFIX, env_file=ENV_FILE)
    out["dir"] = [sd.prefix, sd.timestamp_format, sd.max_session_dirs, sd.max_age_days]
except Exception as e:
    out["dir"] = "refused"
try:
    lc = LogConfig(env_prefix=PREFIX, **LOG_ARGS)
    out["log"] = [None if lc.file_path is None else str(lc.file_path), lc.level,
                  lc.console_enabled, lc.color_enabled, lc.message_format]
except Exception as e:
    out["log"] = "refused"
try:
    nxt = LogConfig(env_prefix=PREFIX)
    out["next"] = [nxt.level, nxt.message_format]
except Exception as e:
    out["next"] = "refused"
print(json.dumps(out))
"""


def _core_resolve(
    base: Path, prefix: str | None, env_file: Path | None, log_args: dict[str, object]
) -> dict[str, object]:
    out: dict[str, object] = {}
    try:
        sd = SessionDir(base, env_prefix=prefix, env_file=env_file)
        days = sd.max_age_days
        out["dir"] = [
            sd.prefix,
            sd.timestamp_format,
            sd.max_session_dirs,
            int(days) if days == int(days) else days,
        ]
    except ConfigError:
        out["dir"] = "refused"
    try:
        lc = LogConfig(env_prefix=prefix, **log_args)  # type: ignore[arg-type]
        out["log"] = [
            None if lc.file_path is None else str(lc.file_path),
            lc.level,
            lc.console_enabled,
            lc.color_enabled,
            lc.message_format,
        ]
    except ConfigError:
        out["log"] = "refused"
    try:
        nxt = LogConfig(env_prefix=prefix)
        out["next"] = [nxt.level, nxt.message_format]
    except ConfigError:
        out["next"] = "refused"
    return out


SCENARIOS: dict[str, tuple[dict[str, str], str | None, str, dict[str, object]]] = {
    # name: (environment, env_prefix, .env text, LogConfig arguments)
    "defaults": ({}, None, "", {}),
    "stripped environment": (
        {
            "SESSION_DIR_PREFIX": "  job_ ",
            "SESSION_DIR_MAX_SESSION_DIRS": " 3 ",
            "SESSION_LOG_LEVEL": " trace ",
            "SESSION_LOG_FILE_PATH": " logs/a.log ",
            "SESSION_LOG_CONSOLE_ENABLED": " yes ",
        },
        None,
        "",
        {},
    ),
    "blank is unset": (
        {"SESSION_DIR_MAX_SESSION_DIRS": "   ", "SESSION_LOG_LEVEL": ""},
        None,
        "",
        {},
    ),
    "prefixed": (
        {"APP_SESSION_LOG_LEVEL": "fatal", "SESSION_LOG_LEVEL": "debug"},
        "APP_",
        "",
        {},
    ),
    "dotenv for this and the next object": (
        {},
        None,
        "SESSION_DIR_MAX_AGE_DAYS=4\nSESSION_LOG_LEVEL=verbose\nSESSION_LOG_MESSAGE_FORMAT=minimal\n",
        {},
    ),
    "presets": ({"SESSION_LOG_MESSAGE_FORMAT": "detailed"}, None, "", {}),
    "level zero": ({}, None, "", {"level": "notset"}),
    "critical is refused": ({}, None, "", {"level": "critical"}),
    "upper case is refused": ({}, None, "", {"level": "INFO"}),
    "upper case from the environment is refused": ({"SESSION_LOG_LEVEL": "WARNING"}, None, "", {}),
    "warn is refused": ({}, None, "", {"level": "warn"}),
    "a padded argument is refused": ({}, None, "", {"level": " info "}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_settings_resolve_as_in_vcti(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    env, prefix, dotenv, log_args = SCENARIOS[scenario]
    base = tmp_path / "runs"
    env_file: Path | None = None
    if dotenv:
        env_file = tmp_path / ".env"
        env_file.write_text(dotenv)
    code = (
        f"BASE = {str(base)!r}\nPREFIX = {prefix!r}\n"
        f"ENV_FILE = {None if env_file is None else str(env_file)!r}\n"
        f"LOG_ARGS = {log_args!r}\n" + _RESOLVE
    )
    theirs = vcti(code, tmp_path, **env)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    ours = _core_resolve(base, prefix, env_file, log_args)
    assert ours == theirs, json.dumps({"vcti": theirs, "core": ours}, indent=1)


# -- time zones -------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "Asia/Kolkata"])
def test_a_session_stamped_in_another_zone_shows_its_real_age(tmp_path: Path, zone: str) -> None:
    if not Path("/usr/share/zoneinfo", zone).exists():
        unavailable(f"no time zone data for {zone} (the tzdata package)")
    base = tmp_path / "runs"
    path = vcti(
        f"""
        import json
        from vcti.session import SessionDir, SessionHandler
        h = SessionHandler(SessionDir({str(base)!r}), change_directory=False)
        with h.session_context() as s:
            p = str(s.path)
        print(json.dumps(p))
        """,
        tmp_path,
        TZ=zone,
    )
    assert isinstance(path, str)
    (session,) = listed(base).values()
    assert session.created is not None
    # the stamp read in the producer's zone: not the zones' difference away
    parsed = parse_name(Path(path).name)
    assert parsed is not None and parsed.created is not None
    made = parsed.created.replace(tzinfo=ZoneInfo(zone))
    assert session.created == made
