"""Records shared by every backend: sessions, health, capabilities, prune plans."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from operator import attrgetter, is_
from pathlib import Path

from core.redaction import redact


class State(enum.Enum):
    """The state of a session, the same vocabulary for every kind."""

    ACTIVE = "active"  # a session dir whose creating process is alive
    RUNNING = "running"  # a tmux session / container that runs
    IDLE = "idle"  # exists, nothing runs in it
    STOPPED = "stopped"
    ENDED = "ended"  # a JSON record its producer ended (metadata.ended)
    TERMINATED = "terminated"  # a KV record whose status says so (chuk-sessions)
    INVALIDATED = "invalidated"  # a KV record whose status says so (chuk-sessions)
    EXPIRED = "expired"
    CORRUPT = "corrupt"
    UNKNOWN = "unknown"

    @property
    def is_live(self) -> bool:
        """True when deleting the session would cut something that runs."""
        return self in (State.ACTIVE, State.RUNNING)


class Capability(enum.Flag):
    """What a backend can do; the UI greys out the rest."""

    NONE = 0
    LIST = enum.auto()
    SIZES = enum.auto()
    LOGS = enum.auto()
    START = enum.auto()
    STOP = enum.auto()
    ATTACH = enum.auto()
    PRUNE = enum.auto()
    DELETE = enum.auto()
    EXTEND = enum.auto()


class HealthStatus(enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"  # answered, with a warning (e.g. slow, partial)
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class SessionRef:
    """Where a session lives: a backend name and the id inside it."""

    backend: str
    id: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> SessionRef | None:
        """``backend:id`` -> a ref; a bare name (no colon) -> None."""
        backend, sep, ident = text.partition(":")
        if not sep or not backend or not ident:
            return None
        return cls(backend, ident)


@dataclass(frozen=True, slots=True)
class SizeInfo:
    """Measured size of a session: apparent bytes and disk usage (hard links once)."""

    apparent: int
    disk: int
    files: int = 0
    newest_mtime: float | None = None


@dataclass(frozen=True, slots=True)
class Mount:
    """A host path a container sees: ``source`` on the host, mounted at
    ``destination`` inside."""

    source: str
    destination: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """Kind-specific facts that other modules (relations, orphans, the query
    language, stats) read: typed here, never parsed back out of ``metadata``,
    which stays free text for people (the details panel, ``meta.*`` filters).

    Each kind fills in what it knows; the rest keep their defaults.
    """

    container_id: str | None = None  # the engine's full id (docker)
    mounts: tuple[Mount, ...] = ()  # bind mounts (docker)
    cwds: tuple[str, ...] = ()  # working directories of its panes (tmux)
    logs: tuple[str, ...] = ()  # log files it writes to (tmux pipe-pane)
    pids: tuple[int, ...] = ()  # its root processes (tmux panes)
    clients: int = 0  # attached clients (tmux)
    key: str | None = None  # the store's key (kv)
    never_expires: bool = False  # a record without a TTL in a store that has TTLs (kv)
    spec: str | None = None  # the config spec that started it (docker label)
    managed: bool = False  # started by sesstui (docker label)
    turns: int | None = None  # conversation turns (json)


NO_FACTS = Facts()


@dataclass(frozen=True, slots=True, eq=False)
class Session:
    """One row of the table; the same columns for every kind.

    A backend may hand out a subclass that keeps its rows leaner and works
    some fields out when they are read (``core.kv.rows.KvSession``): it has
    the same fields, and sessions compare (and hash) by their field values
    whatever their class, so ``prev != s`` means a change for every kind.
    ``dataclasses.replace`` and ``with_size`` give a plain ``Session``.
    """

    ref: SessionRef
    name: str
    kind: str
    state: State
    created: datetime | None = None
    last_active: datetime | None = None
    expires: datetime | None = None
    size: SizeInfo | None = None
    path: str | None = None
    attachable: bool = False
    info: str = ""
    pid: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    facts: Facts = NO_FACTS

    @property
    def backend(self) -> str:
        return self.ref.backend

    def with_size(self, size: SizeInfo) -> Session:
        """This session with a measured size; the newest change inside it
        moves ``last_active`` forward (never back)."""
        last = self.last_active
        if size.newest_mtime is not None:
            newest = datetime.fromtimestamp(size.newest_mtime).astimezone()
            if last is None or newest > last:
                last = newest
        return replace(self, size=size, last_active=last)

    @property
    def id(self) -> str:
        return self.ref.id

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Session):
            return NotImplemented
        return session_values(self) == session_values(other)

    def __hash__(self) -> int:
        return hash(session_values(self))


# every field value of a session, in order: what equality and the hash compare
session_values = attrgetter(*(f.name for f in fields(Session)))


def same_listing(a: Sequence[Session], b: Sequence[Session]) -> bool:
    """Whether two listings are the very same session objects in the same
    order: what a store with no change hands back (a KV backend keeps its
    rows).  No field is compared: 10k rows, 0.15 ms."""
    return len(a) == len(b) and all(map(is_, a, b))


@dataclass(frozen=True, slots=True)
class StopDescription:
    """What stopping a session does, per kind, for confirm dialogs and
    prompts: ``stop`` (graceful) and ``kill`` (at once), one sentence each,
    and ``brief``, what each session of a bulk stop gets ("Ctrl+C, then up
    to 10s before a kill"); ``can_stop`` False (and the sentences say why)
    when its backend cannot stop sessions."""

    stop: str
    kill: str
    brief: str
    can_stop: bool = True

    @property
    def dialog(self) -> str:
        return f"{self.stop} {self.kill}"


@dataclass(frozen=True, slots=True)
class BackendHealth:
    """How a backend answered its last listing."""

    backend: str
    kind: str
    status: HealthStatus
    reason: str = ""
    sessions: int = 0
    elapsed: float = 0.0
    endpoint: str = ""

    def __post_init__(self) -> None:
        # the reason and endpoint are shown everywhere: never with a secret
        object.__setattr__(self, "reason", redact(self.reason))
        object.__setattr__(self, "endpoint", redact(self.endpoint))

    @property
    def ok(self) -> bool:
        return self.status is HealthStatus.OK


@dataclass(frozen=True, slots=True)
class LogSource:
    """A log a session offers (a file, a pane, a stream)."""

    name: str
    path: Path | None = None
    size: int | None = None
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line out of a log stream; ``notice`` marks lines the tailer made up
    (truncated, rotated, deleted) rather than read."""

    text: str
    notice: bool = False


@dataclass(frozen=True, slots=True)
class PrunePolicy:
    """Retention: keep at most ``max_sessions`` and none older than ``max_age``.

    ``-1``/``None`` means unlimited for either rule.
    """

    max_sessions: int = 20
    max_age: timedelta | None = timedelta(days=10)


class PruneReason(enum.Enum):
    COUNT = "count"
    AGE = "age"
    REQUESTED = "requested"  # an explicit delete


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One thing a prune plan would remove, and why."""

    backend: str
    id: str
    path: str | None
    reason: PruneReason
    bytes: int | None
    detail: str = ""
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class PlanSkip:
    """A candidate the plan keeps on purpose (active, unsafe), and why."""

    backend: str
    id: str
    path: str | None
    why: str


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What prune will do: computed first, shown, confirmed, then executed."""

    backend: str
    entries: tuple[PlanEntry, ...]
    skipped: tuple[PlanSkip, ...] = ()
    policy: PrunePolicy | None = None
    base: str | None = None
    error: str = ""  # planning failed for this backend; the others still plan
    # the base as planned (device, inode, real path; a dirs backend's
    # ``engine.BaseIdentity``): the delete refuses a base replaced since
    base_identity: object | None = None

    @property
    def total_bytes(self) -> int:
        return sum(e.bytes or 0 for e in self.entries)


@dataclass(frozen=True, slots=True)
class EntryResult:
    entry: PlanEntry
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class PruneResult:
    """Per-entry outcome; a failed entry never counts as removed."""

    backend: str
    results: tuple[EntryResult, ...]
    error: str = ""  # the whole backend failed (e.g. lock held); nothing was removed

    @property
    def removed(self) -> tuple[PlanEntry, ...]:
        return tuple(r.entry for r in self.results if r.ok)

    @property
    def failed(self) -> tuple[EntryResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error

    @property
    def freed_bytes(self) -> int:
        return sum(e.bytes or 0 for e in self.removed)
