"""Logging for a session of the producer API: :class:`LogConfig`.

Process-wide effects, by design (a session's logging is the process's logging): while a session
is open its handlers sit on the *root* logger, whose level is lowered to the session's when it is
higher (and put back when the last handler goes, unless someone else changed it meanwhile).
Using the ``trace`` (5) or ``verbose`` (15) level gives those numbers their names in
:mod:`logging` (``logging.addLevelName``), unless something named them already.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from core.dirs.envsettings import Sources, check_arg, to_bool, to_path, to_str
from core.errors import ConfigError

__all__ = [
    "DEFAULT_FORMAT",
    "DEFAULT_LEVEL",
    "LOG_LEVELS",
    "MESSAGE_FORMAT_PRESETS",
    "TRACE",
    "VERBOSE",
    "LogConfig",
]

logger = logging.getLogger("core.dirs")

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
        src = Sources(env_prefix, env_file, "SESSION_LOG_")
        default_lvl = check_arg(default_level, "default_level", _to_level)
        default_path = (
            check_arg(default_file_path, "default_file_path", to_path)
            if default_file_path is not None
            else None
        )
        self.env_prefix = env_prefix
        self.env_file = Path(env_file) if env_file is not None else None
        self.file_path: Path | None = src.resolve("file_path", file_path, to_path, default_path)[0]
        self.level: str = src.resolve("level", level, _to_level, default_lvl)[0]
        self.console_enabled: bool = src.resolve(
            "console_enabled", console_enabled, to_bool, False
        )[0]
        self.color_enabled: bool = src.resolve("color_enabled", color_enabled, to_bool, False)[0]
        fmt, where = src.resolve("message_format", message_format, to_str, None)
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
