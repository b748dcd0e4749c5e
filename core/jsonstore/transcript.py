"""A JSON session's turns as people read them: transcript lines for the log
pane (:func:`turn_lines`), inspection sections (:func:`record_sections`) and
the finished line stream the backend's ``tail`` returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.model import LogLine

if TYPE_CHECKING:
    from core.inspection import Section


def short_text(value: object, limit: int = 200) -> str:
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
        return f"  ⚙ {short_text(call)}"
    args = call.get("arguments")
    text = f"  ⚙ {call.get('tool_name') or '?'}({short_text(args, 80) if args else ''})"
    if call.get("error"):
        text += f" error: {short_text(call['error'], 120)}"
    elif call.get("result") is not None:
        text += f" → {short_text(call['result'], 120)}"
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
        return [short_text(turn)]
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
        lines.append(f"  ✗ {turn.get('status') or 'error'}: {short_text(turn.get('error') or '')}")
    return lines or [f"{agent}: (empty turn)"]


def _turn_section(n: int, turn: object) -> Section:
    """One turn: its fields, the prompt and response in full, a child per tool call."""
    from core.inspection import Section

    if not isinstance(turn, dict):
        return Section.make(f"turn {n}", lines=[short_text(turn, 2000)])
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
            else short_text(response, 4000)
        )
    raw_calls = turn.get("tool_calls")
    calls: list[object] = raw_calls if isinstance(raw_calls, list) else []
    children = [
        Section.make(
            f"tool call {m}: {c.get('tool_name') or '?'}",
            {
                k: (short_text(c.get(k), 4000) if k in ("arguments", "result") else c.get(k))
                for k in ("call_id", "status", "duration_ms", "arguments", "result", "error")
                if c.get(k) is not None
            },
        )
        if isinstance(c, dict)
        else Section.make(f"tool call {m}", lines=[short_text(c)])
        for m, c in enumerate(calls, 1)
    ]
    return Section.make(f"turn {n}", fields, children=children)


class LinesStream:
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


def record_sections(path: Path, raw: bytes, data: object) -> list[Section]:
    """The record at ``path`` (its bytes, and their JSON or None) as sections:
    its fields, metadata, every turn (prompt, response, tool calls with
    arguments and results) and the agent transitions.  A record that is not
    a JSON object shows its raw text."""
    from core.inspection import Section

    if not isinstance(data, dict):
        text = raw.decode("utf-8", errors="replace")
        return [
            Section.make("record (corrupt: not a JSON object)", {"file": path}, text.splitlines())
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
                f"metadata ({len(meta)})", {k: short_text(v, 2000) for k, v in meta.items()}
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
                    else short_text(m)
                    for m in moves
                ],
            )
        )
    return out
