"""The ``json`` backend: JSON session records (calute convention) as dashboard rows.

Listing walks ``base/*.json`` and ``base/*/*.json`` (dotfiles, temp and lock
files skipped, symlinks never followed) with one ``stat`` and one read per
file.  A session inside a workspace has the id ``workspace/session_id`` so ids
stay unique across workspaces; a flat session's id is its ``session_id``.
"""

from __future__ import annotations

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
from core.errors import BackendUnavailable, LockBusy, SessionNotFound
from core.jsonstore.removal import RecordRemoval
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import (
    RECORD_SUFFIX,
    CorruptRecord,
    InvalidSessionId,
    SessionRecord,
    is_record_name,
    parse_record,
    validate_id,
)
from core.jsonstore.transcript import LinesStream, record_sections, short_text, turn_lines
from core.model import (
    BackendHealth,
    Capability,
    Facts,
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

TURNS_SOURCE = "turns"


def _parse_time(text: object) -> datetime | None:
    """ISO-8601 -> aware datetime (naive stamps are taken as UTC); None if unparsable."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
        self._removal = RecordRemoval(self.name, self.base, self._path_of)

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
            metadata[f"meta.{key}"] = value if isinstance(value, str) else short_text(value)
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
            facts=Facts(turns=len(record.turns)),
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
        return record_sections(*self._raw_record(session_id))

    # -- logs ---------------------------------------------------------------------

    def logs(self, session_id: str) -> list[LogSource]:
        session = self.get(session_id)
        if session.state is State.CORRUPT:
            return []
        return [LogSource(TURNS_SOURCE, None, session.facts.turns or 0)]

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
        return LinesStream([LogLine(t) for t in (text[-lines:] if lines > 0 else text)])

    # -- delete / prune -------------------------------------------------------------

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
            why = self._removal.refusal(path, base_st)
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
            why = self._removal.refusal(Path(session.path), base_st)
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
        entries += self._removal.stale_temp_entries(now, base_st, skipped)
        entries.sort(key=lambda e: e.mtime or 0.0)
        return PrunePlan(self.name, tuple(entries), tuple(skipped), policy, str(self.base))

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Remove exactly the plan's record files, re-checking each first
        (see :class:`core.jsonstore.removal.RecordRemoval`)."""
        return self._removal.remove(plan)
