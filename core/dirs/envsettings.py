"""Settings of the producer API: constructor argument > environment > ``.env`` file > default.

The variable behind an argument is ``{env_prefix}{group}{NAME}`` (:class:`Sources`), e.g.
``SESSION_DIR_MAX_AGE_DAYS``.  Environment and ``.env`` values are stripped; one that is blank
counts as unset.  A bad value raises :class:`~core.errors.ConfigError` naming the argument or
variable (and the ``.env`` file and line) and the value.

Process-wide state (a contract, kept for vcti-session compatibility): the values of every
``.env`` file an object loaded are remembered for this process, so objects built later see
them (below the real environment and their own ``env_file``), as vcti-session's
``load_dotenv`` into ``os.environ`` would make them.  ``os.environ`` itself is never changed.
:func:`forget_loaded_env_files` clears that memory (tests, long-lived apps).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.errors import ConfigError

__all__ = [
    "Sources",
    "Where",
    "check_arg",
    "forget_loaded_env_files",
    "parse_dotenv",
    "plain_name",
    "to_bool",
    "to_days",
    "to_limit",
    "to_path",
    "to_prefix",
    "to_str",
]

logger = logging.getLogger("core.dirs")

_T = TypeVar("_T")


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
class Where:
    """Where a setting came from, so an error can name it."""

    key: str
    file: str | None = None
    line: int | None = None

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line, key=self.key)


class Sources:
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

    def lookup(self, argname: str) -> tuple[str, Where] | None:
        """The stripped value of the setting's variable: environment, then this
        object's ``.env`` file, then one an earlier object loaded; blank = unset."""
        var = self.variable(argname)
        value = os.environ.get(var, "").strip()
        if value:
            return value, Where(var)
        entry = self._file_values.get(var)
        if entry is not None and entry.value.strip():
            return entry.value.strip(), Where(var, self._file, entry.line)
        with _loaded_lock:
            earlier = _loaded_dotenv.get(var)
        if earlier is not None and earlier[0].value.strip():
            return earlier[0].value.strip(), Where(var, earlier[1], earlier[0].line)
        return None

    def resolve(
        self, argname: str, arg: object, convert: Callable[[object], _T], default: _T
    ) -> tuple[_T, Where]:
        """One setting: the argument when not None, else environment / .env, else default."""
        if arg is not None:
            raw, where = arg, Where(argname)
        else:
            found = self.lookup(argname)
            if found is None:
                return default, Where(f"{argname} (default)")
            raw, where = found
        try:
            return convert(raw), where
        except ValueError as e:
            raise where.error(str(e)) from None


def check_arg(value: object, argname: str, convert: Callable[[object], _T]) -> _T:
    """Convert a constructor argument, naming it in the error."""
    try:
        return convert(value)
    except ValueError as e:
        raise ConfigError(str(e), key=argname) from None


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"expected a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")


def to_limit(value: object) -> int:
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


def to_days(value: object) -> float:
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


def to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def to_path(value: object) -> Path:
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        if isinstance(text, str) and text:
            return Path(text).expanduser()
    raise ValueError(f"expected a path, got {value!r}")


def to_prefix(value: object) -> str:
    # an empty prefix would make every directory under the base a prune
    # candidate; a separator would make names nest instead of being children
    if isinstance(value, str) and value and value not in (".", "..") and plain_name(value):
        return value
    raise ValueError(f"expected a non-empty prefix without path separators, got {value!r}")


def plain_name(text: str) -> bool:
    return "/" not in text and "\0" not in text and (os.altsep is None or os.altsep not in text)
