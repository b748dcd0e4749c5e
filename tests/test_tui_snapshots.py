"""Snapshot tests: how each screen looks at 80x24 and 120x40, frozen clock.

Data comes from tests/fakes.py so the pictures are the same on every machine.
Behaviour is tested in test_tui_pilot.py against real directories.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from msgspec.structs import replace
from textual.pilot import Pilot

from core.inventory import Inventory
from tests.fakes import frozen_clock, sample_backends, sample_config
from tests.pilot_helpers import steady, wait_until
from tui.app import SesstuiApp
from tui.screens.dashboard import DashboardScreen

SIZES = [(80, 24), (120, 40)]
SnapCompare = Callable[..., bool]


def make_app(
    *,
    down: bool = False,
    tmux: bool = False,
    docker: bool = False,
    stores: bool = False,
    theme: str = "sesstui-dark",
    protected: tuple[str, ...] = (),
    keymap: dict[str, str] | None = None,
) -> SesstuiApp:
    config = sample_config()
    if keymap:
        config = replace(config, ui=replace(config.ui, keymap=keymap))
    backends = sample_backends(down=down, tmux=tmux, docker=docker, stores=stores)
    inv = Inventory(backends, config=config, protected=protected)
    return SesstuiApp(config, inventory=inv, clock=frozen_clock, live=False, theme=theme)


async def settle(pilot: Pilot[int]) -> None:
    """Wait until the refresh worker has finished and the log has its lines."""
    app = pilot.app

    def settled() -> bool:
        screen = app.screen
        if not isinstance(screen, DashboardScreen):
            return False
        refreshing = any(w.group == "refresh" and w.is_running for w in app.workers)
        return not refreshing and screen.log_pane.line_count > 1 and not screen._refreshing

    await wait_until(pilot, settled, "the first refresh and the log's lines", timeout=30)
    await pilot.pause(0.05)


def before(*keys: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
        await settle(pilot) if not keys else await pilot.pause(0.3)
        await steady(pilot)

    return run


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_prune_plan_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=before("p"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_help_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=before("question_mark"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_error_state_backend_down(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(down=True), terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_filter(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await before("slash", "c", "i")(pilot)
        # the query applies once typing pauses (a debounce): wait for it
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_until(pilot, lambda: screen.table.filter_text == "ci", "the filter applied")
        await steady(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run)


@pytest.mark.parametrize("theme", ["sesstui-light", "sesstui-16", "sesstui-dusk"])
def test_dashboard_themes(snap_compare: SnapCompare, theme: str) -> None:
    assert snap_compare(make_app(theme=theme), terminal_size=(80, 24), run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_with_tmux_rows(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # the cursor on "bot": its pane cwd is inside a session dir, so Details shows the relation
    keys = ("G", "up", "up", "up", "up")  # from the bottom (ci rows) up to "bot"
    assert snap_compare(make_app(tmux=True), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_start_picker(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(tmux=True), terminal_size=size, run_before=before("s"))


def test_stop_confirm(snap_compare: SnapCompare) -> None:
    keys = ("G", "up", "up", "up", "up", "x")
    assert snap_compare(make_app(tmux=True), terminal_size=(80, 24), run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_with_docker_rows(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("G", "up")  # the running container "web"
    app = make_app(tmux=True, docker=True)
    assert snap_compare(app, terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_with_kv_and_json_rows(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # the TTL column counts down from the frozen clock; bob's 38s shows as expiring
    keys = ("G", "up", "up", "up")  # bob's KV session
    app = make_app(stores=True)
    assert snap_compare(app, terminal_size=size, run_before=before(*keys))


def test_extend_dialog(snap_compare: SnapCompare) -> None:
    keys = ("G", "up", "up", "up", "e", "2", "h")
    assert snap_compare(make_app(stores=True), terminal_size=(80, 24), run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_all_kinds(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = make_app(tmux=True, docker=True, stores=True)
    assert snap_compare(app, terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_query_error(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("slash", *"age>1d", "space", *"sise>1")

    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        # no pause between keys may apply a query half typed ("age>1d sis"):
        # on a loaded machine one did, and the rows in the picture changed
        screen.filter_debounce = 600
        await before(*keys)(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_sorted_by_size_and_selected(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("greater_than_sign", "greater_than_sign", "space", "space")
    assert snap_compare(make_app(), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_bulk_stop_confirm(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # select the tmux sessions "bot" and the one under it, then stop both
    keys = ("G", "up", "up", "up", "up", "space", "space", "x")
    assert snap_compare(make_app(tmux=True), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_typed_confirm_protected(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # a prune of a protected backend: the count must be typed first, in the
    # box that has the focus; typed right, the Prune button is enabled
    app = make_app(protected=("runs",))
    assert snap_compare(app, terminal_size=size, run_before=before("p", "3"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_log_search(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("l", "slash", *"warn", "enter")
    assert snap_compare(make_app(), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_help_with_remapped_keys(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = make_app(keymap={"sessions.prune": "P", "sessions.delete": "D,delete"})
    assert snap_compare(app, terminal_size=size, run_before=before("question_mark"))


# --- the operator's console (#13): focus, layouts, the command line ---------------


@pytest.mark.parametrize("theme", ["sesstui-dark", "sesstui-light", "sesstui-16", "sesstui-dusk"])
def test_focus_in_the_log_pane(snap_compare: SnapCompare, theme: str) -> None:
    # the log pane's heavy border shows the focus; the table's row stays highlighted
    app = make_app(theme=theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=before("l"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_details_in_the_logs_place(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # 80x24 is stacked: D puts the details where the log was; 120x40 is side
    # by side: D hides the details and the log takes the width
    assert snap_compare(make_app(), terminal_size=size, run_before=before("D"))


def test_side_by_side_at_80_columns(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=before("L"))


def _app_with_views() -> SesstuiApp:
    app = make_app(tmux=True)
    app.config = replace(app.config, views={"stale": "age>7d", "bots": "name:bot*"})
    return app


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_command_line_completion(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("colon", "s")  # matches: stale (a view); the suggestion shows greyed
    assert snap_compare(_app_with_views(), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_view_in_the_header(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("colon", "t", "m", "u", "x", "enter")
    assert snap_compare(_app_with_views(), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_stats_column(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # the sample backends have no live stats: the column says "-" (kv, tmux...)
    app = make_app(tmux=True)
    assert snap_compare(app, terminal_size=size, run_before=before("S"))


def test_column_chooser(snap_compare: SnapCompare) -> None:
    # State unticked, Size moved up one, the cursor on it
    keys = ("C", "down", "down", "space", "down", "down", "down", "K")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=before(*keys))


def test_table_with_a_hidden_column(snap_compare: SnapCompare) -> None:
    # State hidden: Name takes its room
    keys = ("C", "down", "down", "space", "enter")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=before(*keys))
