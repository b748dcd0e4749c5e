"""Pilot tests: tmux sessions in the dashboard, against a real tmux server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.config.records import AppConfig, SessionSpec, UIConfig
from core.tmux.schema import TmuxBackendConfig
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tests.tmux_fixtures import _socket_name_fixture, sessions_on, tmux_on  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.start import StartScreen

pytestmark = pytest.mark.tmux


@pytest.fixture
def socket(socket_name: str) -> str:
    return socket_name


tmux = tmux_on


def app_with(socket: str, runs: Path, **specs: SessionSpec) -> SesstuiApp:
    cfg = AppConfig(
        backends=(
            dirs_config(runs, name="runs"),
            TmuxBackendConfig(name="work", kind="tmux", socket_name=socket),
        ),
        sessions=specs,
        ui=UIConfig(refresh_seconds=0.3),
    )
    return SesstuiApp(cfg)


def sleeper(name: str, **kw: object) -> SessionSpec:
    cmd = (sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(600)")
    return SessionSpec(name=name, backend="work", command=cmd, stop_timeout=2, **kw)  # type: ignore[arg-type]


async def test_start_from_picker_then_stop_with_confirm(socket: str, tmp_path: Path) -> None:
    app = app_with(socket, tmp_path / "runs", bot=sleeper("bot"), other=sleeper("other"))
    (tmp_path / "runs").mkdir()
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await pilot.pause(0.5)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StartScreen), "picker")
        picker = app.screen
        assert isinstance(picker, StartScreen)
        assert [s.name for s in picker.specs] == ["bot", "other"]
        await pilot.press("enter")  # the first: bot
        await wait_until(pilot, lambda: "bot" in sessions_on(socket), "tmux session")
        await wait_until(pilot, lambda: "work:bot" in t.shown, "the tmux row")
        row = t.shown["work:bot"]
        assert row.kind == "tmux" and row.attachable
        # the picker now offers only what is not running
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StartScreen), "picker again")
        assert [s.name for s in app.screen.specs] == ["other"]  # type: ignore[attr-defined]
        await pilot.press("escape")
        # select bot and stop it: Cancel first, then Kill now
        t.move_cursor(row=t.get_row_index("work:bot"))
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        await pilot.press("enter")  # Cancel has the focus
        await pilot.pause(0.3)
        assert "bot" in sessions_on(socket)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm again")
        await pilot.press("tab", "tab", "enter")  # -> Kill now
        await wait_until(pilot, lambda: "bot" not in sessions_on(socket), "killed")
        await wait_until(pilot, lambda: "work:bot" not in t.shown, "row gone")


async def test_tmux_pane_in_a_session_dir_is_related(socket: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sdir = make_session(runs)
    tmux(socket, "new-session", "-d", "-s", "job", "-c", str(sdir), "sleep 600")
    app = app_with(socket, runs)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: "work:job" in t.shown, "the tmux row")
        rel = dash(pilot).relations
        ref = t.shown["work:job"].ref
        assert [r.id for r in rel.get(ref, [])] == [sdir.name]
        t.move_cursor(row=t.get_row_index("work:job"))
        await pilot.pause(0.2)
        detail = dash(pilot).query_one("#detail")
        assert any("runs:" in r for r in detail.related)  # type: ignore[attr-defined]
