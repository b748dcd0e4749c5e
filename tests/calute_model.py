"""A stand-in for calute's session module (``calute.session.models`` / ``store``).

calute is not released on PyPI, so the interop tests use this reader and writer
built from calute's documented behaviour (docs/interop.md):

* ``from_dict`` reads a missing optional key as its default and raises
  ``KeyError`` for a missing required one: ``session_id`` of a record,
  ``turn_id`` of a turn, ``call_id`` / ``tool_name`` of a tool call,
  ``to_agent`` of a transition;
* ``to_dict`` writes exactly the known keys, so calute's own save drops every
  key it does not know;
* ``FileSessionStore`` keeps ``{base}/{session_id}.json`` or
  ``{base}/{workspace_id}/{session_id}.json`` (plain ``write_text``);
* ``SessionManager``: ``start_session`` with an existing id overwrites,
  ``record_agent_transition`` appends and leaves ``agent_id`` as it was,
  ``end_session`` sets ``metadata["ended"] = True`` and touches ``updated_at``,
  a missing session raises ``ValueError``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class ToolCallRecord:
    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    result: Any = None
    status: str = "success"
    error: str | None = None
    duration_ms: float | None = None
    sandbox_context: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "tool_name": self.tool_name,
            "arguments": self.arguments,
            "result": self.result,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "sandbox_context": self.sandbox_context,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallRecord:
        return cls(
            call_id=data["call_id"],
            tool_name=data["tool_name"],
            arguments=data.get("arguments", {}),
            result=data.get("result"),
            status=data.get("status", "success"),
            error=data.get("error"),
            duration_ms=data.get("duration_ms"),
            sandbox_context=data.get("sandbox_context"),
            metadata=data.get("metadata", {}),
        )


@dataclass
class TurnRecord:
    turn_id: str
    agent_id: str | None = None
    prompt: str = ""
    response_content: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    started_at: str = ""
    ended_at: str | None = None
    status: str = "success"
    error: str | None = None
    audit_event_ids: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn_id": self.turn_id,
            "agent_id": self.agent_id,
            "prompt": self.prompt,
            "response_content": self.response_content,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "error": self.error,
            "audit_event_ids": list(self.audit_event_ids),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnRecord:
        return cls(
            turn_id=data["turn_id"],
            agent_id=data.get("agent_id"),
            prompt=data.get("prompt", ""),
            response_content=data.get("response_content"),
            tool_calls=[ToolCallRecord.from_dict(c) for c in data.get("tool_calls", [])],
            started_at=data.get("started_at", ""),
            ended_at=data.get("ended_at"),
            status=data.get("status", "success"),
            error=data.get("error"),
            audit_event_ids=data.get("audit_event_ids", []),
            metadata=data.get("metadata", {}),
        )


@dataclass
class AgentTransitionRecord:
    from_agent: str | None
    to_agent: str
    reason: str | None = None
    turn_id: str = ""
    timestamp: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_agent": self.from_agent,
            "to_agent": self.to_agent,
            "reason": self.reason,
            "turn_id": self.turn_id,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentTransitionRecord:
        return cls(
            from_agent=data.get("from_agent"),
            to_agent=data["to_agent"],
            reason=data.get("reason"),
            turn_id=data.get("turn_id", ""),
            timestamp=data.get("timestamp", ""),
        )


@dataclass
class SessionRecord:
    session_id: str
    workspace_id: str | None = None
    created_at: str = ""
    updated_at: str = ""
    agent_id: str | None = None
    turns: list[TurnRecord] = field(default_factory=list)
    agent_transitions: list[AgentTransitionRecord] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "workspace_id": self.workspace_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "agent_id": self.agent_id,
            "turns": [t.to_dict() for t in self.turns],
            "agent_transitions": [a.to_dict() for a in self.agent_transitions],
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionRecord:
        return cls(
            session_id=data["session_id"],
            workspace_id=data.get("workspace_id"),
            created_at=data.get("created_at", ""),
            updated_at=data.get("updated_at", ""),
            agent_id=data.get("agent_id"),
            turns=[TurnRecord.from_dict(t) for t in data.get("turns", [])],
            agent_transitions=[
                AgentTransitionRecord.from_dict(a) for a in data.get("agent_transitions", [])
            ],
            metadata=data.get("metadata", {}),
        )


class FileSessionStore:
    """One JSON file per session, flat or in a workspace directory."""

    def __init__(self, base_dir: str | Path) -> None:
        self._base = Path(base_dir)
        self._base.mkdir(parents=True, exist_ok=True)

    def _path(self, session: SessionRecord) -> Path:
        directory = self._base / session.workspace_id if session.workspace_id else self._base
        return directory / f"{session.session_id}.json"

    def _find(self, session_id: str) -> Path | None:
        flat = self._base / f"{session_id}.json"
        if flat.exists():
            return flat
        for child in sorted(self._base.iterdir()):
            if child.is_dir() and (child / f"{session_id}.json").exists():
                return child / f"{session_id}.json"
        return None

    def save_session(self, session: SessionRecord) -> None:
        path = self._path(session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(session.to_dict(), indent=2), encoding="utf-8")

    def load_session(self, session_id: str) -> SessionRecord | None:
        path = self._find(session_id)
        if path is None:
            return None
        return SessionRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def list_sessions(self, workspace_id: str | None = None) -> list[str]:
        if workspace_id is not None:
            ws = self._base / workspace_id
            return [p.stem for p in ws.glob("*.json")] if ws.is_dir() else []
        out = [p.stem for p in self._base.glob("*.json")]
        for child in self._base.iterdir():
            if child.is_dir():
                out += [p.stem for p in child.glob("*.json")]
        return out


class SessionManager:
    def __init__(self, store: FileSessionStore) -> None:
        self._store = store

    def _load(self, session_id: str) -> SessionRecord:
        session = self._store.load_session(session_id)
        if session is None:
            raise ValueError(f"Session not found: {session_id}")
        return session

    def start_session(
        self,
        workspace_id: str | None = None,
        agent_id: str | None = None,
        *,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SessionRecord:
        now = _now()
        session = SessionRecord(
            session_id=session_id or uuid.uuid4().hex,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            agent_id=agent_id,
            metadata=metadata or {},
        )
        self._store.save_session(session)
        return session

    def record_turn(self, session_id: str, turn: TurnRecord) -> None:
        session = self._load(session_id)
        session.turns.append(turn)
        session.updated_at = _now()
        self._store.save_session(session)

    def record_agent_transition(self, session_id: str, transition: AgentTransitionRecord) -> None:
        session = self._load(session_id)
        session.agent_transitions.append(transition)
        session.updated_at = _now()
        self._store.save_session(session)

    def end_session(self, session_id: str) -> None:
        session = self._load(session_id)
        session.updated_at = _now()
        session.metadata["ended"] = True
        self._store.save_session(session)

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self._store.load_session(session_id)
