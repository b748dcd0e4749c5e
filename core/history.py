"""Since last open: what appeared, disappeared or grew between two runs.

The inventory a front end saw last is kept in the state dir
(``last-inventory.json``).  On the next start, :func:`since_last_open` compares
the fresh listing with it, saves the fresh one, and returns the
:class:`Changes` for a one- or two-line notice.

Sessions of a backend that did not fully answer now (down, or DEGRADED: a
partial listing such as tmux's "N panes could not be read") are never reported
as gone: their saved entries are carried over to the next save unchanged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec

from core.model import BackendHealth, HealthStatus, Session, SessionRef
from core.paths import state_dir
from core.sizes import format_size, parse_size

FILE_NAME = "last-inventory.json"
FORMAT_VERSION = 1
DEFAULT_GROW_BYTES = 100 * 1024**2  # ui.grow_notice
# a summary line longer than this puts the growth on a second line
_LINE = 96

__all__ = [
    "DEFAULT_GROW_BYTES",
    "FILE_NAME",
    "Changes",
    "Growth",
    "History",
    "SavedInventory",
    "SavedSession",
    "answered",
    "diff",
    "format_size",  # from core.sizes, kept here for older imports
    "parse_size",  # from core.sizes, kept here for older imports
    "since_last_open",
]

# -- records --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedSession:
    """What is kept of one session between runs."""

    ref: SessionRef
    name: str
    kind: str
    state: str
    disk_bytes: int | None = None  # None: not measured
    created: datetime | None = None

    @classmethod
    def of(cls, s: Session) -> SavedSession:
        return cls(
            s.ref,
            s.name,
            s.kind,
            s.state.value,
            s.size.disk if s.size is not None else None,
            s.created,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "disk_bytes": self.disk_bytes,
            "created": self.created.isoformat(timespec="seconds") if self.created else None,
        }

    @classmethod
    def from_json(cls, ref: SessionRef, obj: Mapping[str, object]) -> SavedSession:
        """Raises TypeError or ValueError for an entry of the wrong shape."""
        name, kind, state = obj.get("name"), obj.get("kind"), obj.get("state")
        size, created = obj.get("disk_bytes"), obj.get("created")
        if not (isinstance(name, str) and isinstance(kind, str) and isinstance(state, str)):
            raise TypeError("name, kind and state must be text")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise TypeError("disk_bytes must be an integer")
        if created is not None and not isinstance(created, str):
            raise TypeError("created must be an ISO-8601 text")
        when = datetime.fromisoformat(created) if created else None
        return cls(ref, name, kind, state, size, when)


@dataclass(frozen=True, slots=True)
class SavedInventory:
    """The inventory saved by the previous run."""

    saved_at: datetime | None
    backends: frozenset[str]  # the backends whose sessions are in ``sessions``
    sessions: Mapping[SessionRef, SavedSession] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Growth:
    """A session whose disk usage rose past the threshold."""

    ref: SessionRef
    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the saved inventory; falsy when nothing did."""

    appeared: tuple[Session, ...] = ()
    disappeared: tuple[SavedSession, ...] = ()
    grew: tuple[Growth, ...] = ()  # largest growth first
    grow_bytes: int = DEFAULT_GROW_BYTES

    def __bool__(self) -> bool:
        return bool(self.appeared or self.disappeared or self.grew)

    def summary(self) -> str:
        """One or two short lines, e.g. ``Since last open: 3 new (2 runs,
        1 web), 2 gone, 1 grew > 100 MiB (runs:session_x +1.2 GiB)``;
        empty when nothing changed."""
        if not self:
            return ""
        parts: list[str] = []
        if self.appeared:
            per = Counter(s.backend for s in self.appeared)
            split = ", ".join(f"{n} {b}" for b, n in sorted(per.items(), key=lambda i: -i[1]))
            parts.append(f"{len(self.appeared)} new ({split})")
        if self.disappeared:
            parts.append(f"{len(self.disappeared)} gone")
        head = "Since last open: " + ", ".join(parts)
        if not self.grew:
            return head
        top = self.grew[0]
        name = top.name if len(top.name) <= 40 else top.name[:39] + "…"
        which = f"{top.ref.backend}:{name} +{format_size(top.delta)}"
        if len(self.grew) > 1:
            which = f"largest {which}"
        grew = f"{len(self.grew)} grew > {format_size(self.grow_bytes)} ({which})"
        if not parts:
            return f"Since last open: {grew}"
        line = f"{head}, {grew}"
        return line if len(line) <= _LINE else f"{head}\n{grew}"


# -- the file -------------------------------------------------------------------


class History:
    """The saved inventory in one JSON file, replaced atomically on save."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls) -> History:
        """``<state dir>/last-inventory.json``."""
        return cls(state_dir() / FILE_NAME)

    def load(self) -> SavedInventory | None:
        """The saved inventory; None when the file is missing, unreadable or
        corrupt (the next save replaces it).  Never raises."""
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return None
        backends, sessions = data.get("backends"), data.get("sessions")
        if not isinstance(backends, list) or not isinstance(sessions, dict):
            return None
        saved: dict[SessionRef, SavedSession] = {}
        for key, obj in sessions.items():
            ref = SessionRef.parse(key)
            if ref is None or not isinstance(obj, dict):
                continue  # one odd entry never costs the rest
            try:
                saved[ref] = SavedSession.from_json(ref, obj)
            except (TypeError, ValueError):
                continue
        try:
            when = datetime.fromisoformat(str(data.get("saved_at")))
        except ValueError:
            when = None
        return SavedInventory(when, frozenset(b for b in backends if isinstance(b, str)), saved)

    def save(
        self,
        sessions: Iterable[Session],
        backends_ok: Iterable[str],
        *,
        previous: SavedInventory | None = None,
        now: datetime | None = None,
    ) -> SavedInventory:
        """Save ``sessions`` as the inventory of ``backends_ok`` (the backends
        that answered).  Entries of other backends are carried over from
        ``previous`` (default: what is saved now), and so is a size that was
        not measured this time.  Raises OSError when the file cannot be written.
        """
        if previous is None:
            previous = self.load()
        ok = frozenset(backends_ok)
        kept: dict[SessionRef, SavedSession] = {}
        backends = set(ok)
        if previous is not None:
            kept = {r: s for r, s in previous.sessions.items() if r.backend not in ok}
            backends |= previous.backends - ok
        for s in sessions:
            if s.backend not in ok:
                continue
            entry = SavedSession.of(s)
            before = previous.sessions.get(s.ref) if previous is not None else None
            if entry.disk_bytes is None and before is not None:
                entry = SavedSession(
                    s.ref, entry.name, entry.kind, entry.state, before.disk_bytes, entry.created
                )
            kept[s.ref] = entry
        saved = SavedInventory(now or datetime.now().astimezone(), frozenset(backends), kept)
        self._write(saved)
        return saved

    def _write(self, saved: SavedInventory) -> None:
        from core.jsonstore.store import atomic_write

        doc = {
            "version": FORMAT_VERSION,
            "saved_at": saved.saved_at.isoformat(timespec="seconds") if saved.saved_at else None,
            "backends": sorted(saved.backends),
            "sessions": {str(r): s.to_json() for r, s in sorted(saved.sessions.items(), key=_key)},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # msgspec, not json.dumps: with an indent json falls back to its
        # pure-Python encoder (100k sessions: a second of the UI's time)
        atomic_write(self.path, msgspec.json.format(msgspec.json.encode(doc), indent=1) + b"\n")


def _key(item: tuple[SessionRef, SavedSession]) -> tuple[str, str]:
    return (item[0].backend, item[0].id)


# -- comparing ------------------------------------------------------------------


def diff(
    previous: SavedInventory | None,
    sessions: Iterable[Session],
    *,
    ok_backends: Iterable[str],
    grow_bytes: int = DEFAULT_GROW_BYTES,
    grow_ratio: float = 0.0,
) -> Changes:
    """What changed between ``previous`` and ``sessions``.

    Only backends that answered now (``ok_backends``) and were saved before
    take part: a backend that is down hides nothing as "gone", and a newly
    configured one does not report all its sessions as "new".  A session grew
    when its disk usage rose by at least ``grow_bytes`` and by at least
    ``grow_ratio`` of its saved size (0 = the byte threshold alone).
    """
    if previous is None:
        return Changes(grow_bytes=grow_bytes)
    compared = frozenset(ok_backends) & previous.backends
    current = {s.ref: s for s in sessions if s.backend in compared}
    appeared = tuple(s for r, s in current.items() if r not in previous.sessions)
    gone = tuple(
        saved
        for r, saved in previous.sessions.items()
        if r.backend in compared and r not in current
    )
    grew: list[Growth] = []
    for r, s in current.items():
        before = previous.sessions.get(r)
        if before is None or before.disk_bytes is None or s.size is None:
            continue
        delta = s.size.disk - before.disk_bytes
        if delta > 0 and delta >= grow_bytes and delta >= grow_ratio * before.disk_bytes:
            grew.append(Growth(r, s.name, before.disk_bytes, s.size.disk))
    grew.sort(key=lambda g: -g.delta)
    return Changes(appeared, gone, tuple(grew), grow_bytes)


def answered(health: Iterable[BackendHealth]) -> frozenset[str]:
    """The backends whose listing came back complete (OK): ``ok_backends``.

    A DEGRADED backend listed only part of its sessions (e.g. tmux panes that
    could not be read), so it is left out like a down one: what it did not list
    is not "gone", and its saved entries are carried over, not dropped.
    """
    return frozenset(h.backend for h in health if h.status is HealthStatus.OK)


def since_last_open(
    history: History,
    sessions: Iterable[Session],
    ok_backends: Iterable[str],
    *,
    grow_bytes: int = DEFAULT_GROW_BYTES,
    grow_ratio: float = 0.0,
) -> Changes | None:
    """Load the saved inventory, compare, save the new one; the changes to
    tell the user (None on the very first run, when there is nothing to
    compare with).  File I/O: call it from a worker thread.  A state dir that
    cannot be written only means the next run compares with older data.
    """
    listed = list(sessions)
    ok = frozenset(ok_backends)
    previous = history.load()
    changes = diff(previous, listed, ok_backends=ok, grow_bytes=grow_bytes, grow_ratio=grow_ratio)
    try:
        history.save(listed, ok, previous=previous)
    except OSError:
        pass  # a notice is a nicety: never fail the dashboard over it
    return None if previous is None else changes
