"""The producer's side: start a session, record turns and hand-overs, end it.

Records are written in calute's shape (``calute.session.models``), so calute's
``FileSessionStore`` loads every session, turn and transition this manager
writes:

* a turn is ``{turn_id, agent_id, prompt, response_content, tool_calls,
  started_at, ended_at, status, error, audit_event_ids, metadata}``;
* a tool call is ``{call_id, tool_name, arguments, result, status, error,
  duration_ms, sandbox_context, metadata}``;
* a transition is ``{from_agent, to_agent, reason, turn_id, timestamp}``;
* ending a session sets ``metadata["ended"] = True`` and touches ``updated_at``.

Turns and transitions may be given as mappings or as calute's record objects
(anything with ``to_dict()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from core.errors import UsageError
from core.jsonstore.store import SessionRecord, SessionStore, validate_id


def utc_now() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class SupportsToDict(Protocol):
    """A calute record object (``TurnRecord``, ``ToolCallRecord``, ``AgentTransitionRecord``)."""

    def to_dict(self) -> Mapping[str, object]: ...


def _plain(value: object, what: str) -> dict[str, object]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, SupportsToDict):
        return dict(value.to_dict())
    raise UsageError(f"{what} is a {type(value).__name__}; pass a mapping or a calute record")


def _tool_call(value: object, where: str) -> dict[str, object]:
    call = _plain(value, where)
    name = call.get("tool_name")
    if not isinstance(name, str) or not name:
        raise UsageError(
            f"{where} has no 'tool_name'; calute needs call_id and tool_name on every tool call"
        )
    if not call.get("call_id"):
        call["call_id"] = uuid.uuid4().hex
    out: dict[str, object] = {
        "call_id": call["call_id"],
        "tool_name": name,
        "arguments": call.get("arguments", {}),
        "result": call.get("result"),
        "status": call.get("status", "success"),
        "error": call.get("error"),
        "duration_ms": call.get("duration_ms"),
        "sandbox_context": call.get("sandbox_context"),
        "metadata": call.get("metadata", {}),
    }
    out.update((k, v) for k, v in call.items() if k not in out)
    return out


def calute_turn(data: Mapping[str, object], *, now: str, where: str) -> dict[str, object]:
    """``data`` completed to calute's turn shape: a fresh ``turn_id`` when it has
    none, calute's defaults for missing keys, every tool call checked.

    A turn in the older ``{role, content, timestamp}`` shape becomes a prompt
    (role ``user``) or a response (any other role); its keys stay as they are.
    """
    turn = dict(data)
    if "prompt" not in turn and "response_content" not in turn and "content" in turn:
        key = "prompt" if turn.get("role") == "user" else "response_content"
        turn[key] = turn["content"]
    calls = turn.get("tool_calls") or []
    if not isinstance(calls, list | tuple):
        raise UsageError(f"{where}: 'tool_calls' must be a list, not {type(calls).__name__}")
    out: dict[str, object] = {
        "turn_id": turn.get("turn_id") or uuid.uuid4().hex,
        "agent_id": turn.get("agent_id"),
        "prompt": turn.get("prompt", ""),
        "response_content": turn.get("response_content"),
        "tool_calls": [_tool_call(c, f"{where}: tool_calls[{i}]") for i, c in enumerate(calls)],
        "started_at": turn.get("started_at") or turn.get("timestamp") or now,
        "ended_at": turn.get("ended_at"),
        "status": turn.get("status", "success"),
        "error": turn.get("error"),
        "audit_event_ids": list(_strings(turn.get("audit_event_ids"))),
        "metadata": turn.get("metadata", {}),
    }
    out.update((k, v) for k, v in turn.items() if k not in out)
    return out


def _strings(value: object) -> Iterable[object]:
    return value if isinstance(value, list | tuple) else ()


def calute_record(record: SessionRecord, *, now: str) -> SessionRecord:
    """``record`` in calute's shape: older turns get a ``turn_id`` and an older
    ``ended_at`` also sets ``metadata["ended"]``, so calute loads it whole."""
    turns = record.turns
    if any(not t.get("turn_id") for t in turns):
        turns = tuple(
            t if t.get("turn_id") else calute_turn(t, now=now, where=record.session_id)
            for t in turns
        )
    metadata = record.metadata
    if record.ended_at is not None and metadata.get("ended") is not True:
        metadata = {**metadata, "ended": True}
    if turns is record.turns and metadata is record.metadata:
        return record
    return replace(record, turns=turns, metadata=metadata)


class SessionManager:
    """Lifecycle of session records in a :class:`SessionStore`, with calute's semantics.

    Every mutation is one locked read-modify-write in the store (so turns
    recorded from several threads or processes are never lost), sets
    ``updated_at`` and persists.  A missing session raises
    :class:`~core.jsonstore.store.SessionMissing` (a ``ValueError``, as in
    calute); unreadable records raise CorruptRecord and are left untouched.
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
        """Create and persist a new record.

        An existing ``session_id`` is overwritten, as calute does (SessionExists
        only when it is stored in another workspace: one id, one file).
        """
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
        self._store.save_session(record)
        return record

    def record_turn(
        self,
        session_id: str,
        turn: Mapping[str, object] | SupportsToDict | None = None,
        *,
        prompt: str | None = None,
        response: str | None = None,
        tool_calls: Iterable[Mapping[str, object] | SupportsToDict] | None = None,
        agent_id: str | None = None,
        status: str | None = None,
        error: str | None = None,
        started_at: str | None = None,
        ended_at: str | None = None,
        metadata: Mapping[str, object] | None = None,
    ) -> SessionRecord:
        """Append a turn: a calute ``TurnRecord`` or mapping, or one built from
        ``prompt=`` / ``response=`` / ``tool_calls=`` and the other keywords.

        The turn gets a fresh ``turn_id`` unless it carries one, ``started_at``
        (now) and ``agent_id`` (the session's current agent) unless given.
        UsageError for a tool call without ``tool_name``.
        """
        data = _plain(turn, "turn") if turn is not None else {}
        given: dict[str, object | None] = {
            "prompt": prompt,
            "response_content": response,
            "agent_id": agent_id,
            "status": status,
            "error": error,
            "started_at": started_at,
            "ended_at": ended_at,
            "metadata": dict(metadata) if metadata is not None else None,
            "tool_calls": list(tool_calls) if tool_calls is not None else None,
        }
        data.update((k, v) for k, v in given.items() if v is not None)
        now = self._now()
        built = calute_turn(data, now=now, where=f"turn of session {session_id!r}")

        def add(rec: SessionRecord) -> SessionRecord:
            if built["agent_id"] is None:
                built["agent_id"] = rec.current_agent
            rec = calute_record(rec, now=now)
            return replace(rec, turns=(*rec.turns, built), updated_at=now)

        return self._store.update_session(session_id, add)

    def record_agent_transition(
        self,
        session_id: str,
        transition: Mapping[str, object] | SupportsToDict | str | None,
        to_agent: str | None = None,
        reason: str | None = None,
        *,
        turn_id: str = "",
    ) -> SessionRecord:
        """Append a hand-over: a calute ``AgentTransitionRecord`` or mapping, or
        ``(from_agent, to_agent, reason)``.

        The record's ``agent_id`` stays the first agent (as in calute); the
        current one is the last transition's ``to_agent``
        (:attr:`SessionRecord.current_agent`).
        """
        now = self._now()
        if isinstance(transition, str | None):
            if to_agent is None:
                raise UsageError(
                    f"a transition of session {session_id!r} needs to_agent "
                    "(record_agent_transition(sid, from_agent, to_agent))"
                )
            data: dict[str, object] = {"from_agent": transition, "to_agent": to_agent}
            if reason is not None:
                data["reason"] = reason
            if turn_id:
                data["turn_id"] = turn_id
        else:
            data = _plain(transition, "transition")
        if not isinstance(data.get("to_agent"), str):
            raise UsageError(f"a transition of session {session_id!r} has no 'to_agent' string")
        entry: dict[str, object] = {
            "from_agent": data.get("from_agent"),
            "to_agent": data["to_agent"],
            "reason": data.get("reason"),
            "turn_id": data.get("turn_id", ""),
            "timestamp": data.get("timestamp") or now,
        }
        entry.update((k, v) for k, v in data.items() if k not in entry)

        def add(rec: SessionRecord) -> SessionRecord:
            rec = calute_record(rec, now=now)
            return replace(rec, agent_transitions=(*rec.agent_transitions, entry), updated_at=now)

        return self._store.update_session(session_id, add)

    def end_session(self, session_id: str) -> SessionRecord:
        """Set ``metadata["ended"] = True`` and touch ``updated_at`` (calute's end)."""
        now = self._now()

        def end(rec: SessionRecord) -> SessionRecord:
            rec = calute_record(rec, now=now)
            return replace(rec, metadata={**rec.metadata, "ended": True}, updated_at=now)

        return self._store.update_session(session_id, end)

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self._store.load_session(session_id)

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        return self._store.list_sessions(workspace_id)
