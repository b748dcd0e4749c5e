"""The producer API: what an application uses to run inside a session directory.

Compatible with the vcti-session convention (see ``design.md`` §2), so the
directories an application makes here are the ones the dashboard lists, and
the other way round::

    from core.dirs.producer import LogConfig, SessionDir, SessionHandler

    handler = SessionHandler(
        SessionDir("/tmp/sessions", max_session_dirs=10),
        LogConfig(file_path="logs/app.log", level="info"),
        change_directory=False,  # threads / asyncio: never chdir
    )
    with handler.session_context() as session:
        (session.path / "result.json").write_text("{}")

* :class:`SessionDir` makes uniquely named directories under a base directory
  and prunes old ones (count rule, then age rule: :mod:`core.dirs.retention`).
* :class:`WorkDir` is a directory the user chose: no naming, no pruning.
* :class:`LogConfig` attaches file / console handlers to the root logger for the
  length of a session and takes them off again.
* :class:`SessionHandler` ties them together with optional lifecycle hooks.

Every setting resolves as: constructor argument > environment variable
(``{env_prefix}SESSION_DIR_*`` / ``{env_prefix}SESSION_LOG_*``) > ``.env`` file
> default.  Environment and ``.env`` values are stripped; one that is blank
counts as unset.  A ``.env`` file one object loaded is seen by the objects
built after it in this process (as with vcti-session, which loads it into
``os.environ``), below the real environment and the object's own ``env_file``;
the process environment itself is left alone.  A bad value raises
:class:`~core.errors.ConfigError` naming the argument or variable (and the
``.env`` file and line) and the value.

Internal operations log to the ``core.dirs`` logger.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, ParamSpec, TypeVar

from core.dirs import engine
from core.dirs.naming import (
    DEFAULT_PREFIX,
    DEFAULT_TIMESTAMP_FORMAT,
    ParsedName,
    make_name,
    parse_name,
)
from core.dirs.retention import list_candidates, select_for_prune
from core.dirs.safety import unsafe_base
from core.errors import ConfigError, LockBusy, SesstuiError
from core.model import PruneReason

__all__ = [
    "DEFAULT_FORMAT",
    "DEFAULT_LEVEL",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_SESSION_DIRS",
    "LOG_LEVELS",
    "MESSAGE_FORMAT_PRESETS",
    "ActiveSession",
    "BeforePruneHook",
    "CreatedHook",
    "ErrorHook",
    "ExitHook",
    "LogConfig",
    "SessionDir",
    "SessionHandler",
    "WorkDir",
    "WorkDirMissing",
    "forget_loaded_env_files",
    "parse_dotenv",
]

logger = logging.getLogger("core.dirs")

DEFAULT_MAX_SESSION_DIRS = 20
DEFAULT_MAX_AGE_DAYS = 10.0
DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

TRACE = 5
VERBOSE = 15

# vcti-session's level names, exactly (it refuses others, "critical" and upper
# case included): a value shared through the environment or a .env file must
# mean the same to both libraries
LOG_LEVELS: dict[str, int] = {
    "notset": logging.NOTSET,
    "trace": TRACE,
    "debug": logging.DEBUG,
    "verbose": VERBOSE,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.FATAL,
}
DEFAULT_LEVEL = "info"

# vcti-session's message format presets (its plain variants)
MESSAGE_FORMAT_PRESETS: dict[str, str] = {
    "minimal": "%(message)s",
    "standard": "%(levelname)s:     %(message)s",
    "detailed": "%(levelname)s: %(pathname)s:%(lineno)d   %(message)s",
}

CreatedHook = Callable[[Path], object]
"""``on_session_created(path)``: after the directory exists and logging is set up."""
ExitHook = Callable[[Path, Exception | None], object]
"""``on_session_exit(path, error)``: when the context exits, before pruning."""
BeforePruneHook = Callable[[list[Path]], object]
"""``on_before_prune(dirs)``: with the directories about to be deleted (never empty)."""
ErrorHook = Callable[[Exception], object]
"""``on_session_error(exc)``: when the body raised; the exception still propagates."""

_T = TypeVar("_T")
_P = ParamSpec("_P")


# --------------------------------------------------------------------------
# .env files


@dataclass(frozen=True, slots=True)
class _DotenvValue:
    value: str
    line: int


_DOTENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_DOUBLE_QUOTE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_INLINE_COMMENT = re.compile(r"\s#")


def _closing_quote(body: str, quote: str) -> int:
    """Index of the quote closing ``body`` (which follows the opening one), or -1."""
    if quote == "'":
        return body.find("'")
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i
        i += 1
    return -1


def _unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in _DOUBLE_QUOTE_ESCAPES:
            out.append(_DOUBLE_QUOTE_ESCAPES[value[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _parse_dotenv(text: str, source: str) -> dict[str, _DotenvValue]:
    """KEY=VALUE lines -> values with their line numbers.

    Supports ``export KEY=...``, ``#`` comment lines, inline comments after
    unquoted values (a ``#`` preceded by whitespace), single quotes (literal),
    double quotes (``\\n \\t \\r \\" \\\\`` escapes) and quoted values spanning
    lines.  No ``${VAR}`` interpolation.  Lines it cannot read are skipped with
    a warning: a ``.env`` file is often shared with other tools, and only our
    own keys matter here.
    """
    lines = text.splitlines()
    values: dict[str, _DotenvValue] = {}
    i = 0
    while i < len(lines):
        lineno = i + 1
        stripped = lines[i].strip()
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("export ", "export\t")):
            stripped = stripped[len("export") :].lstrip()
        key, sep, rest = stripped.partition("=")
        key = key.strip()
        if not sep or not _DOTENV_KEY.match(key):
            logger.warning("%s:%d: not a KEY=VALUE line, ignored", source, lineno)
            continue
        value_text = rest.lstrip()
        if value_text[:1] in ("'", '"'):
            quote = value_text[0]
            body = value_text[1:]
            end = _closing_quote(body, quote)
            j = i
            while end < 0 and j < len(lines):
                body += "\n" + lines[j]
                j += 1
                end = _closing_quote(body, quote)
            if end < 0:
                logger.warning("%s:%d: unterminated quote, line ignored", source, lineno)
                continue
            i = j
            tail = body[end + 1 :].strip()
            if tail and not tail.startswith("#"):
                logger.warning("%s:%d: text after the closing quote ignored", source, lineno)
            value = body[:end]
            if quote == '"':
                value = _unescape(value)
        else:
            m = _INLINE_COMMENT.search(rest)
            value = (rest[: m.start()] if m else rest).strip()
        values[key] = _DotenvValue(value, lineno)
    return values


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse the text of a ``.env`` file into a dict (see the rules above).

    Later assignments of a key win, as in a shell.
    """
    return {k: v.value for k, v in _parse_dotenv(text, "<string>").items()}


# Values of every .env file an object loaded in this process, first file first
# (vcti-session loads them into os.environ, so later objects see them; here
# they are kept apart, so the process environment and child processes are not
# changed).  The real environment and an object's own env_file come first.
_loaded_dotenv: dict[str, tuple[_DotenvValue, str]] = {}
_loaded_lock = threading.Lock()


def _remember_dotenv(values: dict[str, _DotenvValue], source: str) -> None:
    with _loaded_lock:
        for key, entry in values.items():
            # like a second load_dotenv: an earlier file's value stays
            _loaded_dotenv.setdefault(key, (entry, source))


def forget_loaded_env_files() -> None:
    """Forget the ``.env`` values earlier objects loaded (tests, long-lived apps)."""
    with _loaded_lock:
        _loaded_dotenv.clear()


def _load_dotenv(path: Path) -> dict[str, _DotenvValue]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        # the usual call passes ".env" unconditionally; a missing one is fine
        logger.debug("env file %s not found; ignored", path)
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read env file: {e}", file=str(path)) from e
    return _parse_dotenv(text, str(path))


# --------------------------------------------------------------------------
# value resolution: argument > environment > .env > default


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a setting came from, so an error can name it."""

    key: str
    file: str | None = None
    line: int | None = None

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line, key=self.key)


class _Sources:
    """The environment and an optional ``.env`` file for one settings group.

    The variable for a setting is ``{env_prefix}{group}{NAME}``, NAME being the
    argument's name in upper case (``max_age_days`` -> ``SESSION_DIR_MAX_AGE_DAYS``).
    """

    __slots__ = ("_file", "_file_values", "_prefix")

    def __init__(self, env_prefix: str | None, env_file: str | Path | None, group: str) -> None:
        if env_prefix is not None and not isinstance(env_prefix, str):
            raise ConfigError(f"expected a string or None, got {env_prefix!r}", key="env_prefix")
        self._prefix = (env_prefix or "") + group
        self._file = str(env_file) if env_file is not None else None
        self._file_values = _load_dotenv(Path(env_file)) if env_file is not None else {}
        if self._file is not None:
            _remember_dotenv(self._file_values, self._file)

    def variable(self, argname: str) -> str:
        """The environment variable behind the argument ``argname``."""
        return self._prefix + argname.upper()

    def lookup(self, argname: str) -> tuple[str, _Where] | None:
        """The stripped value of the setting's variable: environment, then this
        object's ``.env`` file, then one an earlier object loaded; blank = unset."""
        var = self.variable(argname)
        value = os.environ.get(var, "").strip()
        if value:
            return value, _Where(var)
        entry = self._file_values.get(var)
        if entry is not None and entry.value.strip():
            return entry.value.strip(), _Where(var, self._file, entry.line)
        with _loaded_lock:
            earlier = _loaded_dotenv.get(var)
        if earlier is not None and earlier[0].value.strip():
            return earlier[0].value.strip(), _Where(var, earlier[1], earlier[0].line)
        return None

    def resolve(
        self, argname: str, arg: object, convert: Callable[[object], _T], default: _T
    ) -> tuple[_T, _Where]:
        """One setting: the argument when not None, else environment / .env, else default."""
        if arg is not None:
            raw, where = arg, _Where(argname)
        else:
            found = self.lookup(argname)
            if found is None:
                return default, _Where(f"{argname} (default)")
            raw, where = found
        try:
            return convert(raw), where
        except ValueError as e:
            raise where.error(str(e)) from None


def _check_arg(value: object, argname: str, convert: Callable[[object], _T]) -> _T:
    """Convert a constructor argument, naming it in the error."""
    try:
        return convert(value)
    except ValueError as e:
        raise ConfigError(str(e), key=argname) from None


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"expected a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")


def _to_limit(value: object) -> int:
    """A count limit: an integer >= -1 (-1: unlimited)."""
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            result = None
    if result is None or result < -1:
        raise ValueError(f"expected an integer >= -1 (-1: unlimited), got {value!r}")
    return result


def _to_days(value: object) -> float:
    """An age limit in days: a number >= 0, or negative for unlimited."""
    result: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            result = None
    if result is None or math.isnan(result):
        raise ValueError(f"expected a number of days (-1: unlimited), got {value!r}")
    return result


def _to_level(value: object) -> str:
    if isinstance(value, str) and value in LOG_LEVELS:
        return value
    hint = ""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "critical":
            hint = " (vcti-session calls it 'fatal')"
        elif word == "warn":
            hint = " (write 'warning')"
        elif word in LOG_LEVELS:
            hint = f" (write {word!r}: names are lower case, as vcti-session reads them)"
    raise ValueError(f"expected a log level ({', '.join(LOG_LEVELS)}), got {value!r}{hint}")


def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def _to_path(value: object) -> Path:
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        if isinstance(text, str) and text:
            return Path(text).expanduser()
    raise ValueError(f"expected a path, got {value!r}")


def _to_prefix(value: object) -> str:
    # an empty prefix would make every directory under the base a prune
    # candidate; a separator would make names nest instead of being children
    if isinstance(value, str) and value and value not in (".", "..") and _plain_name(value):
        return value
    raise ValueError(f"expected a non-empty prefix without path separators, got {value!r}")


def _plain_name(text: str) -> bool:
    return "/" not in text and "\0" not in text and (os.altsep is None or os.altsep not in text)


# --------------------------------------------------------------------------
# logging


def _name_levels() -> None:
    """Give vcti-session's extra levels their names, unless something named them."""
    for number, name in ((TRACE, "TRACE"), (VERBOSE, "VERBOSE")):
        if logging.getLevelName(number) == f"Level {number}":
            logging.addLevelName(number, name)


_RESET = "\x1b[0m"
_LEVEL_COLOURS = {
    logging.DEBUG: "\x1b[36m",  # cyan
    logging.INFO: "\x1b[32m",  # green
    logging.WARNING: "\x1b[33m",  # yellow
    logging.ERROR: "\x1b[31m",  # red
    logging.CRITICAL: "\x1b[1;31m",  # bold red
}


class _ColourFormatter(logging.Formatter):
    """Wraps each formatted record in the ANSI colour of its level."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        colour = _LEVEL_COLOURS.get(record.levelno)
        if colour is None:
            # custom levels: the colour of the nearest standard level below
            below = [lvl for lvl in _LEVEL_COLOURS if lvl <= record.levelno]
            colour = _LEVEL_COLOURS[max(below)] if below else ""
        return f"{colour}{text}{_RESET}" if colour else text


_Style = Literal["%", "{"]
_STYLES: tuple[_Style, ...] = ("%", "{")


def _format_style(fmt: str) -> _Style:
    """The logging style ``fmt`` is written in ('%' or '{'); ValueError if neither."""
    for style in _STYLES:
        try:
            logging.Formatter(fmt, style=style, validate=True)
        except ValueError:
            continue
        return style
    raise ValueError(f"expected a logging format such as '%(levelname)s %(message)s', got {fmt!r}")


class LogConfig:
    """Logging for a session: a log file, a console stream, or both (or neither).

    Settings (argument > ``{env_prefix}SESSION_LOG_*`` environment > ``.env`` >
    default):

    ``file_path`` (``SESSION_LOG_FILE_PATH``)
        The log file.  Relative paths resolve inside the session directory,
        absolute ones are used as they are; ``~`` expands; missing parent
        directories are created.  ``None`` (the default): no log file.
    ``level`` (``SESSION_LOG_LEVEL``)
        vcti-session's names, lower case: notset, trace, debug, verbose, info,
        warning, error, fatal (default info).  ``trace`` is 5 and ``verbose``
        15 (their names are registered with :mod:`logging` when used).
    ``console_enabled`` (``SESSION_LOG_CONSOLE_ENABLED``)
        Also log to stderr (default false).
    ``color_enabled`` (``SESSION_LOG_COLOR_ENABLED``)
        ANSI colour per level on the console (default false).
    ``message_format`` (``SESSION_LOG_MESSAGE_FORMAT``)
        A ``logging`` format string in ``%`` or ``{`` style, or one of
        vcti-session's presets ``minimal``, ``standard``, ``detailed``
        (:data:`MESSAGE_FORMAT_PRESETS`; default :data:`DEFAULT_FORMAT`, which
        starts with the time so the dashboard can merge logs by time).

    Booleans accept true/false, 1/0, yes/no, on/off.  ``default_file_path`` and
    ``default_level`` replace the built-in defaults.
    """

    def __init__(
        self,
        *,
        file_path: str | Path | None = None,
        level: str | None = None,
        console_enabled: bool | None = None,
        color_enabled: bool | None = None,
        message_format: str | None = None,
        env_prefix: str | None = None,
        env_file: str | Path | None = None,
        default_file_path: str | Path | None = None,
        default_level: str = DEFAULT_LEVEL,
    ) -> None:
        src = _Sources(env_prefix, env_file, "SESSION_LOG_")
        default_lvl = _check_arg(default_level, "default_level", _to_level)
        default_path = (
            _check_arg(default_file_path, "default_file_path", _to_path)
            if default_file_path is not None
            else None
        )
        self.env_prefix = env_prefix
        self.env_file = Path(env_file) if env_file is not None else None
        self.file_path: Path | None = src.resolve("file_path", file_path, _to_path, default_path)[0]
        self.level: str = src.resolve("level", level, _to_level, default_lvl)[0]
        self.console_enabled: bool = src.resolve(
            "console_enabled", console_enabled, _to_bool, False
        )[0]
        self.color_enabled: bool = src.resolve("color_enabled", color_enabled, _to_bool, False)[0]
        fmt, where = src.resolve("message_format", message_format, _to_str, None)
        self.message_format: str | None = fmt
        self._format: str | None = MESSAGE_FORMAT_PRESETS.get(fmt, fmt) if fmt else fmt
        try:
            self._style: _Style = _format_style(self._format) if self._format else "%"
        except ValueError as e:
            raise where.error(str(e)) from None
        self._lock = threading.Lock()
        self._handlers: list[logging.Handler] = []
        self._saved_root_level: int | None = None
        self._set_root_level: int | None = None

    def __repr__(self) -> str:
        return (
            f"LogConfig(file_path={self.file_path!r}, level={self.level!r}, "
            f"console_enabled={self.console_enabled}, color_enabled={self.color_enabled}, "
            f"message_format={self.message_format!r})"
        )

    @property
    def level_number(self) -> int:
        """The ``logging`` level number of :attr:`level`."""
        return LOG_LEVELS[self.level]

    def resolve_file_path(self, session_path: Path) -> Path | None:
        """Where the log file of a session at ``session_path`` goes (None: no file)."""
        if self.file_path is None:
            return None
        return self.file_path if self.file_path.is_absolute() else session_path / self.file_path

    def apply(self, session_path: Path) -> list[logging.Handler]:
        """Attach this configuration's handlers to the root logger; return them.

        The root logger's level is lowered to :attr:`level` when it is higher
        (never raised: the handlers filter by level themselves, so other
        handlers keep what they had).  Call :meth:`remove` to undo.  Raises
        :class:`ConfigError` when the log file cannot be opened.
        """
        level = self.level_number
        _name_levels()
        formatter: logging.Formatter
        fmt = self._format or DEFAULT_FORMAT
        added: list[logging.Handler] = []
        target = self.resolve_file_path(session_path)
        if target is not None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                file_handler: logging.Handler = logging.FileHandler(target, encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"cannot open log file {target}: {e}", key="file_path") from e
            file_handler.setFormatter(logging.Formatter(fmt, style=self._style))
            added.append(file_handler)
        if self.console_enabled:
            # sys.stderr looked up now, not at import: tests and TUIs swap it
            console: logging.Handler = logging.StreamHandler(sys.stderr)
            formatter = (
                _ColourFormatter(fmt, style=self._style)
                if self.color_enabled
                else logging.Formatter(fmt, style=self._style)
            )
            console.setFormatter(formatter)
            added.append(console)
        if not added:
            return []
        root = logging.getLogger()
        with self._lock:
            if not self._handlers:
                self._saved_root_level = root.level
                self._set_root_level = None
                # NOTSET (0) on the root lets everything through: leave it be
                if root.level > level:
                    root.setLevel(level)
                    self._set_root_level = level
            for handler in added:
                handler.setLevel(level)
                root.addHandler(handler)
            self._handlers.extend(added)
        logger.debug("logging configured for %s: %s", session_path, self)
        return list(added)

    def remove(self, handlers: Sequence[logging.Handler] | None = None) -> None:
        """Detach and close handlers this configuration added (default: all of them).

        When none remain, the root logger's level is put back, unless someone
        else changed it in the meantime.
        """
        root = logging.getLogger()
        with self._lock:
            wanted = list(self._handlers) if handlers is None else list(handlers)
            for handler in wanted:
                if handler in self._handlers:
                    self._handlers.remove(handler)
                root.removeHandler(handler)
                try:
                    handler.close()
                except Exception:  # closing must not stop the others from closing
                    logger.warning("could not close log handler %r", handler, exc_info=True)
            if not self._handlers and self._set_root_level is not None:
                if root.level == self._set_root_level and self._saved_root_level is not None:
                    root.setLevel(self._saved_root_level)
                self._set_root_level = None
                self._saved_root_level = None


# --------------------------------------------------------------------------
# directories


def _same_path(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


class SessionDir:
    """Uniquely named session directories under ``base_directory``, with retention.

    Names are ``{prefix}{timestamp}_{pid}_{uuid4hex}`` (:mod:`core.dirs.naming`).
    Settings (argument > ``{env_prefix}SESSION_DIR_*`` environment > ``.env`` >
    default): ``prefix`` (``SESSION_DIR_PREFIX``, default ``session_``),
    ``timestamp_format`` (``SESSION_DIR_TIMESTAMP_FORMAT``, default
    ``%Y-%m-%d-%H-%M-%S``, local time), ``max_session_dirs``
    (``SESSION_DIR_MAX_SESSION_DIRS``, default 20, -1 unlimited) and
    ``max_age_days`` (``SESSION_DIR_MAX_AGE_DAYS``, default 10, -1 unlimited).

    ``base_directory`` is made absolute when the object is built, so a later
    ``chdir`` (into a session) does not move it.

    Retention and protected sessions: a session a :class:`SessionHandler`
    still has open (on this object or another in this process), and, for
    :meth:`plan_prune` / :meth:`prune`, the ``exclude`` argument (by default
    :attr:`path`), *counts* toward ``max_session_dirs`` but is never deleted.
    Counting it keeps the promise "at most N directories on disk" in the usual
    case, where the open session is the newest, and the rule sees the same
    candidates the dashboard's pruner and vcti-session see.  If the rule
    selects a protected session, that one is skipped and nothing else is
    deleted in its place, so more than N may remain: the safe direction when
    in doubt.  vcti-session's :meth:`get_directories_to_prune` /
    :meth:`prune_old_directories` protect only open sessions (so
    ``max_session_dirs=0`` removes what :meth:`create` made, as vcti does).
    """

    def __init__(
        self,
        base_directory: str | Path,
        *,
        prefix: str | None = None,
        timestamp_format: str | None = None,
        max_session_dirs: int | None = None,
        max_age_days: float | None = None,
        env_prefix: str | None = None,
        env_file: str | Path | None = None,
    ) -> None:
        base = _check_arg(base_directory, "base_directory", _to_path)
        self.base_directory: Path = base.absolute()
        why = unsafe_base(self.base_directory)
        if why:
            # prune deletes children of the base: refuse it before any session exists
            raise ConfigError(f"refusing base directory: {why}", key="base_directory")
        self.env_prefix = env_prefix
        self.env_file = Path(env_file) if env_file is not None else None
        src = _Sources(env_prefix, env_file, "SESSION_DIR_")
        self.prefix: str = src.resolve("prefix", prefix, _to_prefix, DEFAULT_PREFIX)[0]
        fmt, fmt_where = src.resolve(
            "timestamp_format", timestamp_format, _to_str, DEFAULT_TIMESTAMP_FORMAT
        )
        self.timestamp_format: str = fmt
        self.max_session_dirs: int = src.resolve(
            "max_session_dirs", max_session_dirs, _to_limit, DEFAULT_MAX_SESSION_DIRS
        )[0]
        self.max_age_days: float = src.resolve(
            "max_age_days", max_age_days, _to_days, DEFAULT_MAX_AGE_DAYS
        )[0]
        # a format that nests directories or yields names the observer cannot
        # parse back would make sessions invisible to the dashboard: refuse it
        sample = make_name(self.prefix, fmt)
        if not _plain_name(sample) or parse_name(sample, self.prefix, fmt) is None:
            raise fmt_where.error(
                f"timestamp format {fmt!r} gives names like {sample!r}, "
                "which are not plain session directory names"
            )
        self._path: Path | None = None
        # sessions a SessionHandler has open on this object (several when threads
        # share it): all protected from prune, not only the latest
        self._open: set[Path] = set()
        self._open_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SessionDir({str(self.base_directory)!r}, prefix={self.prefix!r}, "
            f"timestamp_format={self.timestamp_format!r}, "
            f"max_session_dirs={self.max_session_dirs}, max_age_days={self.max_age_days})"
        )

    @property
    def path(self) -> Path | None:
        """The session directory made by the last :meth:`create`, or None."""
        return self._path

    def create(self) -> Path:
        """Make the base directory (with parents) and a new session directory in it."""
        self.base_directory.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            path = self.base_directory / make_name(self.prefix, self.timestamp_format)
            try:
                # exist_ok=False: never adopt a directory somebody else made
                path.mkdir()
            except FileExistsError:
                continue  # a uuid4 collision: practically never, but cheap to retry
            self._path = path
            logger.debug("created session directory %s", path)
            return path
        raise FileExistsError(f"could not make a fresh session directory in {self.base_directory}")

    def _hold(self, path: Path) -> None:
        """Protect ``path`` from prune while a handler has it open."""
        with self._open_lock:
            self._open.add(path)
        engine.hold(path)  # also protected from other SessionDir objects' prunes

    def _release(self, path: Path) -> None:
        with self._open_lock:
            self._open.discard(path)
        engine.release(path)

    def plan_prune(self, exclude: Path | None = None) -> PlannedPrune:
        """The directories :meth:`prune` would delete now, oldest first, with the reason.

        Never includes ``exclude`` (default: the current session, :attr:`path`)
        nor a session a :class:`SessionHandler` still has open on this object;
        they still count toward ``max_session_dirs`` (see the class docstring).
        The dashboard's safety rules (:mod:`core.dirs.engine`) apply as well: a
        session whose pid is alive (another program sharing the base), a
        directory on another filesystem or holding a mount point is kept, and
        an unsafe base (a symlink, ``/``, the home directory) raises
        :class:`~core.errors.UnsafeOperation`.
        """
        current = exclude if exclude is not None else self._path
        return self._plan([] if current is None else [current])

    def get_directories_to_prune(self) -> list[Path]:
        """vcti-session's name: what :meth:`prune_old_directories` would delete now.

        As in vcti-session, the directory made by the last :meth:`create` is a
        candidate like any other (with ``max_session_dirs=0`` nothing is
        kept); still never a session a :class:`SessionHandler` has open, one
        whose creating process is alive, nor one the engine's safety rules keep.
        """
        return [path for path, _ in self._plan([])]

    def prune_old_directories(self) -> list[Path]:
        """vcti-session's name: delete :meth:`get_directories_to_prune`; return
        what was removed (vcti returns None)."""
        return self._remove(self._plan([]))

    def _plan(self, protected_paths: Sequence[Path]) -> PlannedPrune:
        candidates = list_candidates(self.base_directory, self.prefix)
        selected = select_for_prune(
            candidates, self.max_session_dirs, self.max_age_days, time.time()
        )
        if not selected:
            return PlannedPrune()
        view = engine.BaseView.take(self.base_directory)
        with self._open_lock:
            protected = [*self._open, *protected_paths]
        plan = PlannedPrune(base=view.identity)
        for candidate, reason in selected:
            if any(_same_path(candidate.path, p) for p in protected):
                logger.debug("prune: keeping current session %s", candidate.path)
                continue
            why = engine.refusal(view, candidate.path, self._parse(candidate.name), force=False)
            if why:
                logger.info("prune: keeping %s: %s", candidate.path, why)
                continue
            plan.append((candidate.path, reason))
        return plan

    def _parse(self, name: str) -> ParsedName | None:
        return parse_name(name, self.prefix, self.timestamp_format)

    def prune(self, exclude: Path | None = None) -> list[Path]:
        """Delete what :meth:`plan_prune` selects; return what was removed.

        A directory that cannot be removed is logged as a warning naming the
        path that blocked it, and left out of the result; symlinks are never
        followed.  A prune already running on this base (the dashboard's, or
        another program's) makes this one a warning that removes nothing.
        """
        return self._remove(self.plan_prune(exclude))

    def _remove(self, plan: Sequence[tuple[Path, PruneReason]]) -> list[Path]:
        """Delete planned directories through the engine; failures become warnings."""
        if not plan:
            return []
        targets = [engine.Target(path, self._parse(path.name)) for path, _ in plan]
        try:
            planned = plan.base if isinstance(plan, PlannedPrune) else None
            outcomes = engine.remove(self.base_directory, targets, planned=planned)
        except LockBusy as e:
            logger.warning("prune skipped: %s", e.message)
            return []
        removed: list[Path] = []
        for (path, reason), outcome in zip(plan, outcomes, strict=True):
            if outcome.ok:
                logger.info("prune: removed %s (%s)", path, reason.value)
                removed.append(path)
            elif outcome.status is engine.Status.GONE:
                logger.debug("prune: %s already gone", path)
            else:
                logger.warning("prune: could not remove %s: %s", path, outcome.message)
        return removed


class PlannedPrune(list[tuple[Path, PruneReason]]):
    """What :meth:`SessionDir.plan_prune` selected: ``(path, reason)`` pairs, plus
    the base as it was when planned, which the delete checks again."""

    def __init__(
        self,
        items: Iterable[tuple[Path, PruneReason]] = (),
        *,
        base: engine.BaseIdentity | None = None,
    ) -> None:
        super().__init__(items)
        self.base = base


def _enter_directory(path: Path) -> str | None:
    """chdir into ``path``; return the directory to go back to (None: unknown)."""
    try:
        previous: str | None = str(Path.cwd())
    except OSError:
        logger.warning("the current directory no longer exists; it cannot be restored")
        previous = None
    os.chdir(path)
    return previous


def _restore_directory(previous: str | None) -> None:
    if previous is None:
        return
    try:
        os.chdir(previous)
    except OSError as e:
        logger.warning("could not return to %s: %s", previous, e)


def _call_hook(
    name: str, hook: Callable[_P, object] | None, *args: _P.args, **kwargs: _P.kwargs
) -> None:
    """Run a user hook; a hook that fails is logged, never propagated."""
    if hook is None:
        return
    try:
        hook(*args, **kwargs)
    except Exception:
        logger.warning("%s hook %r raised; the session goes on", name, hook, exc_info=True)


class WorkDirMissing(ConfigError, FileNotFoundError):
    """A :class:`WorkDir` without ``create_if_missing`` whose directory is not
    there: a ConfigError, and a FileNotFoundError as vcti-session raises."""

    def __init__(self, path: Path) -> None:
        ConfigError.__init__(
            self,
            f"work directory {path} does not exist (pass create_if_missing=True to create it)",
            key="directory",
        )
        self.filename = str(path)


class WorkDir:
    """A directory the user chose (no generated name, no pruning).

    vcti-session's signature: ``WorkDir(directory, log_config=None,
    create_if_missing=True, *, change_directory=True)``.  :attr:`directory` is
    the absolute path (symlinks resolved) fixed when the object is built;
    :attr:`path` is that directory inside ``with work_dir:`` (or
    :meth:`work_context`) and None outside.  A missing directory is created
    (with parents) on entering, unless ``create_if_missing=False``: then
    entering raises :class:`WorkDirMissing`.  ``change_directory=False``
    leaves the process's working directory alone (needed for threaded or async
    programs: ``chdir`` is process-wide).
    """

    def __init__(
        self,
        directory: str | Path,
        log_config: LogConfig | None = None,
        create_if_missing: bool = True,
        *,
        change_directory: bool = True,
    ) -> None:
        self.directory: Path = _check_arg(directory, "directory", _to_path).resolve()
        self.log_config = log_config
        self.create_if_missing = create_if_missing
        self.change_directory = change_directory
        self._active: Path | None = None
        self._entered: AbstractContextManager[WorkDir] | None = None

    def __repr__(self) -> str:
        state = "active" if self._active is not None else "inactive"
        return (
            f"WorkDir({str(self.directory)!r}, create_if_missing={self.create_if_missing}, "
            f"status={state})"
        )

    @property
    def path(self) -> Path | None:
        """The work directory while inside the context, else None."""
        return self._active

    @contextmanager
    def work_context(self) -> Iterator[WorkDir]:
        """Enter the directory: logging applied, cwd changed (optionally).

        On exit, also after an exception, the previous working directory is
        restored, the log handlers are removed and :attr:`path` is None again.
        """
        path = self.directory
        if not path.exists():
            if not self.create_if_missing:
                raise WorkDirMissing(path)
            path.mkdir(parents=True, exist_ok=True)
            logger.debug("created work directory %s", path)
        elif not path.is_dir():
            raise ConfigError(f"{path} exists and is not a directory", key="directory")
        handlers = self.log_config.apply(path) if self.log_config is not None else []
        self._active = path
        try:
            previous = _enter_directory(path) if self.change_directory else None
            try:
                yield self
            finally:
                _restore_directory(previous)
        finally:
            self._active = None
            if self.log_config is not None and handlers:
                self.log_config.remove(handlers)

    def __enter__(self) -> WorkDir:
        if self._entered is not None:
            raise RuntimeError("this WorkDir is already entered; 'with work_dir:' does not nest")
        entered = self.work_context()
        result = entered.__enter__()
        self._entered = entered
        return result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        entered, self._entered = self._entered, None
        if entered is None:
            return None
        return entered.__exit__(exc_type, exc, tb)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """What :meth:`SessionHandler.session_context` yields."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name


class SessionHandler:
    """Runs a block of code in a fresh session directory.

    ``session_context()`` (or ``with handler:``, which yields the handler, as
    vcti-session's does) does, in order: create the directory, apply logging,
    chdir into it (unless ``change_directory=False``), ``on_session_created(path)``,
    run the body; if the body raised an ``Exception``, ``on_session_error(exc)``;
    then ``on_session_exit(path, exc or None)``, restore the working directory,
    and with ``prune_on_exit`` compute the prune plan, ``on_before_prune(dirs)``
    when it is not empty, delete; finally remove the log handlers.  The body's
    exception propagates after all that.

    The prune on exit is vcti-session's: the session that just ran is a
    candidate like the others (it is the newest, so only ``max_session_dirs=0``
    removes it).  Sessions other handlers in this process still have open, and
    sessions whose creating process is alive, are never removed (see
    :mod:`core.dirs.engine`).

    :attr:`path` is the open session's directory (None outside a session);
    :meth:`create_session` and :meth:`prune_old_sessions` are the two halves
    for callers that do not use a ``with`` block.

    Exit steps run however the body ends, including ``KeyboardInterrupt`` and
    ``SystemExit``; those are not errors for the hooks (``on_session_error`` is
    not called and ``on_session_exit`` gets None), since ``sys.exit(0)`` is a
    normal way to end a script.  A hook that raises is logged as a warning on
    ``core.dirs`` and the session goes on; a failing prune is logged likewise.
    With ``log_config=None`` no handler, log file or log directory is made.
    """

    def __init__(
        self,
        session_dir: SessionDir,
        log_config: LogConfig | None = None,
        *,
        change_directory: bool = True,
        prune_on_exit: bool = True,
        on_session_created: CreatedHook | None = None,
        on_session_exit: ExitHook | None = None,
        on_before_prune: BeforePruneHook | None = None,
        on_session_error: ErrorHook | None = None,
    ) -> None:
        if not isinstance(session_dir, SessionDir):
            raise TypeError(f"session_dir must be a SessionDir, got {type(session_dir).__name__}")
        if log_config is not None and not isinstance(log_config, LogConfig):
            raise TypeError(
                f"log_config must be a LogConfig or None, got {type(log_config).__name__}"
            )
        self.session_dir = session_dir
        self.log_config = log_config
        self.change_directory = change_directory
        self.prune_on_exit = prune_on_exit
        self.on_session_created = on_session_created
        self.on_session_exit = on_session_exit
        self.on_before_prune = on_before_prune
        self.on_session_error = on_session_error
        self._path: Path | None = None
        # the session create_session() opened outside a with block, and its handlers
        self._standalone: Path | None = None
        self._handlers: list[logging.Handler] = []
        self._entered: AbstractContextManager[ActiveSession] | None = None

    def __repr__(self) -> str:
        return f"SessionHandler({self.session_dir!r}, {self.log_config!r})"

    @property
    def path(self) -> Path | None:
        """The directory of the session this handler has open, else None."""
        return self._path

    def create_session(self) -> Path:
        """Create a session directory and apply logging to it; return its path.

        The session stays open (:attr:`path`, protected from every prune) until
        the next :meth:`create_session` or the end of the ``with`` block; log
        handlers of a previous session made this way are removed first.
        """
        self._close_session()
        path, self._handlers = self._open_session()
        self._standalone = path
        return path

    def _open_session(self) -> tuple[Path, list[logging.Handler]]:
        sd = self.session_dir
        path = sd.create()
        sd._hold(path)
        try:
            handlers = self.log_config.apply(path) if self.log_config is not None else []
        except BaseException:
            sd._release(path)
            raise
        self._path = path
        return path, handlers

    def _close_session(self) -> None:
        """Release the session :meth:`create_session` opened, and its log handlers."""
        path, self._standalone = self._standalone, None
        handlers, self._handlers = self._handlers, []
        if path is not None:
            if self._path == path:
                self._path = None
            self.session_dir._release(path)
        if self.log_config is not None and handlers:
            self.log_config.remove(handlers)

    def prune_old_sessions(self) -> list[Path]:
        """Prune by the session dir's rules now: ``on_before_prune(dirs)`` when
        there is something to delete, then delete that plan; return what went.

        Failures are logged as warnings (as on exit), never raised.
        """
        try:
            plan = self.session_dir._plan([])
        except Exception:
            logger.warning("prune: cannot list %s", self.session_dir.base_directory, exc_info=True)
            return []
        if not plan:
            return []
        _call_hook("on_before_prune", self.on_before_prune, [p for p, _ in plan])
        try:
            # the plan shown to the hook is the one executed (not a fresh scan)
            return self.session_dir._remove(plan)
        except SesstuiError as e:  # the base was refused when deleting
            logger.warning("prune: %s", e.message)
        except Exception:
            logger.warning("prune: failed", exc_info=True)
        return []

    @contextmanager
    def session_context(self) -> Iterator[ActiveSession]:
        """Create a session directory and run the body in it (see the class doc)."""
        path, handlers = self._open_session()
        try:
            previous = _enter_directory(path) if self.change_directory else None
            try:
                _call_hook("on_session_created", self.on_session_created, path)
                error: Exception | None = None
                try:
                    yield ActiveSession(path)
                except Exception as exc:
                    error = exc
                    _call_hook("on_session_error", self.on_session_error, exc)
                    raise
                finally:
                    _call_hook("on_session_exit", self.on_session_exit, path, error)
                    error = None  # no reference cycle through the traceback
            finally:
                _restore_directory(previous)
            # prune sits in the outer finally so it also runs after an error
        finally:
            try:
                # the session has ended: released first, so it is a candidate
                # like any other (vcti-session prunes after clearing its path)
                if self._path == path:
                    self._path = None
                self.session_dir._release(path)
                if self.prune_on_exit:
                    self.prune_old_sessions()
            finally:
                if self.log_config is not None and handlers:
                    self.log_config.remove(handlers)

    def __enter__(self) -> SessionHandler:
        if self._entered is not None:
            raise RuntimeError(
                "this SessionHandler is already in a session; 'with handler:' does not nest "
                "(use session_context() for nested or threaded sessions)"
            )
        entered = self.session_context()
        entered.__enter__()
        self._entered = entered
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        entered, self._entered = self._entered, None
        if entered is None:
            return None
        return entered.__exit__(exc_type, exc, tb)
