"""The action journal: every start, stop, prune ... as one JSON line.

The journal lives in the state dir (``journal.jsonl``).  Each line is one
:class:`JournalEntry` with the equivalent ``sesstui`` command line, so any
action taken in the dashboard can be repeated (or scripted) from a shell.

Appends are safe across processes and threads: each line is one ``write`` to
a file opened with ``O_APPEND``, under an exclusive ``flock``.  Past
``rotate_bytes`` the file is renamed to ``journal.jsonl.1`` (one kept).  A
journal that cannot be written never fails the action it records: the first
failure is reported once through ``on_warning``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core.errors import SesstuiError
from core.paths import state_dir
from core.redaction import redact

FILE_NAME = "journal.jsonl"
ROTATE_BYTES = 5 * 1024 * 1024
ACTIONS = ("start", "restart", "stop", "kill", "extend", "expire", "delete", "prune", "attach")
RESULTS = ("ok", "failed", "partial")
SOURCES = ("cli", "tui", "api")
_MAX_DETAIL = 2000  # a detail listing many errors is cut, never the line lost

Target = str | Sequence[str]


class JournalUnreadable(SesstuiError):
    """The journal file exists but cannot be read."""

    title = "Journal unreadable"
    exit_code = 1


def _log_warning(message: str) -> None:
    import logging

    logging.getLogger("sesstui.journal").warning("%s", message)


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no passwd entry (containers) or no $USER
        return str(os.getuid())


def _aware(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("time must be an ISO-8601 text")
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.astimezone()


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One action: what, on what, how it went, and how to repeat it."""

    time: datetime
    action: str
    target: str | tuple[str, ...]  # a ref, several refs, or a spec name (start)
    result: str  # ok | failed | partial
    detail: str = ""
    source: str = "api"  # cli | tui | api
    command: str = ""  # the equivalent CLI command line, shell-quoted
    user: str = ""
    pid: int | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else self.target

    def target_text(self, most: int = 3) -> str:
        """``runs:a``, or ``runs:a, runs:b, runs:c +4 more``."""
        shown = ", ".join(self.targets[:most])
        extra = len(self.targets) - most
        return f"{shown} +{extra} more" if extra > 0 else shown

    def to_json(self) -> dict[str, object]:
        return {
            "time": self.time.isoformat(timespec="seconds"),
            "action": self.action,
            "target": self.target if isinstance(self.target, str) else list(self.target),
            "result": self.result,
            "detail": self.detail,
            "source": self.source,
            "command": self.command,
            "user": self.user,
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, obj: object) -> JournalEntry:
        """Raises ValueError or TypeError naming what is wrong with a line's object."""
        if not isinstance(obj, dict):
            raise TypeError("not a JSON object")
        action, result = obj.get("action"), obj.get("result")
        if not isinstance(action, str) or not action:
            raise ValueError("no action")
        if not isinstance(result, str) or not result:
            raise ValueError("no result")
        raw_target = obj.get("target")
        target: str | tuple[str, ...]
        if isinstance(raw_target, str):
            target = raw_target
        elif isinstance(raw_target, list) and all(isinstance(t, str) for t in raw_target):
            target = tuple(raw_target)
        else:
            raise ValueError("target must be a text or a list of texts")
        pid = obj.get("pid")
        return cls(
            time=_aware(obj.get("time")),
            action=action,
            target=target,
            result=result,
            detail=str(obj.get("detail") or ""),
            source=str(obj.get("source") or "api"),
            command=str(obj.get("command") or ""),
            user=str(obj.get("user") or ""),
            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class JournalProblem:
    """A line that could not be read: where, and why."""

    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: skipped a corrupt line ({self.reason})"


@dataclass(frozen=True, slots=True)
class JournalRead:
    """Entries oldest first (newest last), and the lines that were skipped."""

    entries: tuple[JournalEntry, ...]
    problems: tuple[JournalProblem, ...] = ()

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


# -- the equivalent CLI command --------------------------------------------------


def cli_command(*args: str, config: Path | str | None = None) -> str:
    """``sesstui [--config FILE] ARGS...`` shell-quoted, ready to paste."""
    head = ["sesstui", "--config", str(config)] if config is not None else ["sesstui"]
    return shlex.join([*head, *args])


def ttl_text(ttl: timedelta) -> str:
    """A duration ``sesstui extend --ttl`` reads back exactly: ``2h``,
    ``1h30m``, ``1d2h``, ``45s``."""
    from core.durations import duration_text

    return duration_text(ttl, style="exact")


# -- the file ------------------------------------------------------------------


class Journal:
    """Appends entries to, and reads them back from, one JSON-lines file."""

    def __init__(
        self,
        path: Path,
        *,
        rotate_bytes: int = ROTATE_BYTES,
        on_warning: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``on_warning`` gets the first write failure (default: the
        ``sesstui.journal`` logger); ``clock`` stamps entries (default: now)."""
        self.path = path
        self.rotate_bytes = rotate_bytes
        self.on_warning = on_warning or _log_warning
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.warning: str | None = None  # the first write failure, if any
        self._warn_lock = threading.Lock()
        self._user: str | None = None

    @classmethod
    def default(cls, *, on_warning: Callable[[str], None] | None = None) -> Journal:
        """``<state dir>/journal.jsonl``."""
        return cls(state_dir() / FILE_NAME, on_warning=on_warning)

    @property
    def rotated(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    # -- writing ----------------------------------------------------------------

    def record(
        self,
        action: str,
        target: Target,
        result: str = "ok",
        *,
        detail: str = "",
        source: str = "api",
        command: str = "",
    ) -> JournalEntry:
        """Append one entry and return it.  Never raises for I/O: a failure is
        reported once (see ``on_warning``) and the entry is returned unsaved."""
        if self._user is None:
            self._user = _user()
        detail, command = redact(detail), redact(command)
        if len(detail) > _MAX_DETAIL:
            detail = detail[: _MAX_DETAIL - 1] + "…"
        entry = JournalEntry(
            time=self.clock(),
            action=action,
            target=target if isinstance(target, str) else tuple(target),
            result=result,
            detail=detail,
            source=source,
            command=command,
            user=self._user,
            pid=os.getpid(),
        )
        line = json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self._append(line.encode())
        except OSError as exc:
            why = exc.strerror or str(exc)
            self._warn(
                f"cannot write the journal {self.path}: {why}; actions still run "
                "but are not recorded (check the state dir's permissions and free space)"
            )
        return entry

    def _warn(self, message: str) -> None:
        with self._warn_lock:
            if self.warning is not None:
                return
            self.warning = message
        try:
            self.on_warning(message)
        except Exception:  # noqa: BLE001, S110 - a warning must not fail the action
            pass

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        for _ in range(10):
            fd = os.open(self.path, flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                mine = os.fstat(fd)
                try:
                    now = self.path.lstat()
                except FileNotFoundError:
                    continue  # rotated away while we waited: open the new file
                if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
                    continue
                if mine.st_size and mine.st_size + len(data) > self.rotate_bytes:
                    os.replace(self.path, self.rotated)  # noqa: PTH105 - one syscall
                    continue
                view = memoryview(data)
                while view:  # one write for a line of this size; loop for safety
                    view = view[os.write(fd, view) :]
                return
            finally:
                os.close(fd)  # also releases the flock
        raise OSError(f"{self.path} kept being rotated by other writers")

    # -- reading ----------------------------------------------------------------

    def read(
        self,
        limit: int | None = None,
        *,
        since: datetime | None = None,
        action: str | None = None,
    ) -> JournalRead:
        """The newest ``limit`` entries (all when None), oldest first, from
        the rotated file and the current one; filtered by ``since`` (an aware
        time) and ``action``.  A corrupt line is skipped and reported in
        ``problems`` with its line number; a file that exists but cannot be
        read raises JournalUnreadable."""
        entries: list[JournalEntry] = []
        problems: list[JournalProblem] = []
        for path in (self.rotated, self.path):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise JournalUnreadable(
                    f"cannot read the journal {path}: {exc.strerror or exc}; "
                    "check that it is a file you may read"
                ) from exc
            for number, raw in enumerate(data.split(b"\n"), 1):
                if not raw.strip():
                    continue
                try:
                    entry = JournalEntry.from_json(json.loads(raw))
                except (TypeError, ValueError) as exc:  # also JSON and UTF-8 decoding errors
                    problems.append(JournalProblem(path, number, str(exc)))
                    continue
                if since is not None and entry.time < since:
                    continue
                if action is not None and entry.action != action:
                    continue
                entries.append(entry)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return JournalRead(tuple(entries), tuple(problems))
