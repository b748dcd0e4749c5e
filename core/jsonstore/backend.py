"""The ``json`` backend: JSON session records (calute convention) as dashboard rows.

Listing walks ``base/*.json`` and ``base/*/*.json`` (dotfiles, temp and lock
files skipped, symlinks never followed) with one ``stat`` and one read per
file.  A session inside a workspace has the id ``workspace/session_id`` so ids
stay unique across workspaces; a flat session's id is its ``session_id``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.backend import BaseBackend, LineStream
from core.config.records import BackendConfig
from core.dirs.safety import check_base, open_base
from core.errors import BackendUnavailable, LockBusy, SessionNotFound, UnsafeOperation
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import (
    LOCK_DIR,
    RECORD_SUFFIX,
    STALE_TEMP_SECONDS,
    CorruptRecord,
    InvalidSessionId,
    SessionRecord,
    is_record_name,
    is_temp_name,
    parse_record,
    temp_files,
    temp_record_name,
    validate_id,
)
from core.locks import exclusive_lock
from core.model import (
    BackendHealth,
    Capability,
    EntryResult,
    HealthStatus,
    LogLine,
    LogSource,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PrunePolicy,
    PruneReason,
    PruneResult,
    Session,
    SessionRef,
    SizeInfo,
    State,
)

if TYPE_CHECKING:
    from core.inspection import Section
    from core.stats import SessionStats

PRUNE_LOCK = "prune.lock"  # inside {base}/.locks/: one pruner per base
TURNS_SOURCE = "turns"
SESSION_LOCK_WAIT = 2.0  # s; a producer holds a session's lock for one read and one write


def _parse_time(text: object) -> datetime | None:
    """ISO-8601 -> aware datetime (naive stamps are taken as UTC); None if unparsable."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _short(value: object, limit: int = 200) -> str:
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, int | float):  # bool is an int
        text = json.dumps(value) if value is None or isinstance(value, bool) else str(value)
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\n", " ⏎ ")


def _tool_line(call: object) -> str:
    """``  ⚙ name(args) → result [status, 12ms]`` (``error: …`` when it failed)."""
    if not isinstance(call, dict):
        return f"  ⚙ {_short(call)}"
    args = call.get("arguments")
    text = f"  ⚙ {call.get('tool_name') or '?'}({_short(args, 80) if args else ''})"
    if call.get("error"):
        text += f" error: {_short(call['error'], 120)}"
    elif call.get("result") is not None:
        text += f" → {_short(call['result'], 120)}"
    notes = [str(call["status"])] if call.get("status") not in (None, "success") else []
    if isinstance(call.get("duration_ms"), int | float):
        notes.append(f"{call['duration_ms']:g}ms")
    return f"{text} [{', '.join(notes)}]" if notes else text


def turn_lines(turn: object) -> list[str]:
    """One turn as transcript lines: ``user: prompt``, ``agent: response``, one
    ``⚙`` line per tool call, and the error of a failed turn.

    Turns in the older ``{role, content}`` shape give ``role: content``.
    """
    if not isinstance(turn, dict):
        return [_short(turn)]
    if "prompt" not in turn and "response_content" not in turn:
        role = turn.get("role") or turn.get("agent_id") or "?"
        return [f"{role}: {_one_line(turn.get('content', ''))}"]
    agent = turn.get("agent_id") or "agent"
    lines: list[str] = []
    if turn.get("prompt"):
        lines.append(f"user: {_one_line(turn['prompt'])}")
    calls = turn.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        lines.append(_tool_line(call))
    if turn.get("response_content") is not None:
        lines.append(f"{agent}: {_one_line(turn['response_content'])}")
    if turn.get("status") not in (None, "success") or turn.get("error"):
        lines.append(f"  ✗ {turn.get('status') or 'error'}: {_short(turn.get('error') or '')}")
    return lines or [f"{agent}: (empty turn)"]


def _turn_section(n: int, turn: object) -> Section:
    """One turn: its fields, the prompt and response in full, a child per tool call."""
    from core.inspection import Section

    if not isinstance(turn, dict):
        return Section.make(f"turn {n}", lines=[_short(turn, 2000)])
    fields = {
        k: turn.get(k)
        for k in ("turn_id", "agent_id", "status", "started_at", "ended_at", "error")
        if turn.get(k) is not None
    }
    if "prompt" not in turn and "response_content" not in turn:  # the {role, content} shape
        fields["role"] = turn.get("role") or "?"
        fields["content"] = _one_line(turn.get("content", ""))
    else:
        fields["prompt"] = turn.get("prompt") or ""
        response = turn.get("response_content")
        fields["response"] = (
            response
            if isinstance(response, str)
            else "(none)"
            if response is None
            else _short(response, 4000)
        )
    raw_calls = turn.get("tool_calls")
    calls: list[object] = raw_calls if isinstance(raw_calls, list) else []
    children = [
        Section.make(
            f"tool call {m}: {c.get('tool_name') or '?'}",
            {
                k: (_short(c.get(k), 4000) if k in ("arguments", "result") else c.get(k))
                for k in ("call_id", "status", "duration_ms", "arguments", "result", "error")
                if c.get(k) is not None
            },
        )
        if isinstance(c, dict)
        else Section.make(f"tool call {m}", lines=[_short(c)])
        for m, c in enumerate(calls, 1)
    ]
    return Section.make(f"turn {n}", fields, children=children)


class _LinesStream:
    """A finished, in-memory LineStream (turns never follow)."""

    def __init__(self, lines: list[LogLine]) -> None:
        self._lines = lines
        self._sent = False
        self._closed = False

    def __iter__(self) -> Iterator[LogLine]:
        yield from self.read_available(0.0)

    def read_available(self, timeout: float) -> list[LogLine]:
        if self._sent or self._closed:
            return []
        self._sent = True
        return list(self._lines)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def done(self) -> bool:
        """True once the lines were read (or the stream closed): nothing follows."""
        return self._sent or self._closed

    def close(self) -> None:
        self._closed = True


class JsonBackend(BaseBackend):
    """JSON session records under one base directory."""

    kind = "json"
    # sizes come with the listing (one stat per file), so SIZES is not claimed
    capabilities = Capability.LIST | Capability.LOGS | Capability.DELETE | Capability.PRUNE

    def __init__(self, config: BackendConfig, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` (seconds since the epoch) dates prune's age cutoffs."""
        if not isinstance(config, JsonBackendConfig):
            raise TypeError("JsonBackend needs a JsonBackendConfig")
        super().__init__(config.name)
        self.config = config
        self.clock = clock
        self.base = Path(os.path.expanduser(config.base))  # noqa: PTH111
        self._health = BackendHealth(self.name, self.kind, HealthStatus.OK, endpoint=str(self.base))

    # -- listing ----------------------------------------------------------------

    def health(self) -> BackendHealth:
        return self._health

    def _open_base(self) -> None:
        open_base(self.base, create=self.config.create_base, backend=self.name)

    def _record_files(self) -> Iterator[tuple[str, str | None, str]]:
        """(session id, workspace, path) for every record-named regular file."""
        with os.scandir(self.base) as top:
            entries = list(top)
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # .locks, temp files, anything hidden
            if entry.is_dir(follow_symlinks=False):
                try:
                    validate_id(name, "workspace id")
                except InvalidSessionId:
                    continue
                try:
                    with os.scandir(entry.path) as inner:
                        for sub in inner:
                            if is_record_name(sub.name) and sub.is_file(follow_symlinks=False):
                                sid = sub.name[: -len(RECORD_SUFFIX)]
                                yield f"{name}/{sid}", name, sub.path
                except OSError:
                    continue  # vanished or unreadable workspace: the rest still lists
            elif is_record_name(name) and entry.is_file(follow_symlinks=False):
                yield name[: -len(RECORD_SUFFIX)], None, entry.path

    def list_sessions(self) -> list[Session]:
        self._open_base()
        t0 = time.monotonic()
        sessions: list[Session] = []
        corrupt = 0
        try:
            for ident, workspace, path in self._record_files():
                session = self._load(ident, workspace, path)
                if session is None:
                    continue
                if session.state is State.CORRUPT:
                    corrupt += 1
                sessions.append(session)
        except PermissionError as e:
            raise BackendUnavailable(
                f"cannot read base directory {self.base}: permission denied; "
                "check its mode or run as its owner"
            ) from e
        except OSError as e:
            raise BackendUnavailable(f"cannot read base directory {self.base}: {e.strerror}") from e
        reason = f"{corrupt} corrupt records" if corrupt else ""
        self._health = BackendHealth(
            self.name,
            self.kind,
            HealthStatus.OK,
            reason,
            sessions=len(sessions),
            elapsed=time.monotonic() - t0,
            endpoint=str(self.base),
        )
        epoch = datetime.fromtimestamp(0, UTC)
        sessions.sort(key=lambda s: s.last_active or epoch, reverse=True)
        return sessions

    def _read(self, path: Path | str) -> tuple[os.stat_result, bytes] | None:
        """One fstat and one read, never through a symlink; None if gone."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (FileNotFoundError, OSError):
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            # one read of size+1 settles it unless the file grew since the stat
            data = os.read(fd, st.st_size + 1)
            if len(data) > st.st_size:
                parts = [data]
                while chunk := os.read(fd, 65536):
                    parts.append(chunk)
                data = b"".join(parts)
            return st, data
        finally:
            os.close(fd)

    def _load(self, ident: str, workspace: str | None, path: Path | str) -> Session | None:
        got = self._read(path)
        if got is None:
            return None
        st, raw = got
        size = SizeInfo(st.st_size, st.st_blocks * 512, 1, st.st_mtime)
        try:
            record = parse_record(raw, path)
        except CorruptRecord as e:
            mtime = datetime.fromtimestamp(st.st_mtime, UTC)
            return Session(
                ref=SessionRef(self.name, ident),
                name=ident.rpartition("/")[2],
                kind=self.kind,
                state=State.CORRUPT,
                last_active=mtime,
                size=size,
                path=str(path),
                info=f"corrupt: {e.reason}",
                metadata={"workspace": workspace or "", "corrupt": e.reason},
            )
        return self._session(ident, workspace, path, record, size)

    def _session(
        self,
        ident: str,
        workspace: str | None,
        path: Path | str,
        record: SessionRecord,
        size: SizeInfo,
    ) -> Session:
        current = record.current_agent
        parts = [
            f"agent {current or '-'}",
            f"{len(record.turns)} turn{'' if len(record.turns) == 1 else 's'}",
        ]
        if workspace:
            parts.append(f"ws {workspace}")
        metadata: dict[str, str] = {
            "workspace": workspace or "",
            "agent": current or "",
            "first_agent": record.agent_id or "",
            "turns": str(len(record.turns)),
            "transitions": str(len(record.agent_transitions)),
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
        ended = record.ended_time
        if ended is not None:
            metadata["ended_at"] = ended
        for key, value in record.metadata.items():
            metadata[f"meta.{key}"] = value if isinstance(value, str) else _short(value)
        return Session(
            ref=SessionRef(self.name, ident),
            name=record.session_id,
            kind=self.kind,
            state=State.ENDED if record.ended else State.ACTIVE,
            created=_parse_time(record.created_at),
            last_active=_parse_time(record.updated_at),
            size=size,
            path=str(path),
            info=" · ".join(parts),
            metadata=metadata,
        )

    def _path_of(self, session_id: str) -> tuple[str | None, Path]:
        """``[workspace/]id`` -> (workspace, record path), validated; SessionNotFound
        for anything that is not a plain id inside this base."""
        workspace, sep, sid = session_id.rpartition("/")
        try:
            validate_id(sid)
            if sep:
                validate_id(workspace, "workspace id")
        except InvalidSessionId as e:
            raise SessionNotFound(
                f"'{session_id}' is not a session id of backend '{self.name}': {e.message}"
            ) from e
        if sep:
            return workspace, self.base / workspace / f"{sid}{RECORD_SUFFIX}"
        return None, self.base / f"{sid}{RECORD_SUFFIX}"

    def _resolve(self, session_id: str) -> tuple[str | None, Path]:
        """Like _path_of, and the workspace must be a real directory, not a link out."""
        workspace, path = self._path_of(session_id)
        if workspace is not None and (self.base / workspace).is_symlink():
            raise SessionNotFound(f"workspace {workspace} is a symlink; not followed")
        return workspace, path

    def get(self, session_id: str) -> Session:
        workspace, path = self._resolve(session_id)
        session = self._load(session_id, workspace, path)
        if session is None:
            raise SessionNotFound(
                f"no session record {path}; see `sesstui ls --backend {self.name}`"
            )
        return session

    def _raw_record(self, session_id: str) -> tuple[Path, bytes, object]:
        """The record's path, its bytes and their JSON (None when they are
        not JSON); SessionNotFound when there is no record."""
        _, path = self._resolve(session_id)
        got = self._read(path)
        if got is None:
            raise SessionNotFound(f"no session record {path}")
        raw = got[1]
        try:
            return path, raw, json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return path, raw, None

    def record_text(self, session_id: str) -> str:
        """The record pretty-printed (the raw text if it is not JSON), for a detail view."""
        _path, raw, data = self._raw_record(session_id)
        if data is None:
            return raw.decode("utf-8", errors="replace")
        return json.dumps(data, indent=2, ensure_ascii=False)

    # -- stats --------------------------------------------------------------------

    two_readings = False  # the turns carry their own times

    def stats_reading(self, sessions: Sequence[Session]) -> object:
        """Each record's turn start times (``started_at``; ``ended_at`` when
        a turn has no start), read once; unreadable records are left out."""
        out: dict[str, list[datetime | None]] = {}
        for s in sessions:
            try:
                data = self._raw_record(s.id)[2]
            except (SessionNotFound, LockBusy, OSError):
                continue  # shown as unreadable
            turns = data.get("turns") if isinstance(data, dict) else None
            if isinstance(turns, list):
                out[s.id] = [
                    _parse_time(t.get("started_at") or t.get("ended_at"))
                    if isinstance(t, dict)
                    else None
                    for t in turns
                ]
        return out

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]:
        """Per session: its turns, and those that started in the last hour."""
        from core.stats import SessionStats, turns_per_hour

        got = after if isinstance(after, dict) else {}
        out: dict[str, SessionStats] = {}
        for s in sessions:
            times = got.get(s.id)
            if times is None:
                out[s.id] = SessionStats(s.ref, self.kind, note="record unreadable")
                continue
            out[s.id] = SessionStats(
                s.ref, self.kind, turns=len(times), turns_per_hour=turns_per_hour(times, now)
            )
        return out

    # -- inspect ------------------------------------------------------------------

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The record: its fields, metadata, every turn (prompt, response,
        tool calls with arguments and results) and the agent transitions.
        A record that is not JSON shows its raw text."""
        from core.inspection import Section

        path, raw, data = self._raw_record(session_id)
        if not isinstance(data, dict):
            text = raw.decode("utf-8", errors="replace")
            return [
                Section.make(
                    "record (corrupt: not a JSON object)", {"file": path}, text.splitlines()
                )
            ]
        raw_turns = data.get("turns")
        turns: list[object] = raw_turns if isinstance(raw_turns, list) else []
        moves = data.get("agent_transitions")
        moves = moves if isinstance(moves, list) else []
        head = {
            k: data.get(k)
            for k in ("session_id", "workspace_id", "agent_id", "created_at", "updated_at")
        }
        head.update({"file": path, "turns": len(turns), "transitions": len(moves)})
        out = [Section.make("record", head)]
        meta = data.get("metadata")
        if isinstance(meta, dict) and meta:
            out.append(
                Section.make(
                    f"metadata ({len(meta)})", {k: _short(v, 2000) for k, v in meta.items()}
                )
            )
        out.extend(_turn_section(n, turn) for n, turn in enumerate(turns, 1))
        if moves:
            out.append(
                Section.make(
                    f"agent transitions ({len(moves)})",
                    lines=[
                        f"{m.get('timestamp') or '?'}  {m.get('from_agent') or '-'} -> "
                        f"{m.get('to_agent') or '?'}"
                        + (f"  ({m['reason']})" if m.get("reason") else "")
                        if isinstance(m, dict)
                        else _short(m)
                        for m in moves
                    ],
                )
            )
        return out

    # -- logs ---------------------------------------------------------------------

    def logs(self, session_id: str) -> list[LogSource]:
        session = self.get(session_id)
        if session.state is State.CORRUPT:
            return []
        return [LogSource(TURNS_SOURCE, None, int(session.metadata.get("turns", "0")))]

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        """The transcript's last ``lines`` lines (prompt, tool calls and response
        of each turn, see :func:`turn_lines`); ``follow`` is ignored (a record
        changes by whole rewrites; refresh to see new turns)."""
        if source not in (None, TURNS_SOURCE):
            raise SessionNotFound(f"no log '{source}' in {session_id}; it has: {TURNS_SOURCE}")
        _, path = self._resolve(session_id)
        got = self._read(path)
        if got is None:
            raise SessionNotFound(f"no session record {path}")
        record = parse_record(got[1], path)
        turns = record.turns[-lines:] if lines > 0 else record.turns
        text = [line for t in turns for line in turn_lines(t)]
        return _LinesStream([LogLine(t) for t in (text[-lines:] if lines > 0 else text)])

    # -- delete / prune -------------------------------------------------------------

    def _refusal(self, path: Path, base_st: os.stat_result) -> str:
        """Why ``path`` must not be removed, or '' when it may."""
        try:
            st = path.lstat()
        except FileNotFoundError:
            return "gone"
        except OSError as e:
            return e.strerror or str(e)
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a symlink?)"
        if st.st_dev != base_st.st_dev:
            return "on another filesystem"
        parent = path.parent
        if parent != self.base:
            pst = parent.lstat()
            if not stat.S_ISDIR(pst.st_mode):
                return "workspace is not a real directory (a symlink?)"
        return ""

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        """JSON sessions have no live process: active ones are deleted without
        force too; their entry's detail says "active" so the confirm shows it."""
        base_st = check_base(self.base)
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            session = self.get(sid)
            assert session.path is not None  # noqa: S101 - records always carry a path
            path = Path(session.path)
            why = self._refusal(path, base_st)
            if why:
                skipped.append(PlanSkip(self.name, sid, str(path), why))
                continue
            detail = {State.ACTIVE: "active", State.CORRUPT: "corrupt"}.get(session.state, "")
            entries.append(
                PlanEntry(
                    self.name,
                    sid,
                    str(path),
                    PruneReason.REQUESTED,
                    session.size.apparent if session.size else None,
                    detail,
                    session.size.newest_mtime if session.size else None,
                )
            )
        return PrunePlan(self.name, tuple(entries), tuple(skipped), None, str(self.base))

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        """Ended sessions (calute's ``metadata.ended``, or an older ``ended_at``)
        that ended more than ``prune_after_days`` ago; a calute-ended record
        ended at its ``updated_at``.

        Active and corrupt records are never selected (a corrupt one needs a
        person: delete it explicitly).  ``policy`` is not used: the age comes
        from the backend's config.
        """
        base_st = check_base(self.base)
        days = self.config.prune_after_days
        now = self.clock()
        cutoff = now - days * 86400
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for session in self.list_sessions():
            if session.state is not State.ENDED:
                continue
            ended = _parse_time(session.metadata.get("ended_at"))
            if ended is None:
                skipped.append(
                    PlanSkip(self.name, session.id, session.path, "end time is not a timestamp")
                )
                continue
            if ended.timestamp() >= cutoff:
                continue
            assert session.path is not None  # noqa: S101 - records always carry a path
            why = self._refusal(Path(session.path), base_st)
            if why:
                skipped.append(PlanSkip(self.name, session.id, session.path, why))
                continue
            entries.append(
                PlanEntry(
                    self.name,
                    session.id,
                    session.path,
                    PruneReason.AGE,
                    session.size.apparent if session.size else None,
                    f"ended more than {days:g} days ago",
                    ended.timestamp(),
                )
            )
        entries += self._stale_temp_entries(now, base_st, skipped)
        entries.sort(key=lambda e: e.mtime or 0.0)
        return PrunePlan(self.name, tuple(entries), tuple(skipped), policy, str(self.base))

    def _stale_temp_entries(
        self, now: float, base_st: os.stat_result, skipped: list[PlanSkip]
    ) -> list[PlanEntry]:
        """Temporary files of atomic writes older than an hour: left by a crash."""
        entries: list[PlanEntry] = []
        for temp in temp_files(self.base):
            if temp.age(now) <= STALE_TEMP_SECONDS:
                continue  # a write may still be in flight
            why = self._refusal(temp.path, base_st)
            if why:
                skipped.append(PlanSkip(self.name, temp.ident, str(temp.path), why))
                continue
            entries.append(
                PlanEntry(
                    self.name,
                    temp.ident,
                    str(temp.path),
                    PruneReason.AGE,
                    temp.size,
                    "stale temporary file of an interrupted write (older than 1 hour)",
                    temp.mtime,
                )
            )
        return entries

    def _temp_path(self, ident: str) -> Path | None:
        """``[workspace/]name`` of a temporary file -> its path, or None."""
        workspace, sep, name = ident.rpartition("/")
        if not is_temp_name(name):
            return None
        if sep:
            try:
                validate_id(workspace, "workspace id")
            except InvalidSessionId:
                return None
            return self.base / workspace / name
        return self.base / name

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Remove exactly the plan's record files, re-checking each first.

        Workspace directories stay even when emptied.  One pruner per base (a
        lock in ``{base}/.locks``); errors are per entry.
        """
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        base_st = check_base(self.base)
        lock_dir = self.base / LOCK_DIR
        lock_dir.mkdir(exist_ok=True)
        results: list[EntryResult] = []
        with exclusive_lock(lock_dir / PRUNE_LOCK, what=f"a prune of {self.base}"):
            for entry in plan.entries:
                results.append(self._remove_one(entry, base_st))
        return PruneResult(self.name, tuple(results))

    def _remove_one(self, entry: PlanEntry, base_st: os.stat_result) -> EntryResult:
        temp = self._temp_path(entry.id)
        try:
            _, path = (None, temp) if temp is not None else self._path_of(entry.id)
        except SessionNotFound:
            return EntryResult(entry, False, "not a session id of this base; left alone")
        if entry.path not in (None, str(path)):
            return EntryResult(entry, False, "path does not match the id; left alone")
        try:
            # the producer's per-session lock: never delete under a write in flight
            record = temp_record_name(path.name) if temp is not None else path.name
            with exclusive_lock(
                self.base / LOCK_DIR / f"{record[: -len(RECORD_SUFFIX)]}.lock",
                wait=SESSION_LOCK_WAIT,
                what=f"a write to {entry.id}",
            ):
                return self._unlink(entry, path, base_st)
        except LockBusy as e:
            return EntryResult(entry, False, f"{e.message}; left alone")
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left alone")

    def _unlink(self, entry: PlanEntry, path: Path, base_st: os.stat_result) -> EntryResult:
        why = self._refusal(path, base_st)
        if why:
            return EntryResult(entry, False, f"{why}; left alone")
        # the workspace dir must still be the one inside base (not swapped for a link)
        try:
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left alone")
        try:
            if path.parent == self.base:
                st = os.fstat(dfd)
                if (st.st_dev, st.st_ino) != (base_st.st_dev, base_st.st_ino):
                    return EntryResult(entry, False, "base changed since it was checked")
            os.unlink(path.name, dir_fd=dfd)
        except FileNotFoundError:
            return EntryResult(entry, False, "already gone")
        except OSError as e:
            return EntryResult(entry, False, f"{e.strerror or e}; left as it is")
        finally:
            with contextlib.suppress(OSError):
                os.close(dfd)
        return EntryResult(entry, True)
