"""The producer's side: start a session, record turns and hand-overs, end it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from core.jsonstore.store import SessionRecord, SessionStore, validate_id


def utc_now() -> datetime:
    return datetime.now(UTC)


class SessionManager:
    """Lifecycle of session records in a :class:`SessionStore`.

    Every mutation is one locked read-modify-write in the store (so turns
    recorded from several threads or processes are never lost), sets
    ``updated_at`` and persists.  Missing sessions raise SessionNotFound;
    unreadable records raise CorruptRecord and are left untouched.
    """

    def __init__(self, store: SessionStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    @property
    def store(self) -> SessionStore:
        return self._store

    def _now(self) -> str:
        return self._clock().isoformat()

    def start_session(
        self,
        workspace_id: str | None = None,
        agent_id: str | None = None,
        *,
        metadata: Mapping[str, object] | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """Create and persist a new record; SessionExists if ``session_id`` is taken."""
        sid = validate_id(session_id) if session_id is not None else uuid.uuid4().hex
        if workspace_id is not None:
            validate_id(workspace_id, "workspace id")
        now = self._now()
        record = SessionRecord(
            session_id=sid,
            workspace_id=workspace_id,
            agent_id=agent_id,
            created_at=now,
            updated_at=now,
            metadata=dict(metadata or {}),
        )
        self._store.create_session(record)
        return record

    def record_turn(
        self,
        session_id: str,
        turn: Mapping[str, object] | None = None,
        *,
        role: str | None = None,
        content: str | None = None,
        **fields: object,
    ) -> SessionRecord:
        """Append a turn: a mapping, or ``role=``/``content=`` and other fields.

        The turn gets ``timestamp`` (now) and ``agent_id`` (the session's
        current agent) unless it carries its own.
        """
        data: dict[str, object] = dict(turn or {})
        if role is not None:
            data["role"] = role
        if content is not None:
            data["content"] = content
        data.update(fields)
        now = self._now()
        data.setdefault("timestamp", now)

        def add(rec: SessionRecord) -> SessionRecord:
            data.setdefault("agent_id", rec.agent_id)
            return replace(rec, turns=(*rec.turns, data), updated_at=now)

        return self._store.update_session(session_id, add)

    def record_agent_transition(
        self, session_id: str, from_agent: str | None, to_agent: str, reason: str | None = None
    ) -> SessionRecord:
        """Record a hand-over; the session's ``agent_id`` becomes ``to_agent``."""
        now = self._now()
        transition: dict[str, object] = {
            "from_agent": from_agent,
            "to_agent": to_agent,
            "reason": reason,
            "timestamp": now,
        }

        def add(rec: SessionRecord) -> SessionRecord:
            return replace(
                rec,
                agent_transitions=(*rec.agent_transitions, transition),
                agent_id=to_agent,
                updated_at=now,
            )

        return self._store.update_session(session_id, add)

    def end_session(self, session_id: str) -> SessionRecord:
        """Set ``ended_at`` (kept from the first end if ended twice)."""
        now = self._now()

        def end(rec: SessionRecord) -> SessionRecord:
            return replace(rec, ended_at=rec.ended_at or now, updated_at=now)

        return self._store.update_session(session_id, end)

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self._store.load_session(session_id)

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        return self._store.list_sessions(workspace_id)
