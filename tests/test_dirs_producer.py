"""The producer API for session directories (core.dirs.producer / retention).

Real directories under tmp_path, the real environment (monkeypatch.setenv),
real log files; mtimes are set with os.utime.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from core.dirs.naming import parse_name
from core.dirs.producer import (
    ActiveSession,
    LogConfig,
    SessionDir,
    SessionHandler,
    WorkDir,
    WorkDirMissing,
    forget_loaded_env_files,
    parse_dotenv,
)
from core.dirs.retention import Candidate, list_candidates, select_for_prune
from core.errors import ConfigError
from core.model import PruneReason
from tests.helpers import as_nobody

DAY = 86400.0
NOW = 1_700_000_000.0
COUNT = PruneReason.COUNT
AGE = PruneReason.AGE


# --------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SESSION_* variables from the outer environment, cwd in tmp_path
    (monkeypatch restores it), and the root logger put back afterwards."""
    for var in list(os.environ):
        if "SESSION_DIR_" in var or "SESSION_LOG_" in var:
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    forget_loaded_env_files()  # .env files earlier tests loaded are seen by later objects
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    forget_loaded_env_files()
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def make_dir(base: Path, name: str, age_days: float, now: float | None = None) -> Path:
    """A directory ``base/name`` whose own mtime is ``age_days`` before now."""
    path = base / name
    path.mkdir(parents=True)
    t = (time.time() if now is None else now) - age_days * DAY
    os.utime(path, (t, t))
    return path


def cand(name: str, age_days: float) -> Candidate:
    return Candidate(Path("/base") / name, name, NOW - age_days * DAY)


def names(selected: list[tuple[Candidate, PruneReason]]) -> list[tuple[str, PruneReason]]:
    return [(c.name, r) for c, r in selected]


def root_state() -> tuple[int, int]:
    root = logging.getLogger()
    return len(root.handlers), root.level


# --------------------------------------------------------------------------
# names


def test_create_makes_a_named_dir_with_own_pid(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path / "runs")
    before = datetime.now().replace(microsecond=0)
    path = sd.create()
    after = datetime.now()
    assert path.is_dir()
    assert path.parent == tmp_path / "runs"
    assert sd.path == path
    parsed = parse_name(path.name)
    assert parsed is not None
    assert parsed.prefix == "session_"
    assert parsed.pid == os.getpid()
    assert re.fullmatch(r"[0-9a-f]{32}", parsed.uuid)
    assert parsed.created is not None
    assert before <= parsed.created <= after
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", parsed.timestamp)


def test_two_creates_in_the_same_second_differ(tmp_path: Path) -> None:
    # a year-only stamp makes "the same second" certain
    sd = SessionDir(tmp_path, timestamp_format="%Y")
    first, second = sd.create(), sd.create()
    assert first != second
    assert first.is_dir()
    assert second.is_dir()
    assert sd.path == second
    p1, p2 = parse_name(first.name, "session_", "%Y"), parse_name(second.name, "session_", "%Y")
    assert p1 is not None
    assert p2 is not None
    assert p1.timestamp == p2.timestamp
    assert p1.uuid != p2.uuid


def test_create_makes_missing_base_with_parents(tmp_path: Path) -> None:
    base = tmp_path / "a" / "b" / "c"
    path = SessionDir(base).create()
    assert path.parent == base
    assert path.is_dir()


def test_custom_prefix_and_format_are_used(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, prefix="run-", timestamp_format="%Y%m%d")
    path = sd.create()
    parsed = parse_name(path.name, "run-", "%Y%m%d")
    assert parsed is not None
    assert parsed.timestamp == datetime.now().strftime("%Y%m%d")


def test_relative_base_is_fixed_when_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = SessionDir("runs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = sd.create()
    assert path.parent == tmp_path / "runs"
    assert not (elsewhere / "runs").exists()


@pytest.mark.parametrize("fmt", ["%Y/%m", ""])
def test_timestamp_format_that_breaks_names_is_refused(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(ConfigError, match="timestamp_format"):
        SessionDir(tmp_path, timestamp_format=fmt)


@pytest.mark.parametrize("prefix", ["", "a/b", ".."])
def test_unsafe_prefix_is_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        SessionDir(tmp_path, prefix=prefix)


# --------------------------------------------------------------------------
# configuration resolution


def test_session_dir_defaults(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path)
    assert sd.prefix == "session_"
    assert sd.timestamp_format == "%Y-%m-%d-%H-%M-%S"
    assert sd.max_session_dirs == 20
    assert sd.max_age_days == 10.0


def test_environment_beats_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_DIR_PREFIX", "job_")
    monkeypatch.setenv("SESSION_DIR_TIMESTAMP_FORMAT", "%Y%m%d")
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "5")
    monkeypatch.setenv("SESSION_DIR_MAX_AGE_DAYS", "2.5")
    sd = SessionDir(tmp_path)
    assert (sd.prefix, sd.timestamp_format) == ("job_", "%Y%m%d")
    assert (sd.max_session_dirs, sd.max_age_days) == (5, 2.5)
    assert sd.create().name.startswith("job_")


def test_arguments_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_DIR_PREFIX", "job_")
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "5")
    monkeypatch.setenv("SESSION_DIR_MAX_AGE_DAYS", "2")
    sd = SessionDir(tmp_path, prefix="arg_", max_session_dirs=-1, max_age_days=0)
    assert (sd.prefix, sd.max_session_dirs, sd.max_age_days) == ("arg_", -1, 0.0)


def test_env_prefix_selects_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "5")
    monkeypatch.setenv("MYAPP_SESSION_DIR_MAX_SESSION_DIRS", "7")
    monkeypatch.setenv("MYAPP_SESSION_LOG_LEVEL", "error")
    monkeypatch.setenv("SESSION_LOG_LEVEL", "debug")
    assert SessionDir(tmp_path, env_prefix="MYAPP_").max_session_dirs == 7
    assert SessionDir(tmp_path).max_session_dirs == 5
    assert LogConfig(env_prefix="MYAPP_").level == "error"
    assert LogConfig().level == "debug"


def test_dotenv_between_environment_and_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# settings\n"
        "export APP_SESSION_DIR_PREFIX='dot_'\n"
        'APP_SESSION_DIR_MAX_SESSION_DIRS="3"\n'
        "APP_SESSION_DIR_MAX_AGE_DAYS=4  # days\n"
        "APP_SESSION_LOG_LEVEL=' info '\n"
    )
    sd = SessionDir(tmp_path, env_prefix="APP_", env_file=env_file)
    assert (sd.prefix, sd.max_session_dirs, sd.max_age_days) == ("dot_", 3, 4.0)
    assert LogConfig(env_prefix="APP_", env_file=env_file).level == "info"
    # a real environment variable beats the file, an argument beats both
    monkeypatch.setenv("APP_SESSION_DIR_MAX_SESSION_DIRS", "8")
    sd = SessionDir(tmp_path, env_prefix="APP_", env_file=env_file, prefix="arg_")
    assert (sd.prefix, sd.max_session_dirs, sd.max_age_days) == ("arg_", 8, 4.0)


def test_dotenv_does_not_touch_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SESSION_DIR_MAX_SESSION_DIRS=3\n")
    assert SessionDir(tmp_path, env_file=env_file).max_session_dirs == 3
    assert "SESSION_DIR_MAX_SESSION_DIRS" not in os.environ


def test_a_dotenv_one_object_loaded_is_seen_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vcti-session loads env_file into os.environ, so objects built later
    # without an env_file see its values; so do ours, without changing os.environ
    first = tmp_path / "first.env"
    first.write_text("SESSION_DIR_MAX_SESSION_DIRS=3\nSESSION_LOG_LEVEL=trace\n")
    second = tmp_path / "second.env"
    second.write_text("SESSION_DIR_MAX_SESSION_DIRS=4\n")
    assert SessionDir(tmp_path).max_session_dirs == 20
    assert SessionDir(tmp_path, env_file=first).max_session_dirs == 3
    assert SessionDir(tmp_path).max_session_dirs == 3
    assert LogConfig().level == "trace"  # one group's object loads it for the others too
    # an object's own file beats an earlier one; the real environment beats both
    assert SessionDir(tmp_path, env_file=second).max_session_dirs == 4
    assert SessionDir(tmp_path).max_session_dirs == 3  # the first file loaded keeps its value
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "9")
    assert SessionDir(tmp_path, env_file=second).max_session_dirs == 9
    monkeypatch.delenv("SESSION_DIR_MAX_SESSION_DIRS")
    # an error from a remembered value names the file it came from
    bad = tmp_path / "bad.env"
    bad.write_text("\nSESSION_DIR_MAX_AGE_DAYS=soon\n")
    forget_loaded_env_files()
    with pytest.raises(ConfigError):
        SessionDir(tmp_path, env_file=bad)
    with pytest.raises(ConfigError, match=rf"{re.escape(str(bad))}:2: SESSION_DIR_MAX_AGE_DAYS"):
        SessionDir(tmp_path)
    forget_loaded_env_files()
    assert SessionDir(tmp_path).max_age_days == 10.0
    assert "SESSION_DIR_MAX_SESSION_DIRS" not in os.environ


def test_environment_values_are_stripped_and_blank_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_DIR_PREFIX", "  job_ ")
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "   ")
    monkeypatch.setenv("SESSION_LOG_FILE_PATH", " logs/app.log\t")
    monkeypatch.setenv("SESSION_LOG_LEVEL", " \t")
    sd = SessionDir(tmp_path)
    assert (sd.prefix, sd.max_session_dirs) == ("job_", 20)
    cfg = LogConfig()
    assert (cfg.file_path, cfg.level) == (Path("logs/app.log"), "info")
    env_file = tmp_path / ".env"
    env_file.write_text("SESSION_DIR_MAX_SESSION_DIRS=' 6 '\nSESSION_LOG_LEVEL='  '\n")
    # a blank environment value falls through to the .env file, a blank .env value to the default
    assert SessionDir(tmp_path, env_file=env_file).max_session_dirs == 6
    assert LogConfig(env_file=env_file).level == "info"


def test_env_prefix_none_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "5")
    monkeypatch.setenv("SESSION_LOG_LEVEL", "error")
    sd = SessionDir(tmp_path, env_prefix=None)
    assert (sd.env_prefix, sd.max_session_dirs) == (None, 5)
    assert SessionDir(tmp_path).env_prefix is None
    assert LogConfig(env_prefix=None).level == "error"
    with pytest.raises(ConfigError, match="env_prefix"):
        SessionDir(tmp_path, env_prefix=3)  # type: ignore[arg-type]


def test_empty_environment_value_counts_as_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SESSION_DIR_MAX_SESSION_DIRS=3\n")
    monkeypatch.setenv("SESSION_DIR_MAX_SESSION_DIRS", "")
    assert SessionDir(tmp_path, env_file=env_file).max_session_dirs == 3
    forget_loaded_env_files()
    assert SessionDir(tmp_path).max_session_dirs == 20


def test_missing_env_file_is_ignored(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, env_file=tmp_path / "nope.env")
    assert sd.max_session_dirs == 20


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SESSION_DIR_MAX_SESSION_DIRS", "many"),
        ("SESSION_DIR_MAX_SESSION_DIRS", "-2"),
        ("SESSION_DIR_MAX_SESSION_DIRS", "2.5"),
        ("SESSION_DIR_MAX_AGE_DAYS", "soon"),
        ("SESSION_DIR_MAX_AGE_DAYS", "nan"),
        ("SESSION_DIR_PREFIX", "a/b"),
    ],
)
def test_bad_dir_env_value_names_variable_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv("X_" + var, value)
    with pytest.raises(ConfigError) as info:
        SessionDir(tmp_path, env_prefix="X_")
    assert info.value.key == "X_" + var
    assert "X_" + var in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SESSION_LOG_LEVEL", "loud"),
        ("SESSION_LOG_CONSOLE_ENABLED", "maybe"),
        ("SESSION_LOG_COLOR_ENABLED", "2"),
        ("SESSION_LOG_MESSAGE_FORMAT", "no fields here"),
    ],
)
def test_bad_log_env_value_names_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        LogConfig()
    assert var in str(info.value)
    assert repr(value) in str(info.value)


def test_bad_dotenv_value_names_file_and_line(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\n\nSESSION_DIR_MAX_AGE_DAYS=ten\n")
    with pytest.raises(ConfigError) as info:
        SessionDir(tmp_path, env_file=env_file)
    assert info.value.file == str(env_file)
    assert info.value.line == 3
    assert f"{env_file}:3: SESSION_DIR_MAX_AGE_DAYS" in str(info.value)


def test_bad_arguments_name_the_argument(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_session_dirs"):
        SessionDir(tmp_path, max_session_dirs=-5)
    with pytest.raises(ConfigError, match=r"level: .*'loud'"):
        LogConfig(level="loud")
    with pytest.raises(ConfigError, match="default_level"):
        LogConfig(default_level="loud")


@pytest.mark.parametrize(
    ("level", "number"),
    [
        ("notset", 0),
        ("trace", 5),
        ("debug", 10),
        ("verbose", 15),
        ("info", 20),
        ("warning", 30),
        ("error", 40),
        ("fatal", 50),
    ],
)
def test_vcti_level_names_are_accepted(
    monkeypatch: pytest.MonkeyPatch, level: str, number: int
) -> None:
    assert LogConfig(level=level).level_number == number
    monkeypatch.setenv("SESSION_LOG_LEVEL", f" {level} ")
    assert LogConfig().level == level


@pytest.mark.parametrize(
    ("level", "hint"),
    [
        ("critical", "calls it 'fatal'"),
        ("INFO", "write 'info'"),
        ("Debug", "write 'debug'"),
        ("warn", "write 'warning'"),
        ("loud", "got 'loud'"),
    ],
)
def test_what_vcti_refuses_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, level: str, hint: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(hint)) as info:
        LogConfig(level=level)
    assert "notset, trace, debug, verbose, info, warning, error, fatal" in str(info.value)
    monkeypatch.setenv("SESSION_LOG_LEVEL", level)
    with pytest.raises(ConfigError, match="SESSION_LOG_LEVEL"):
        LogConfig()


def test_trace_and_verbose_records_are_written_with_their_names(tmp_path: Path) -> None:
    cfg = LogConfig(file_path="t.log", level="trace", message_format="%(levelname)s %(message)s")
    cfg.apply(tmp_path)
    log = logging.getLogger("lvl.test")
    log.log(5, "fine grained")
    log.log(15, "a bit more")
    log.log(4, "below trace")
    cfg.remove()
    lines = (tmp_path / "t.log").read_text().splitlines()
    assert [x for x in lines if x.startswith(("TRACE", "VERBOSE", "Level"))] == [
        "TRACE fine grained",
        "VERBOSE a bit more",
    ]
    assert not any("below trace" in x for x in lines)


@pytest.mark.parametrize(
    ("preset", "line"),
    [
        ("minimal", "hello\n"),
        ("standard", "WARNING:     hello\n"),
        ("detailed", "WARNING: {path}:{lineno}   hello\n"),
    ],
)
def test_vcti_message_format_presets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset: str, line: str
) -> None:
    monkeypatch.setenv("SESSION_LOG_MESSAGE_FORMAT", preset)
    cfg = LogConfig(file_path="p.log")
    assert cfg.message_format == preset
    cfg.apply(tmp_path)
    lineno = sys._getframe().f_lineno + 1
    logging.getLogger("preset.test").warning("hello")
    cfg.remove()
    assert (tmp_path / "p.log").read_text() == line.format(path=__file__, lineno=lineno)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("On", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
    ],
)
def test_boolean_words(monkeypatch: pytest.MonkeyPatch, text: str, expected: bool) -> None:
    monkeypatch.setenv("SESSION_LOG_CONSOLE_ENABLED", text)
    monkeypatch.setenv("SESSION_LOG_COLOR_ENABLED", text)
    cfg = LogConfig()
    assert cfg.console_enabled is expected
    assert cfg.color_enabled is expected


def test_log_config_defaults_and_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = LogConfig()
    assert (cfg.file_path, cfg.level, cfg.console_enabled, cfg.color_enabled) == (
        None,
        "info",  # vcti-session's default
        False,
        False,
    )
    assert cfg.message_format is None
    cfg = LogConfig(default_file_path="logs/app.log", default_level="error")
    assert (cfg.file_path, cfg.level) == (Path("logs/app.log"), "error")
    monkeypatch.setenv("SESSION_LOG_FILE_PATH", "env.log")
    monkeypatch.setenv("SESSION_LOG_LEVEL", "error")
    cfg = LogConfig(default_file_path="logs/app.log", default_level="info")
    assert (cfg.file_path, cfg.level) == (Path("env.log"), "error")
    cfg = LogConfig(file_path="arg.log", level="debug", console_enabled=False)
    assert (cfg.file_path, cfg.level, cfg.level_number) == (Path("arg.log"), "debug", 10)


def test_parse_dotenv_syntax() -> None:
    text = (
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = padded  \n"
        "INLINE=kept # dropped\n"
        "HASH=#ff0000\n"
        "SINGLE='lit\\n # eral'\n"
        'DOUBLE="a\\tb\\n\\"q\\""\n'
        'MULTI="line1\n'
        'line2"\n'
        "EMPTY=\n"
        "not a setting\n"
        "PLAIN=again\n"
    )
    assert parse_dotenv(text) == {
        "PLAIN": "again",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "INLINE": "kept",
        "HASH": "#ff0000",
        "SINGLE": "lit\\n # eral",
        "DOUBLE": 'a\tb\n"q"',
        "MULTI": "line1\nline2",
        "EMPTY": "",
    }


def test_parse_dotenv_skips_bad_lines_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="core.dirs")
    assert parse_dotenv("1BAD=x\nOPEN='never closed\nGOOD=1\n") == {"GOOD": "1"}
    assert "<string>:1" in caplog.text
    assert "<string>:2: unterminated quote" in caplog.text


# --------------------------------------------------------------------------
# retention rule


def test_count_rule_selects_the_oldest_surplus() -> None:
    cands = [cand("c", 1), cand("a", 3), cand("e", 0), cand("b", 2), cand("d", 0.5)]
    assert names(select_for_prune(cands, 3, -1, NOW)) == [("a", COUNT), ("b", COUNT)]


def test_count_rule_first_then_age_over_the_rest() -> None:
    cands = [cand("a", 30), cand("b", 20), cand("c", 12), cand("d", 11), cand("e", 1)]
    # count keeps 3 (c, d, e) after removing a, b; age then removes c and d
    assert names(select_for_prune(cands, 3, 10, NOW)) == [
        ("a", COUNT),
        ("b", COUNT),
        ("c", AGE),
        ("d", AGE),
    ]


def test_minus_one_is_unlimited() -> None:
    cands = [cand(f"s{i}", 100 + i) for i in range(50)]
    assert select_for_prune(cands, -1, -1, NOW) == []
    assert len(select_for_prune(cands, -1, 10, NOW)) == 50
    assert {r for _, r in select_for_prune(cands, -1, 10, NOW)} == {AGE}
    assert len(select_for_prune(cands, 10, -1, NOW)) == 40


def test_exactly_at_the_limits_is_kept() -> None:
    cands = [cand("a", 10), cand("b", 5), cand("c", 1)]
    assert select_for_prune(cands, 3, 10, NOW) == []
    older = [*cands[1:], Candidate(Path("/base/a"), "a", NOW - 10 * DAY - 1)]
    assert names(select_for_prune(older, 3, 10, NOW)) == [("a", AGE)]


def test_zero_max_dirs_selects_everything_by_count() -> None:
    cands = [cand("a", 1), cand("b", 2)]
    assert names(select_for_prune(cands, 0, 0, NOW)) == [("b", COUNT), ("a", COUNT)]


def test_mtime_ties_break_by_name_whatever_the_input_order() -> None:
    same = NOW - DAY
    forward = [Candidate(Path(f"/b/{n}"), n, same) for n in ("x", "m", "a")]
    for order in (forward, list(reversed(forward))):
        assert names(select_for_prune(order, 1, -1, NOW)) == [("a", COUNT), ("m", COUNT)]


def test_age_result_is_oldest_first() -> None:
    cands = [cand("new-but-old", 11), cand("oldest", 40), cand("middle", 20)]
    assert [c.name for c, _ in select_for_prune(cands, -1, 10, NOW)] == [
        "oldest",
        "middle",
        "new-but-old",
    ]


def test_list_candidates_only_prefixed_real_directories(tmp_path: Path) -> None:
    base = tmp_path / "base"
    keep = make_dir(base, "session_a", 3)
    make_dir(base, "other_b", 50)
    (base / "session_file").write_text("not a dir")
    target = make_dir(tmp_path, "outside", 50)
    (base / "session_link").symlink_to(target, target_is_directory=True)
    found = list_candidates(base, "session_")
    assert [c.name for c in found] == ["session_a"]
    assert found[0].path == keep
    assert found[0].mtime == keep.stat().st_mtime
    assert list_candidates(tmp_path / "missing", "session_") == []


def test_candidate_mtime_is_the_dirs_own_not_its_files(tmp_path: Path) -> None:
    path = make_dir(tmp_path, "session_x", 5)
    sub = path / "sub"
    sub.mkdir()
    old = time.time() - 5 * DAY
    os.utime(path, (old, old))
    (sub / "fresh.log").write_text("new")  # changes sub's mtime, not path's
    (found,) = list_candidates(tmp_path, "session_")
    assert found.mtime == pytest.approx(old)


# --------------------------------------------------------------------------
# SessionDir prune


def test_prune_counts_but_keeps_the_current_session(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=3, max_age_days=-1)
    olds = [make_dir(tmp_path, f"session_old{i}", 5 - i) for i in range(3)]
    current = sd.create()
    # the current session counts: 4 dirs, limit 3 -> only the oldest goes
    assert sd.plan_prune() == [(olds[0], COUNT)]
    assert sd.prune() == [olds[0]]
    # (the shared prune lock file stays; it never matches the session pattern)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".sesstui-prune.lock") == sorted(
        [olds[1].name, olds[2].name, current.name]
    )


def test_current_session_is_never_pruned_even_when_oldest(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=2, max_age_days=1)
    current = sd.create()
    ancient = time.time() - 100 * DAY
    os.utime(current, (ancient, ancient))
    young = [make_dir(tmp_path, f"session_y{i}", 0) for i in range(2)]
    assert sd.plan_prune() == []  # current is selected by COUNT, skipped, no substitute
    assert sd.prune() == []
    assert current.is_dir()
    assert all(p.is_dir() for p in young)


def test_plan_prune_exclude_argument(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=0, max_age_days=-1)
    a = make_dir(tmp_path, "session_a", 2)
    b = make_dir(tmp_path, "session_b", 1)
    assert sd.plan_prune() == [(a, COUNT), (b, COUNT)]
    assert sd.plan_prune(exclude=a) == [(b, COUNT)]
    # the same directory named through another spelling is still excluded
    assert sd.plan_prune(exclude=tmp_path / "." / "session_b") == [(a, COUNT)]


def test_prune_age_rule_and_untouchables(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=-1, max_age_days=10)
    old = make_dir(tmp_path, "session_old", 11)
    (old / "deep" / "er").mkdir(parents=True)
    (old / "deep" / "er" / "f.log").write_text("x")
    eleven_days = time.time() - 11 * DAY  # filling it moved its mtime: set it again
    os.utime(old, (eleven_days, eleven_days))
    fresh = make_dir(tmp_path, "session_fresh", 9)
    foreign = make_dir(tmp_path, "other_old", 99)
    stray = tmp_path / "session_file"
    stray.write_text("x")
    os.utime(stray, (0, 0))
    outside = make_dir(tmp_path / "elsewhere", "session_target", 99)
    link = tmp_path / "session_link"
    link.symlink_to(outside, target_is_directory=True)
    os.utime(link, (0, 0), follow_symlinks=False)
    assert sd.plan_prune() == [(old, AGE)]
    assert sd.prune() == [old]
    assert not old.exists()
    assert fresh.is_dir()
    assert foreign.is_dir()
    assert stray.is_file()
    assert link.is_symlink()
    assert outside.is_dir()


def test_prune_does_not_follow_symlinks_inside_a_session(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path / "base", max_session_dirs=0)
    victim = make_dir(tmp_path / "base", "session_v", 1)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (victim / "link").symlink_to(precious, target_is_directory=True)
    assert sd.prune() == [victim]
    assert (precious / "keep.txt").read_text() == "keep"


def test_prune_failure_is_a_warning() -> None:
    # root ignores modes, so the prune runs as `nobody` in a forked child, on a
    # tree that nobody owns, inside a world-traversable temp folder
    top = Path(tempfile.mkdtemp(prefix="sesstui-prune-perm-"))
    try:
        top.chmod(0o755)
        base = top / "runs"
        base.mkdir()
        stuck = make_dir(base, "session_stuck", 2)
        (stuck / "inner").mkdir()
        (stuck / "inner" / "f").write_text("x")
        free = make_dir(base, "session_free", 1)
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(base):
                names: list[Path] = [Path(root), *(Path(root) / n for n in [*dirs, *files])]
                for n in names:
                    os.chown(n, 65534, 65534)
        (stuck / "inner").chmod(0o500)

        def prune() -> tuple[list[Path], list[str]]:
            messages: list[str] = []

            class Collect(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    messages.append(record.getMessage())

            logger = logging.getLogger("core.dirs")
            logger.addHandler(Collect(logging.WARNING))
            return SessionDir(base, max_session_dirs=0).prune(), messages

        removed, messages = as_nobody(prune) if os.geteuid() == 0 else prune()
        assert removed == [free]
        assert stuck.is_dir()
        assert any("could not remove" in m for m in messages)
    finally:
        for root, dirs, _ in os.walk(top):
            for d in dirs:
                (Path(root) / d).chmod(0o700)
        shutil.rmtree(top, ignore_errors=True)


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
# logging


def test_relative_log_path_lands_in_session_dir(tmp_path: Path) -> None:
    handler = SessionHandler(
        SessionDir(tmp_path / "runs"), LogConfig(file_path="logs/app.log", level="info")
    )
    with handler.session_context() as session:
        logging.getLogger("myapp").info("hello from the session")
        logging.getLogger("myapp").debug("too chatty")
    log = session.path / "logs" / "app.log"
    text = log.read_text()
    assert "hello from the session" in text
    assert "INFO" in text
    assert "too chatty" not in text
    assert not (tmp_path / "logs").exists()


def test_absolute_log_path_is_used_as_is(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "abs.log"
    handler = SessionHandler(SessionDir(tmp_path / "runs"), LogConfig(file_path=target))
    with handler.session_context() as session:
        logging.getLogger("myapp").warning("absolute line")
    assert "absolute line" in target.read_text()
    assert list(session.path.iterdir()) == []


def test_no_log_config_makes_no_log_files(tmp_path: Path) -> None:
    before = root_state()
    handler = SessionHandler(SessionDir(tmp_path / "runs"))
    with handler.session_context() as session:
        logging.getLogger("myapp").warning("nowhere to go")
        assert root_state() == before
    assert list(session.path.iterdir()) == []


def test_handlers_and_root_level_restored(tmp_path: Path) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    before = root_state()
    cfg = LogConfig(file_path="a.log", console_enabled=True, level="debug")
    handler = SessionHandler(SessionDir(tmp_path / "runs"), cfg)
    with handler.session_context():
        during = root_state()
    assert during == (before[0] + 2, logging.DEBUG)
    assert root_state() == before


def test_hook_warnings_and_prune_notes_reach_the_session_log(tmp_path: Path) -> None:
    old = make_dir(tmp_path / "runs", "session_old", 30)

    def boom(_p: Path) -> None:
        raise RuntimeError("bad hook")

    handler = SessionHandler(
        SessionDir(tmp_path / "runs"),
        LogConfig(file_path="app.log", level="info"),
        on_session_created=boom,
    )
    with handler.session_context() as session:
        pass
    text = (session.path / "app.log").read_text()
    assert "on_session_created hook" in text
    assert "RuntimeError: bad hook" in text
    assert f"removed {old}" in text


def test_console_logging_with_and_without_colour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = LogConfig(console_enabled=True, message_format="%(levelname)s|%(message)s")
    handlers = plain.apply(tmp_path)
    logging.getLogger("myapp").warning("plain words")
    plain.remove()
    err = capsys.readouterr().err
    assert "WARNING|plain words" in err
    assert "\x1b[" not in err
    assert handlers
    assert all(h not in logging.getLogger().handlers for h in handlers)

    colour = LogConfig(console_enabled=True, color_enabled=True, message_format="{message}")
    colour.apply(tmp_path)
    logging.getLogger("myapp").warning("yellow")
    logging.getLogger("myapp").error("red")
    colour.remove()
    err = capsys.readouterr().err
    assert "\x1b[33myellow\x1b[0m" in err
    assert "\x1b[31mred\x1b[0m" in err


def test_apply_returns_handlers_and_remove_closes_them(tmp_path: Path) -> None:
    before = root_state()
    cfg = LogConfig(file_path="x/y.log")
    handlers = cfg.apply(tmp_path)
    assert len(handlers) == 1
    file_handler = handlers[0]
    assert isinstance(file_handler, logging.FileHandler)
    assert Path(file_handler.baseFilename) == tmp_path / "x" / "y.log"
    assert file_handler in logging.getLogger().handlers
    cfg.remove()
    assert file_handler.stream is None  # closed
    assert root_state() == before
    assert LogConfig().apply(tmp_path) == []  # nothing configured, nothing added


def test_unopenable_log_file_is_a_config_error_and_cleans_up(tmp_path: Path) -> None:
    start = Path.cwd()
    before = root_state()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    handler = SessionHandler(
        SessionDir(tmp_path / "runs"),
        LogConfig(file_path=blocker / "app.log", console_enabled=True),
    )
    with pytest.raises(ConfigError, match="cannot open log file"), handler.session_context():
        pytest.fail("the body must not run")
    assert Path.cwd() == start
    assert root_state() == before


def test_message_format_goes_to_the_file(tmp_path: Path) -> None:
    cfg = LogConfig(file_path="f.log", message_format="%(levelname)s|%(name)s|%(message)s")
    with WorkDir(tmp_path / "w", cfg, create_if_missing=True).work_context() as wd:
        logging.getLogger("fmt.test").error("formatted")
    assert (wd.directory / "f.log").read_text() == "ERROR|fmt.test|formatted\n"


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
