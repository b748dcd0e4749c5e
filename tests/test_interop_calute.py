"""calute interop, both ways, on real files: what core writes loads in calute
(every turn and transition), and what calute writes core reads and shows
(ended, turns, tool calls), prunes and appends to.

calute is not on PyPI: :mod:`tests.calute_model` is a reader/writer built from
calute's documented format and semantics.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config.records import AppConfig, UIConfig
from core.errors import UsageError
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore, SessionExists, SessionRecord
from core.model import PruneReason, State
from tests import calute_model as calute
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp


def backend(base: Path, **kw: object) -> JsonBackend:
    return JsonBackend(JsonBackendConfig(name="agents", kind="json", base=base, **kw))  # type: ignore[arg-type]


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


# -- core writes, calute reads ------------------------------------------------------


def test_core_records_load_in_calute_with_every_turn_and_transition(tmp_path: Path) -> None:
    core = SessionManager(FileSessionStore(tmp_path))
    rec = core.start_session("support", agent_id="triage", metadata={"user": "ann"})
    core.record_turn(
        rec.session_id,
        prompt="my order #1182 is late",
        response="it ships tomorrow",
        tool_calls=[
            {"tool_name": "carrier_lookup", "arguments": {"order": 1182}, "result": "in transit"}
        ],
    )
    core.record_agent_transition(rec.session_id, "triage", "billing", reason="refund asked")
    core.record_turn(
        rec.session_id,
        calute.TurnRecord(
            turn_id="t-own",
            agent_id="billing",
            prompt="refund please",
            response_content=None,
            status="error",
            error="card declined",
        ),
    )
    core.record_agent_transition(
        rec.session_id, calute.AgentTransitionRecord("billing", "triage", "done", "t-own")
    )
    core.end_session(rec.session_id)

    got = calute.SessionManager(calute.FileSessionStore(tmp_path)).get_session(rec.session_id)
    assert got is not None
    assert got.workspace_id == "support" and got.metadata == {"user": "ann", "ended": True}
    assert got.agent_id == "triage"  # transitions leave the first agent
    assert [t.prompt for t in got.turns] == ["my order #1182 is late", "refund please"]
    first, second = got.turns
    assert first.turn_id and first.turn_id != second.turn_id and second.turn_id == "t-own"
    assert first.agent_id == "triage" and first.response_content == "it ships tomorrow"
    assert first.status == "success" and first.started_at
    (call,) = first.tool_calls
    assert call.tool_name == "carrier_lookup" and call.call_id
    assert call.arguments == {"order": 1182} and call.result == "in transit"
    assert (second.status, second.error, second.agent_id) == ("error", "card declined", "billing")
    assert [(a.from_agent, a.to_agent, a.reason, a.turn_id) for a in got.agent_transitions] == [
        ("triage", "billing", "refund asked", ""),
        ("billing", "triage", "done", "t-own"),
    ]
    assert all(a.timestamp for a in got.agent_transitions)
    data = json.loads((tmp_path / "support" / f"{rec.session_id}.json").read_text())
    assert "ended_at" not in data  # calute has no such key; ended is metadata.ended


def test_an_older_core_record_becomes_loadable_on_its_next_write(tmp_path: Path) -> None:
    """Records older sesstui versions wrote ({role, content} turns, ended_at)
    fail in calute (KeyError: 'turn_id'); the next write completes them."""
    old: dict[str, object] = {
        "session_id": "old",
        "workspace_id": None,
        "agent_id": "a",
        "created_at": ago(3),
        "updated_at": ago(2),
        "turns": [
            {"role": "user", "content": "hi", "timestamp": ago(3)},
            {"role": "assistant", "content": "hello", "timestamp": ago(3)},
        ],
        "agent_transitions": [],
        "metadata": {},
        "ended_at": ago(2),
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    store = calute.FileSessionStore(tmp_path)
    with pytest.raises(KeyError, match="turn_id"):
        store.load_session("old")
    row = backend(tmp_path).get("old")
    assert row.state is State.ENDED  # the old marker still counts
    SessionManager(FileSessionStore(tmp_path)).record_turn("old", prompt="again?")
    got = store.load_session("old")
    assert got is not None
    assert [(t.prompt, t.response_content) for t in got.turns] == [
        ("hi", None),
        ("", "hello"),
        ("again?", None),
    ]
    assert len({t.turn_id for t in got.turns}) == 3
    assert got.metadata["ended"] is True


def test_record_turn_refuses_a_tool_call_calute_cannot_load(tmp_path: Path) -> None:
    core = SessionManager(FileSessionStore(tmp_path))
    rec = core.start_session(agent_id="a")
    with pytest.raises(UsageError, match=r"tool_calls\[0\] has no 'tool_name'") as err:
        core.record_turn(rec.session_id, prompt="x", tool_calls=[{"arguments": {}}])
    assert rec.session_id in err.value.message
    with pytest.raises(UsageError, match="to_agent"):
        core.record_agent_transition(rec.session_id, "a", None)
    loaded = calute.FileSessionStore(tmp_path).load_session(rec.session_id)
    assert loaded is not None and loaded.turns == []  # nothing half-written


def test_manager_semantics_match_calute(tmp_path: Path) -> None:
    core = SessionManager(FileSessionStore(tmp_path))
    core.start_session(agent_id="a", session_id="s", metadata={"v": 1})
    core.record_turn("s", prompt="p")
    again = core.start_session(agent_id="b", session_id="s")  # overwrites, as calute does
    got = core.get_session("s")
    assert got == again and got.turns == () and got.agent_id == "b"
    after = core.record_agent_transition("s", "b", "c")
    assert after.agent_id == "b" and after.current_agent == "c"  # calute keeps the first agent
    with pytest.raises(ValueError, match="missing"):
        core.record_turn("missing", prompt="x")
    with pytest.raises(ValueError, match="missing"):
        core.record_agent_transition("missing", "a", "b")
    with pytest.raises(ValueError, match="missing"):
        core.end_session("missing")
    core.start_session("ws1", session_id="one")
    with pytest.raises(SessionExists, match="ws1"):  # one id, one file: never a twin
        core.start_session("ws2", session_id="one")


# -- calute writes, core reads and shows ------------------------------------------------


def _calute_sessions(base: Path) -> calute.SessionManager:
    mgr = calute.SessionManager(calute.FileSessionStore(base))
    live = mgr.start_session("support", "triage", session_id="live")
    mgr.record_turn(
        live.session_id,
        calute.TurnRecord(
            turn_id="t1",
            agent_id="triage",
            prompt="where is my parcel?\nit is late",
            response_content="it ships tomorrow",
            tool_calls=[
                calute.ToolCallRecord(
                    "c1", "carrier_lookup", {"order": 7}, result="in transit", duration_ms=12
                ),
                calute.ToolCallRecord(
                    "c2", "refund", {"order": 7}, status="error", error="not allowed"
                ),
            ],
        ),
    )
    mgr.record_agent_transition(live.session_id, calute.AgentTransitionRecord("triage", "billing"))
    done = mgr.start_session(agent_id="billing", session_id="done")
    mgr.record_turn(done.session_id, calute.TurnRecord(turn_id="d1", prompt="bye"))
    mgr.end_session(done.session_id)
    return mgr


def test_calute_sessions_show_with_state_turns_and_current_agent(tmp_path: Path) -> None:
    _calute_sessions(tmp_path)
    rows = {s.id: s for s in backend(tmp_path).list_sessions()}
    assert set(rows) == {"support/live", "done"}
    live, done = rows["support/live"], rows["done"]
    assert live.state is State.ACTIVE and done.state is State.ENDED
    assert live.metadata["turns"] == "1" and live.metadata["transitions"] == "1"
    assert live.metadata["agent"] == "billing" and live.metadata["first_agent"] == "triage"
    assert live.info == "agent billing · 1 turn · ws support"
    assert (
        done.metadata["ended_at"] == json.loads((tmp_path / "done.json").read_text())["updated_at"]
    )


def test_the_transcript_shows_prompt_tool_calls_and_response(tmp_path: Path) -> None:
    _calute_sessions(tmp_path)
    lines = [line.text for line in backend(tmp_path).tail("support/live", lines=50)]
    assert lines == [
        "user: where is my parcel? ⏎ it is late",
        '  ⚙ carrier_lookup({"order": 7}) → in transit [12ms]',
        '  ⚙ refund({"order": 7}) error: not allowed [error]',
        "triage: it ships tomorrow",
    ]
    assert [line.text for line in backend(tmp_path).tail("support/live", lines=1)] == [
        "triage: it ships tomorrow"
    ]


def test_calute_ended_sessions_are_pruned_as_ended(tmp_path: Path) -> None:
    store = calute.FileSessionStore(tmp_path)
    for sid, ended, days in (("old", True, 40), ("fresh", True, 2), ("open", False, 90)):
        rec = calute.SessionRecord(sid, created_at=ago(days + 1), updated_at=ago(days))
        if ended:
            rec.metadata["ended"] = True
        store.save_session(rec)
    b = backend(tmp_path, prune_after_days=30)
    plan = b.plan_prune()
    assert [(e.id, e.reason) for e in plan.entries] == [("old", PruneReason.AGE)]
    assert b.prune(plan).ok
    assert sorted(store.list_sessions()) == ["fresh", "open"]


def test_core_appends_to_a_calute_record_and_calute_still_loads_it(tmp_path: Path) -> None:
    cmgr = _calute_sessions(tmp_path)
    core = SessionManager(FileSessionStore(tmp_path))
    core.record_turn("live", prompt="and the refund?", response="approved")
    got = cmgr.get_session("live")
    assert got is not None
    assert got.turns[0].turn_id == "t1" and len(got.turns) == 2
    assert got.turns[1].agent_id == "billing"  # the current agent, after the hand-over
    assert [c.call_id for c in got.turns[0].tool_calls] == ["c1", "c2"]
    loaded = FileSessionStore(tmp_path).load_session("live")
    assert isinstance(loaded, SessionRecord) and not loaded.ended


async def test_dashboard_log_pane_shows_the_calute_transcript(tmp_path: Path) -> None:
    _calute_sessions(tmp_path)
    cfg = AppConfig(
        backends=(JsonBackendConfig(name="agents", kind="json", base=tmp_path),),
        ui=UIConfig(refresh_seconds=0.3),
    )
    app = SesstuiApp(cfg)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = dash(pilot)
        t = screen.table
        await wait_until(pilot, lambda: len(t.shown) == 2, "two rows")
        assert t.shown["agents:done"].state is State.ENDED
        t.move_cursor(row=t.get_row_index("agents:support/live"))
        await wait_until(
            pilot,
            lambda: any("⚙ carrier_lookup" in line for line in screen.log_pane.lines),
            "the tool call in the log pane",
        )
        shown = list(screen.log_pane.lines)
        assert any(line.endswith("user: where is my parcel? ⏎ it is late") for line in shown)
        assert any(line.endswith("triage: it ships tomorrow") for line in shown)
