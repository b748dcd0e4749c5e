"""Session records as JSON files (the calute convention), and an in-memory twin.

Layout: ``{base}/{session_id}.json`` for a session without a workspace,
``{base}/{workspace_id}/{session_id}.json`` for one with a workspace.

:class:`FileSessionStore` is safe across threads *and* processes: every write
is atomic (temp file in the same directory, fsync, ``os.replace``, fsync of the
directory), every read-modify-write holds an ``flock`` on a per-session lock
file under ``{base}/.locks/``, ids are validated before they become paths, and
a record that cannot be parsed is reported as :class:`CorruptRecord` and never
overwritten unless the caller passes ``force=True``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.dirs.safety import refuse_unsafe_base
from core.errors import SessionNotFound, SesstuiError, UsageError

RECORD_SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"
LOCK_DIR = ".locks"
STALE_TEMP_SECONDS = 3600.0
"""A temporary file of an atomic write older than this was left by a crash."""
MAX_ID_LENGTH = 128  # leaves room below NAME_MAX (255) for the temp-file suffix

RECORD_FIELDS = (
    "session_id",
    "workspace_id",
    "agent_id",
    "created_at",
    "updated_at",
    "turns",
    "agent_transitions",
    "metadata",
)
"""The keys of a record; only ``session_id`` is required (as in calute's
``SessionRecord.from_dict``), the others default to null / empty."""


class InvalidSessionId(UsageError):
    """A session or workspace id that cannot safely become a file name."""

    title = "Invalid id"


class CorruptRecord(SesstuiError):
    """A record file exists but is not a valid session record.

    Raised by loads and by saves over it (unless forced); ``path`` and
    ``reason`` say which file and what is wrong with it.
    """

    title = "Corrupt session record"

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"{path} is not a valid session record ({reason}); "
            "inspect or move it away; it is never overwritten without force"
        )


class SessionExists(UsageError):
    """``create`` of a session id that is already stored."""

    title = "Session exists"


class SessionMissing(SessionNotFound, ValueError):
    """A mutation of a session that is not stored.

    Also a ``ValueError``, which is what calute's manager raises, so code
    written for calute catches it unchanged.
    """


def _not_found(session_id: str) -> SessionMissing:
    return SessionMissing(
        f"no session record {session_id!r}; start it first (SessionManager.start_session)"
    )


def validate_id(value: str, what: str = "session id") -> str:
    """Return ``value`` if it is safe as one path component, else raise InvalidSessionId.

    Refused: empty, longer than MAX_ID_LENGTH, ``.``/``..`` or any leading dot
    (hidden files are not listed), ``/``, ``\\``, NUL or other control chars.
    """
    if not isinstance(value, str) or not value:
        raise InvalidSessionId(f"{what} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidSessionId(f"{what} is {len(value)} characters long; at most {MAX_ID_LENGTH}")
    if value.startswith("."):
        raise InvalidSessionId(f"{what} {value!r} must not start with '.'")
    bad = [c for c in value if c in "/\\" or ord(c) < 0x20 or ord(c) == 0x7F]
    if bad:
        raise InvalidSessionId(
            f"{what} {value!r} contains {bad[0]!r}; use letters, digits, '-', '_' or '.'"
        )
    return value


_KNOWN = frozenset((*RECORD_FIELDS, "ended_at"))


def _all_objects(items: list[object]) -> bool:
    return all(type(i) is dict for i in items)  # json.loads makes plain dicts only


def _str_or_none(data: Mapping[str, object], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise CorruptRecord(path, f"'{key}' is {type(value).__name__}, not a string")
    return value


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session: who, when, its turns and agent hand-overs.

    Timestamps are ISO-8601 strings (UTC from :class:`SessionManager`).
    Turns and transitions are JSON objects in calute's shape (see
    :mod:`core.jsonstore.manager`); ``agent_id`` is the session's first agent.
    A session is ended when ``metadata["ended"]`` is true (calute's marker) or,
    in records older sesstui versions wrote, when ``ended_at`` is set.
    ``extra`` keeps unknown top-level keys of a loaded file so a rewrite never
    drops them.
    """

    session_id: str
    workspace_id: str | None
    agent_id: str | None
    created_at: str
    updated_at: str
    turns: tuple[Mapping[str, object], ...] = ()
    agent_transitions: tuple[Mapping[str, object], ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)
    ended_at: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """calute's ``metadata["ended"]``, or the older ``ended_at``."""
        return self.metadata.get("ended") is True or self.ended_at is not None

    @property
    def ended_time(self) -> str | None:
        """When it ended: ``ended_at`` if an older writer set it, else
        ``updated_at`` of an ended record (calute touches it on end); None
        while it runs."""
        if self.ended_at is not None:
            return self.ended_at
        return self.updated_at if self.metadata.get("ended") is True else None

    @property
    def current_agent(self) -> str | None:
        """The agent the last transition handed over to, else ``agent_id``."""
        for transition in reversed(self.agent_transitions):
            to_agent = transition.get("to_agent")
            if isinstance(to_agent, str):
                return to_agent
        return self.agent_id

    def to_json(self) -> dict[str, object]:
        """The record as the JSON object that is written to disk."""
        out: dict[str, object] = dict(self.extra)
        out.update(
            {
                "session_id": self.session_id,
                "workspace_id": self.workspace_id,
                "agent_id": self.agent_id,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "turns": [dict(t) for t in self.turns],
                "agent_transitions": [dict(t) for t in self.agent_transitions],
                "metadata": dict(self.metadata),
            }
        )
        if self.ended_at is not None:
            out["ended_at"] = self.ended_at
        return out

    @classmethod
    def from_json(cls, data: object, *, source: str = "<record>") -> SessionRecord:
        """Build a record from parsed JSON; CorruptRecord names ``source`` if
        ``session_id`` is missing or a field has the wrong type.  Missing
        fields take calute's defaults (null, ``""`` for times, empty lists)."""
        if not isinstance(data, dict):
            raise CorruptRecord(source, f"top level is {type(data).__name__}, not an object")
        if "session_id" not in data:
            raise CorruptRecord(source, "missing session_id")
        sid = data["session_id"]
        created = data.get("created_at", "")
        updated = data.get("updated_at", "")
        if not isinstance(sid, str) or not sid:
            raise CorruptRecord(source, "'session_id' is not a non-empty string")
        if not isinstance(created, str) or not isinstance(updated, str):
            raise CorruptRecord(source, "'created_at'/'updated_at' are not strings")
        turns = data.get("turns", [])
        transitions = data.get("agent_transitions", [])
        metadata = data.get("metadata", {})
        if not isinstance(turns, list) or not _all_objects(turns):
            raise CorruptRecord(source, "'turns' is not a list of objects")
        if not isinstance(transitions, list) or not _all_objects(transitions):
            raise CorruptRecord(source, "'agent_transitions' is not a list of objects")
        if not isinstance(metadata, dict):
            raise CorruptRecord(source, "'metadata' is not an object")
        # the common case has no unknown keys: skip building an empty dict
        has_extra = any(k not in _KNOWN for k in data)
        return cls(
            session_id=sid,
            workspace_id=_str_or_none(data, "workspace_id", source),
            agent_id=_str_or_none(data, "agent_id", source),
            created_at=created,
            updated_at=updated,
            turns=tuple(turns),
            agent_transitions=tuple(transitions),
            metadata=metadata,
            ended_at=_str_or_none(data, "ended_at", source),
            extra={k: v for k, v in data.items() if k not in _KNOWN} if has_extra else {},
        )


Mutation = Callable[[SessionRecord], SessionRecord]


@runtime_checkable
class SessionStore(Protocol):
    """Where session records live.  Implementations are thread-safe."""

    def save_session(self, record: SessionRecord, *, force: bool = False) -> None:
        """Write ``record``, replacing a stored one with the same id.

        Raises CorruptRecord when the stored one is corrupt, unless ``force``.
        """
        ...

    def create_session(self, record: SessionRecord) -> None:
        """Write a new record; SessionExists if the id is already stored."""
        ...

    def load_session(
        self, session_id: str, workspace_id: str | None = None
    ) -> SessionRecord | None:
        """The record, or None if there is none; CorruptRecord if unreadable."""
        ...

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        """Session ids, sorted; only those of ``workspace_id`` when given."""
        ...

    def delete_session(self, session_id: str, workspace_id: str | None = None) -> bool:
        """Remove the record; False if there was none."""
        ...

    def update_session(
        self, session_id: str, mutate: Mutation, workspace_id: str | None = None
    ) -> SessionRecord:
        """Load, apply ``mutate``, save, all under one lock; returns the new record.

        SessionNotFound if missing; CorruptRecord if unreadable.
        """
        ...


class InMemorySessionStore:
    """A dict behind a lock; for tests and short-lived producers."""

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._lock = threading.RLock()

    def save_session(self, record: SessionRecord, *, force: bool = False) -> None:
        validate_id(record.session_id)
        if record.workspace_id is not None:
            validate_id(record.workspace_id, "workspace id")
        with self._lock:
            self._records[record.session_id] = record

    def create_session(self, record: SessionRecord) -> None:
        with self._lock:
            if record.session_id in self._records:
                raise SessionExists(f"session {record.session_id!r} already exists")
            self.save_session(record)

    def load_session(
        self, session_id: str, workspace_id: str | None = None
    ) -> SessionRecord | None:
        validate_id(session_id)
        with self._lock:
            rec = self._records.get(session_id)
        if rec is None or (workspace_id is not None and rec.workspace_id != workspace_id):
            return None
        return rec

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        with self._lock:
            recs = list(self._records.values())
        return sorted(
            r.session_id for r in recs if workspace_id is None or r.workspace_id == workspace_id
        )

    def delete_session(self, session_id: str, workspace_id: str | None = None) -> bool:
        with self._lock:
            if self.load_session(session_id, workspace_id) is None:
                return False
            del self._records[session_id]
            return True

    def update_session(
        self, session_id: str, mutate: Mutation, workspace_id: str | None = None
    ) -> SessionRecord:
        with self._lock:
            rec = self.load_session(session_id, workspace_id)
            if rec is None:
                raise _not_found(session_id)
            new = mutate(rec)
            self._records[session_id] = new
            return new


def is_record_name(name: str) -> bool:
    """True for ``<id>.json`` names a listing shows (no dotfiles, temps, locks)."""
    return (
        name.endswith(RECORD_SUFFIX) and not name.startswith(".") and len(name) > len(RECORD_SUFFIX)
    )


# .{record}.{pid}.{8 hex}.tmp, as atomic_write names them
_TEMP_RE = re.compile(r"\.(?P<record>[^/]+\.json)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp\Z")


def is_temp_name(name: str) -> bool:
    """True for the name of an atomic write's temporary file."""
    return _TEMP_RE.fullmatch(name) is not None


def temp_record_name(name: str) -> str:
    """The record a temporary file was written for (``abc.json``)."""
    match = _TEMP_RE.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not a temporary file of the JSON store")
    return match["record"]


@dataclass(frozen=True, slots=True)
class TempFile:
    """A temporary file of an atomic write, found in a base or a workspace."""

    ident: str  # "[workspace/]name", relative to the base
    path: Path
    size: int
    mtime: float

    def age(self, now: float) -> float:
        return max(0.0, now - self.mtime)


def temp_files(base: Path) -> list[TempFile]:
    """The atomic writes' temporary files directly in ``base`` and in its
    workspace folders; regular files only, never through a symlink."""
    found: list[TempFile] = []

    def scan(folder: Path, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            return  # vanished or unreadable: nothing judged
        for entry in entries:
            if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                found.append(
                    TempFile(prefix + entry.name, Path(entry.path), st.st_size, st.st_mtime)
                )
            elif not prefix and entry.is_dir(follow_symlinks=False):
                try:
                    validate_id(entry.name, "workspace id")
                except InvalidSessionId:
                    continue
                scan(Path(entry.path), entry.name + "/")

    scan(base, "")
    return sorted(found, key=lambda t: t.ident)


def read_record(path: Path) -> SessionRecord:
    """Parse one record file without following a symlink at ``path``.

    CorruptRecord for anything that is not a valid record (truncated, not
    JSON, not UTF-8, wrong shape); FileNotFoundError if it is gone.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    return parse_record(raw, path)


def parse_record(raw: bytes, path: Path | str) -> SessionRecord:
    """Decode the bytes of a record file; CorruptRecord on any defect."""
    if not raw:
        raise CorruptRecord(path, "empty file")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as e:
        raise CorruptRecord(path, "not UTF-8") from e
    except json.JSONDecodeError as e:
        raise CorruptRecord(path, f"not JSON: {e.msg} at line {e.lineno} col {e.colno}") from e
    return SessionRecord.from_json(data, source=str(path))


def encode_record(record: SessionRecord) -> bytes:
    return json.dumps(record.to_json(), indent=2, ensure_ascii=False).encode() + b"\n"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new file,
    never a mix, and a crash leaves at most a stray ``.*.tmp`` file."""
    directory = path.parent
    # a dotfile with a unique suffix: listings skip it, writers never collide
    tmp = directory / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # noqa: PTH105 - one syscall, same dir
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    # the rename is durable only once the directory entry is on disk too
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class FileSessionStore:
    """Records as ``{base}/[{workspace_id}/]{session_id}.json`` files.

    ``base`` is created on first write.  Lock files live in ``{base}/.locks/``
    (hidden, never listed); they stay after a delete because removing a lock
    file another process may be waiting on would split the lock in two.
    """

    def __init__(self, base: str | Path) -> None:
        self.base = Path(base)
        # prune deletes records below the base: never `/`, the home or above it
        refuse_unsafe_base(self.base)
        # the last seen workspace dirs: lets a lookup by bare id skip a full
        # scan of a big base; refreshed on every miss, so never stale for long
        self._workspaces: tuple[str, ...] | None = None
        self._ws_lock = threading.Lock()

    # -- paths ----------------------------------------------------------------

    def path_for(self, session_id: str, workspace_id: str | None) -> Path:
        """Where the record of ``session_id`` in ``workspace_id`` lives."""
        validate_id(session_id)
        if workspace_id is None:
            return self.base / f"{session_id}{RECORD_SUFFIX}"
        validate_id(workspace_id, "workspace id")
        return self.base / workspace_id / f"{session_id}{RECORD_SUFFIX}"

    def _scan_workspaces(self) -> tuple[str, ...]:
        found: list[str] = []
        try:
            with os.scandir(self.base) as it:
                for entry in it:
                    if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                        found.append(entry.name)
        except FileNotFoundError:
            pass
        ws = tuple(sorted(found))
        with self._ws_lock:
            self._workspaces = ws
        return ws

    def _locate(self, session_id: str, workspace_id: str | None) -> Path | None:
        """The existing file of ``session_id``: the flat one first, then the
        workspaces in name order; None if there is none."""
        if workspace_id is not None:
            p = self.path_for(session_id, workspace_id)
            return p if os.path.lexists(p) else None
        flat = self.path_for(session_id, None)
        if os.path.lexists(flat):
            return flat
        name = flat.name
        with self._ws_lock:
            cached = self._workspaces
        for ws in cached if cached is not None else self._scan_workspaces():
            p = self.base / ws / name
            if os.path.lexists(p):
                return p
        if cached is not None:
            for ws in self._scan_workspaces():
                p = self.base / ws / name
                if ws not in cached and os.path.lexists(p):
                    return p
        return None

    @contextlib.contextmanager
    def _locked(self, session_id: str) -> Iterator[None]:
        """Exclusive across threads and processes: each call opens its own
        descriptor, and flock treats separate open()s as separate owners."""
        lock_dir = self.base / LOCK_DIR
        lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            lock_dir / f"{session_id}.lock",
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
        )
        try:
            # blocking: holders keep it only for one read and one write
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _ensure_dir(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidSessionId(f"{directory} is not a directory (a symlink?); refusing")
        if directory != self.base:
            with self._ws_lock:
                if self._workspaces is not None and directory.name not in self._workspaces:
                    self._workspaces = tuple(sorted((*self._workspaces, directory.name)))

    # -- the protocol -----------------------------------------------------------

    def _write(self, record: SessionRecord, *, force: bool, exclusive: bool) -> None:
        target = self.path_for(record.session_id, record.workspace_id)
        with self._locked(record.session_id):
            existing = self._locate(record.session_id, None)
            if existing is not None and exclusive:
                raise SessionExists(f"session {record.session_id!r} already exists at {existing}")
            if existing is not None and existing != target:
                raise SessionExists(
                    f"session {record.session_id!r} is stored at {existing}; "
                    "delete it before saving it in another workspace"
                )
            if existing is not None and not force:
                try:
                    read_record(existing)
                except FileNotFoundError:
                    pass
                except OSError as e:  # e.g. a symlink (ELOOP): not ours to replace
                    raise CorruptRecord(existing, e.strerror or str(e)) from e
            self._ensure_dir(target.parent)
            atomic_write(target, encode_record(record))

    def save_session(self, record: SessionRecord, *, force: bool = False) -> None:
        self._write(record, force=force, exclusive=False)

    def create_session(self, record: SessionRecord) -> None:
        self._write(record, force=False, exclusive=True)

    def load_session(
        self, session_id: str, workspace_id: str | None = None
    ) -> SessionRecord | None:
        path = self._locate(session_id, workspace_id)
        if path is None:
            return None
        try:
            return read_record(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CorruptRecord(path, e.strerror or str(e)) from e

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        dirs: Sequence[Path]
        if workspace_id is not None:
            dirs = [self.base / validate_id(workspace_id, "workspace id")]
        else:
            dirs = [self.base, *(self.base / ws for ws in self._scan_workspaces())]
        ids: list[str] = []
        for i, d in enumerate(dirs):
            try:
                with os.scandir(d) as it:
                    for entry in it:
                        # the flat level of an unfiltered listing holds only
                        # sessions without a workspace; dirs are walked above
                        if is_record_name(entry.name) and entry.is_file(follow_symlinks=False):
                            ids.append(entry.name[: -len(RECORD_SUFFIX)])
            except (FileNotFoundError, NotADirectoryError):
                if i == 0 and workspace_id is None:
                    return []
        return sorted(ids)

    def delete_session(self, session_id: str, workspace_id: str | None = None) -> bool:
        validate_id(session_id)
        with self._locked(session_id):
            path = self._locate(session_id, workspace_id)
            if path is None:
                return False
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

    def update_session(
        self, session_id: str, mutate: Mutation, workspace_id: str | None = None
    ) -> SessionRecord:
        validate_id(session_id)
        with self._locked(session_id):
            path = self._locate(session_id, workspace_id)
            if path is None:
                raise _not_found(session_id)
            try:
                current = read_record(path)
            except FileNotFoundError:
                raise _not_found(session_id) from None
            except OSError as e:
                raise CorruptRecord(path, e.strerror or str(e)) from e
            new = mutate(current)
            if (new.session_id, new.workspace_id) != (current.session_id, current.workspace_id):
                new = replace(new, session_id=current.session_id, workspace_id=current.workspace_id)
            atomic_write(path, encode_record(new))
            return new
