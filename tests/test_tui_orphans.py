"""The orphans screen: Pilot tests on real dirs + JSON backends, and its looks
(snapshots over a fixed report, frozen clock)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import LoadingIndicator, Static

from core.config.records import AppConfig, UIConfig
from core.errors import BackendUnavailable
from core.inventory import Inventory
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.model import SessionRef
from core.orphans import Orphan, OrphanReport
from tests.fakes import frozen_clock, sample_backends, sample_config
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import steady, wait_until
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.error import ErrorScreen
from tui.screens.orphans import OrphansScreen, row_key
from tui.screens.plan import PlanScreen

SnapCompare = Callable[..., bool]


def real_app(tmp_path: Path) -> tuple[SesstuiApp, Path, Path]:
    runs = tmp_path / "runs"
    agents = tmp_path / "agents"
    SessionManager(FileSessionStore(agents)).start_session(workspace_id="busy")
    (agents / "empty-ws").mkdir()
    config = AppConfig(
        backends=(
            dirs_config(runs, create_base=True),
            JsonBackendConfig(name="agents", kind="json", base=agents),
        ),
        ui=UIConfig(refresh_seconds=0),
    )
    return SesstuiApp(config, live=False), runs, agents


async def open_orphans(pilot: Pilot[int], screen: OrphansScreen | None = None) -> OrphansScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), "dashboard")
    orphans = screen or OrphansScreen()
    await pilot.app.push_screen(orphans)
    await wait_until(pilot, lambda: orphans.report is not None, "the first report")
    return orphans


def keys_of(screen: OrphansScreen) -> list[str]:
    return [str(k.value) for k in screen.table.rows]


def shown_keys(screen: OrphansScreen) -> list[str]:
    """Row keys in display order (after the group sort)."""
    table = screen.table
    return [
        str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value)
        for i in range(table.row_count)
    ]


async def test_rows_grouped_summary_and_delete(tmp_path: Path) -> None:
    app, runs, agents = real_app(tmp_path)
    old = make_session(runs, files={"logs/app.log": "x" * 5000})
    newer = make_session(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_orphans(pilot)
        ws_key = f"workspace|{agents / 'empty-ws'}"
        old_key = row_key(next(o for o in screen.report or () if o.path == str(old)))
        # dirs first, then the workspace: grouped by category
        assert shown_keys(screen)[-1] == ws_key
        assert set(shown_keys(screen)) == {
            f"dir|runs:{old.name}",
            f"dir|runs:{newer.name}",
            ws_key,
        }
        summary = str(screen.query_one("#orphans-summary", Static).render())
        assert summary.startswith("dir 2 · workspace 1 · kv-no-ttl 0 · container 0 · ")
        # a workspace folder is not a session: d does nothing there
        screen.table.move_cursor(row=screen.table.get_row_index(ws_key))
        await pilot.pause()
        assert screen.check_action("delete", ()) is None
        detail = str(screen.query_one("#orphans-detail", Static).render())
        assert "not a session" in detail and str(agents / "empty-ws") in detail
        await pilot.press("d")
        await pilot.pause(0.2)
        assert isinstance(app.screen, OrphansScreen)
        # a directory: d plans the delete, the plan screen confirms it
        screen.table.move_cursor(row=screen.table.get_row_index(old_key))
        await pilot.pause()
        assert screen.check_action("delete", ()) is True
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        plan = app.screen
        assert isinstance(plan, PlanScreen) and plan.count == 1
        assert plan.plans[0].entries[0].id == old.name
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: not old.exists(), "the directory removed")
        await wait_until(pilot, lambda: old_key not in keys_of(screen), "its row gone")
        assert newer.exists()
        assert set(keys_of(screen)) == {f"dir|runs:{newer.name}", ws_key}


async def test_reload_keeps_rows_and_adds_new_ones(tmp_path: Path) -> None:
    app, runs, agents = real_app(tmp_path)
    only = make_session(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_orphans(pilot)
        first = screen.report
        assert keys_of(screen) == [f"dir|runs:{only.name}", f"workspace|{agents / 'empty-ws'}"]
        (agents / "another").mkdir()
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.report is not first, "a new report")
        assert shown_keys(screen) == [
            f"dir|runs:{only.name}",
            f"workspace|{agents / 'another'}",
            f"workspace|{agents / 'empty-ws'}",
        ]
        assert screen.table.border_title == "Orphans 3"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")


async def test_no_orphans_and_a_failing_loader(tmp_path: Path) -> None:
    app, _runs, agents = real_app(tmp_path)
    (agents / "empty-ws").rmdir()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_orphans(pilot)
        assert screen.table.row_count == 0
        summary = str(screen.query_one("#orphans-summary", Static).render())
        assert summary == "No orphans: nothing is left behind."
        assert screen.check_action("delete", ()) is None
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")

        def broken(inv: Inventory, cfg: AppConfig) -> OrphanReport:
            raise BackendUnavailable("the engine is gone; start it")

        failing = OrphansScreen(broken)
        await app.push_screen(failing)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        assert app.screen.error_message == "the engine is gone; start it"  # type: ignore[attr-defined]


async def test_looking_for_orphans_stays_visible_while_the_report_loads(tmp_path: Path) -> None:
    app, _runs, _agents = real_app(tmp_path)
    gate = threading.Event()

    def slow(inv: Inventory, cfg: AppConfig) -> OrphanReport:
        gate.wait(10)
        return OrphanReport(())

    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        screen = OrphansScreen(slow)
        await app.push_screen(screen)
        await pilot.pause(0.1)
        try:
            summary = screen.query_one("#orphans-summary", Static)
            assert screen.busy and screen.report is None
            assert str(summary.render()) == "Looking for orphans…"
            # Widget.loading would cover the screen with a LoadingIndicator
            assert not screen.loading and not screen.query(LoadingIndicator)
            assert summary.display and summary.region.height > 0
        finally:
            gate.set()
        await wait_until(pilot, lambda: screen.report is not None, "the report")
        assert not screen.busy
        assert str(summary.render()) == "No orphans: nothing is left behind."
        gate.clear()
        await pilot.press("r")
        await pilot.pause(0.1)
        try:
            assert screen.busy and str(summary.render()) == "Looking for orphans…"
            assert not screen.query(LoadingIndicator)
        finally:
            gate.set()
        await wait_until(pilot, lambda: not screen.busy, "the second report")


@pytest.mark.tmux
async def test_delete_refuses_a_dir_that_is_no_longer_an_orphan(
    tmp_path: Path, tmux_server: TmuxServer
) -> None:
    runs = tmp_path / "runs"
    stale = make_session(runs)
    config = AppConfig(
        backends=(dirs_config(runs), tmux_server.config("tm")),
        ui=UIConfig(refresh_seconds=0),
    )
    app = SesstuiApp(config, live=False)
    key = f"dir|runs:{stale.name}"
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_orphans(pilot)
        assert keys_of(screen) == [key]
        first = screen.report
        # after the report was shown, a tmux session starts working in the dir
        tmux_server.new_session("work", stale)
        screen.table.move_cursor(row=screen.table.get_row_index(key))
        await pilot.pause()
        assert screen.check_action("delete", ()) is True  # the row still says orphan
        await pilot.press("d")
        await wait_until(
            pilot,
            lambda: any("no longer an orphan" in n.message for n in app._notifications),
            "the refusal notice",
        )
        (notice,) = [n.message for n in app._notifications if "no longer" in n.message]
        assert first is not None
        (orphan,) = first.orphans
        assert (
            notice
            == f"{orphan.label}: not deleted, it is no longer an orphan: used by tm:work (cwd here)"
        )
        await wait_until(pilot, lambda: screen.report is not first, "the report reloaded")
        assert not isinstance(app.screen, PlanScreen)
        assert isinstance(app.screen, OrphansScreen)
        assert stale.is_dir()
        assert keys_of(screen) == []  # no longer listed as an orphan


# -------------------------------------------------------------- snapshots

REPORT = OrphanReport(
    (
        Orphan(
            "dir",
            SessionRef("runs", "session_2026-11-21-09-00-00_4242_aaaa"),
            "/srv/runs/session_2026-11-21-09-00-00_4242_aaaa",
            "pid 4242 gone; no tmux session or container uses it",
            3_500_000,
            True,
            "runs",
            "2026-11-21-09-00-00_aaaaaa",
        ),
        Orphan(
            "dir",
            SessionRef("runs", "session_2026-11-20-18-30-00_4100_bbbb"),
            "/srv/runs/session_2026-11-20-18-30-00_4100_bbbb",
            "pid 4100 gone; no tmux session or container uses it; named by web:sess-1",
            120_000,
            True,
            "runs",
            "2026-11-20-18-30-00_bbbbbb",
        ),
        Orphan(
            "workspace",
            None,
            "/srv/agents/old-team",
            "no session records (2 other files)",
            8192,
            False,
            "agents",
            "old-team",
        ),
        Orphan(
            "kv-no-ttl",
            SessionRef("web", "sess-ann-1700000000-0a1b2c3d"),
            "session:sess-ann-1700000000-0a1b2c3d",
            "key has no TTL; it never expires",
            None,
            True,
            "web",
            "sess-ann-1700000000-0a1b2c3d",
        ),
        Orphan(
            "container",
            SessionRef("local-docker", "old-api"),
            None,
            "spec 'old-api' is not in the config (stopped)",
            None,
            True,
            "local-docker",
            "old-api",
        ),
    ),
    ("redis: connection refused; not checked",),
)


def before_orphans() -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await open_orphans(pilot, OrphansScreen(lambda inv, cfg: REPORT))
        await pilot.pause(0.2)
        await steady(pilot)

    return run


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_orphans_screen_looks(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    config = sample_config()
    app = SesstuiApp(
        config,
        inventory=Inventory(sample_backends(), config=config),
        clock=frozen_clock,
        live=False,
    )
    assert snap_compare(app, terminal_size=size, run_before=before_orphans())
