"""The error hierarchy of sesstui.

Every error carries a short ``title`` (shown by the TUI in one error modal) and a
``message`` a person can act on (printed by the CLI).  Backends wrap their
library's exceptions into these types at the boundary (``raise ... from e``).
Each type also names the CLI exit code it maps to.
"""

from __future__ import annotations

from core.redaction import redact


class SesstuiError(Exception):
    """Base class: a title, an actionable message and an exit code."""

    title = "Error"
    exit_code = 1

    def __init__(self, message: str, *, title: str | None = None) -> None:
        # every message is redacted here, so no caller can leak a secret
        message = redact(message)
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ConfigError(SesstuiError):
    """The configuration is invalid: names the file, line and key path."""

    title = "Configuration error"
    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key = key
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        if key:
            where += f"{key}: "
        super().__init__(f"{where}{message}")


class UsageError(SesstuiError):
    """A command was called with arguments that do not fit."""

    title = "Usage error"
    exit_code = 2


class BackendUnavailable(SesstuiError):
    """A backend cannot be reached or used right now."""

    title = "Backend unavailable"
    exit_code = 3


class SessionNotFound(SesstuiError):
    """No session matches the reference."""

    title = "Session not found"
    exit_code = 4


class AmbiguousSession(SesstuiError):
    """A bare name matches sessions in more than one backend."""

    title = "Ambiguous session"
    exit_code = 4

    def __init__(self, name: str, backends: list[str], *, message: str | None = None) -> None:
        self.name = name
        self.backends = backends
        joined = ", ".join(backends)
        example = f"{backends[0]}:{name}"
        super().__init__(
            message or f"'{name}' exists in several backends ({joined}); name one, e.g. {example}"
        )


class ActionNotSupported(SesstuiError):
    """The backend cannot do this action."""

    title = "Not supported"
    exit_code = 2


class UnsafeOperation(SesstuiError):
    """A destructive action was refused by a safety rule."""

    title = "Refused for safety"
    exit_code = 1


class ActionFailed(SesstuiError):
    """An action ran and failed."""

    title = "Action failed"
    exit_code = 1


class LockBusy(SesstuiError):
    """Another process holds the lock (e.g. a second pruner on the same base)."""

    title = "Busy"
    exit_code = 1
