"""Settings and logging of the producer API (core.dirs.envsettings / logconfig):
argument > environment > .env > default, and LogConfig.

The real environment (monkeypatch.setenv), real .env and log files under tmp_path.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

import pytest

from core.dirs.producer import (
    LogConfig,
    SessionDir,
    SessionHandler,
    WorkDir,
    forget_loaded_env_files,
    parse_dotenv,
)
from core.errors import ConfigError
from tests.dirs_producer_helpers import (
    clean_state,  # noqa: F401 - an autouse fixture
    make_dir,
    root_state,
)

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
