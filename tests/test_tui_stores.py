"""Pilot tests: JSON-file session records in the dashboard (real files)."""

from __future__ import annotations

from pathlib import Path

from core.config.records import AppConfig, UIConfig
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.plan import PlanScreen
from tui.widgets.detail_panel import DetailPanel


async def test_json_records_rows_detail_and_delete(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    manager = SessionManager(FileSessionStore(base))
    live = manager.start_session(workspace_id="support", agent_id="triage")
    manager.record_turn(live.session_id, prompt="my order is late")
    manager.record_turn(live.session_id, response="let me check")
    done = manager.start_session(agent_id="billing")
    manager.end_session(done.session_id)
    (base / "broken.json").write_text('{"session_id": "broken", "turns": [')
    cfg = AppConfig(
        backends=(JsonBackendConfig(name="agents", kind="json", base=base),),
        ui=UIConfig(refresh_seconds=0.3),
    )
    app = SesstuiApp(cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 3, "three rows")
        rows = {s.name: s for s in t.shown.values()}
        assert rows[live.session_id].state.value == "active"
        assert rows[live.session_id].metadata["turns"] == "2"
        assert rows[done.session_id].state.value == "ended"
        assert rows["broken"].state.value == "corrupt"
        t.move_cursor(row=t.get_row_index(f"agents:support/{live.session_id}"))
        detail = dash(pilot).query_one(DetailPanel)
        await wait_until(pilot, lambda: "my order is late" in detail.record, "the record")
        # delete the ended one through the plan screen
        t.move_cursor(row=t.get_row_index(f"agents:{done.session_id}"))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan")
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: not (base / f"{done.session_id}.json").exists(), "deleted")
        assert (base / "support" / f"{live.session_id}.json").exists()
        assert (base / "broken.json").read_text().endswith("[")  # never rewritten
