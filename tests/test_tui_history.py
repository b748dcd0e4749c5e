"""Pilot tests: the since-last-open notice and the journal of TUI actions,
on real session directories and real state files."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot

from core.config.records import AppConfig, UIConfig
from core.history import History
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.plan import PlanScreen


def app_for(base: Path, history: History | None = None) -> SesstuiApp:
    cfg = AppConfig(backends=(dirs_config(base),), ui=UIConfig(refresh_seconds=0.3))
    return SesstuiApp(cfg, history=history)


def notices(pilot: Pilot[int]) -> list[str]:
    return [f"{n.title}: {n.message}" for n in pilot.app._notifications]


async def test_since_last_open_says_what_came_and_went(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    gone = make_session(runs, age=timedelta(hours=2))
    make_session(runs, files={"a": "x"}, age=timedelta(hours=3))
    history = History(tmp_path / "state" / "last-inventory.json")
    async with app_for(runs, history).run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, history.path.exists, "the inventory saved")
        assert not any("Since last open" in n for n in notices(pilot))  # the first run
    shutil.rmtree(gone)
    make_session(runs, age=timedelta(minutes=1))
    async with app_for(runs, history).run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot, lambda: any("Since last open" in n for n in notices(pilot)), "the notice"
        )
        (text,) = [n for n in notices(pilot) if "Since last open" in n]
        assert "1 new" in text and "1 gone" in text, text


async def test_a_delete_from_the_dashboard_is_journaled(tmp_path: Path) -> None:
    victim = make_session(tmp_path, age=timedelta(days=1))
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 1, "row")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan")
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: not victim.exists(), "deleted")
        journal = app.inventory.journal
        assert journal is not None
        await wait_until(pilot, lambda: journal.read().entries, "the journal entry")
        (entry,) = journal.read().entries
        assert (entry.action, entry.source, entry.result) == ("delete", "tui", "ok")
        assert entry.command.startswith(f"sesstui delete runs:{victim.name}")
        # and the journal screen shows it
        await pilot.press("J")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "JournalScreen", "journal")
        await pilot.pause(0.3)
        assert "sesstui delete" in str(app.screen.query_one("#journal-command").render())
