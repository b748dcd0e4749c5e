"""Pilot tests: the dashboard at rest does nothing.

A finished log (a JSON transcript) ends its worker instead of spinning; a
refresh that brings no change writes no cell and does not re-sort; ages and
TTLs are worked out when rows are drawn, so the clock ticking costs only the
rows on screen."""

from __future__ import annotations

from pathlib import Path

from core.jsonstore.manager import SessionManager
from core.jsonstore.store import FileSessionStore
from core.settings import AppConfig, JsonBackendConfig, UIConfig
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.merged_logs import MergedLogScreen


def json_config(tmp_path: Path) -> AppConfig:
    base = tmp_path / "agents"
    manager = SessionManager(FileSessionStore(base))
    record = manager.start_session(agent_id="triage")
    manager.record_turn(record.session_id, prompt="where is my order")
    return AppConfig(
        backends=(JsonBackendConfig(name="agents", kind="json", base=base),),
        ui=UIConfig(refresh_seconds=0),
    )


async def test_a_json_sessions_log_worker_ends(tmp_path: Path) -> None:
    app = SesstuiApp(json_config(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        pane = screen.log_pane
        await wait_until(
            pilot, lambda: any("where is my order" in t for t in pane.lines), "the transcript"
        )
        # the transcript is all there is: its worker ends (it used to spin on
        # read_available, which returns at once on a finished stream)
        await wait_until(
            pilot,
            lambda: not any(w.group == "tail" and w.is_running for w in screen.workers),
            "the tail worker to end",
        )


async def test_a_merged_log_of_finished_sources_ends_its_worker(tmp_path: Path) -> None:
    app = SesstuiApp(json_config(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        await wait_until(pilot, lambda: screen.table.selected is not None, "a row")
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MergedLogScreen), "merged screen")
        merged = app.screen
        assert isinstance(merged, MergedLogScreen)
        await wait_until(
            pilot, lambda: any(t.endswith("── log ended ──") for t in merged.pane.lines), "the end"
        )
        tail = merged._tail
        assert tail is not None
        await wait_until(pilot, lambda: tail.alive == 0, "the source thread to end")
        await wait_until(
            pilot,
            lambda: not any(w.is_running for w in merged.workers),
            "the merged worker to end",
        )
        assert tail.done
