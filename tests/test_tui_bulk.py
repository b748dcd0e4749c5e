"""Pilot tests: sort, group, multi-select and bulk actions against real backends."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, Input

from core.config.records import AppConfig, UIConfig
from core.tmux.schema import TmuxBackendConfig
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tests.tmux_fixtures import _socket_name_fixture, sessions_on, tmux_on  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.screens.bulk import BulkScreen
from tui.screens.plan import PlanScreen
from tui.widgets.sessions_table import MARK, SessionsTable


def app_for(*backends: object, **ui: object) -> SesstuiApp:
    cfg = AppConfig(backends=tuple(backends), ui=UIConfig(refresh_seconds=0.3, **ui))  # type: ignore[arg-type]
    return SesstuiApp(cfg)


def table(pilot: Pilot[int]) -> SessionsTable:
    return dash(pilot).table


def row_ids(t: SessionsTable) -> list[str]:
    return [t.shown[k].id for k in t.row_keys]


async def sized(pilot: Pilot[int], n: int) -> SessionsTable:
    t = table(pilot)
    await wait_until(pilot, lambda: len(t.shown) == n, f"{n} rows")
    await wait_until(
        pilot, lambda: all(s.size is not None for s in t.shown.values()), "sizes measured"
    )
    return t


async def test_sort_by_any_column_invert_and_click_a_header(tmp_path: Path) -> None:
    small = make_session(tmp_path, files={"a": "x"}, age=timedelta(hours=1))
    big = make_session(tmp_path, files={"a": b"x" * 300_000}, age=timedelta(hours=3))
    mid = make_session(tmp_path, files={"a": b"x" * 60_000}, age=timedelta(hours=2))
    app = app_for(dirs_config(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        t = await sized(pilot, 3)
        assert row_ids(t) == [small.name, mid.name, big.name]  # default: newest first
        # backend, name, state, age, active, size: ">" from age twice is size
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert t.sort_column == "size"
        await wait_until(pilot, lambda: row_ids(t) == [big.name, mid.name, small.name], "size")
        assert "Size▼" in str(t.columns["size"].label)
        await pilot.press("I")
        await wait_until(pilot, lambda: row_ids(t) == [small.name, mid.name, big.name], "inverted")
        await pilot.press("less_than_sign")  # back to "active"
        assert t.sort_column == "active" and t.sort_reverse
        # a click on a header sorts by that column
        await pilot.click(SessionsTable, offset=(12, 1))
        await wait_until(pilot, lambda: t.sort_column == "name", "sorted by a click on Name")
        names = sorted([small.name, mid.name, big.name])
        await wait_until(pilot, lambda: row_ids(t) == names, "rows by name")


def backend_style(t: SessionsTable, key: str) -> str:
    cell = t.cell(key, "backend")
    assert isinstance(cell, Text)
    return str(cell.style)


async def test_group_by_backend_toggles(tmp_path: Path) -> None:
    a_old = make_session(tmp_path / "a", age=timedelta(hours=5))
    b_new = make_session(tmp_path / "b", age=timedelta(hours=1))
    a_new = make_session(tmp_path / "a", age=timedelta(hours=2))
    app = app_for(dirs_config(tmp_path / "a", name="a"), dirs_config(tmp_path / "b", name="b"))
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 3, "rows")
        assert row_ids(t) == [a_new.name, a_old.name, b_new.name]  # grouped, newest first
        # only the first row of a group shows the backend bright
        assert [backend_style(t, k) for k in t.row_keys] == ["", "dim", ""]
        await pilot.press("b")
        await wait_until(pilot, lambda: row_ids(t) == [b_new.name, a_new.name, a_old.name], "flat")
        assert not t.grouped
        assert all(backend_style(t, k) == "" for k in t.row_keys)
        await pilot.press("b")
        await wait_until(pilot, lambda: row_ids(t)[0] == a_new.name, "grouped again")


async def test_select_rows_select_all_and_escape_clears(tmp_path: Path) -> None:
    for h in (1, 2, 3):
        make_session(tmp_path, files={"f": b"x" * 8192}, age=timedelta(hours=h))
    app = app_for(dirs_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        t = await sized(pilot, 3)
        await pilot.press("space", "space")
        assert len(t.marked) == 2
        first = t.row_cells(t.row_keys[0])[1]
        assert str(first).startswith(MARK)
        assert "2 selected" in str(t.border_title)
        await pilot.press("A")
        assert len(t.marked) == 3 and "3 selected (" in str(t.border_title)
        await pilot.press("A")  # all were selected: select-all clears
        assert not t.marked
        await pilot.press("A", "escape")
        assert not t.marked and not str(t.row_cells(t.row_keys[0])[1]).startswith(MARK)


async def test_bulk_delete_one_plan_for_all_selected(tmp_path: Path) -> None:
    keep = make_session(tmp_path, age=timedelta(hours=1))
    gone = [make_session(tmp_path, age=timedelta(hours=h)) for h in (2, 3)]
    app = app_for(dirs_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        t = await sized(pilot, 3)
        await pilot.press("down", "space", "space", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        plan = app.screen
        assert isinstance(plan, PlanScreen) and plan.count == 2
        assert plan.focused is plan.query_one("#cancel")  # Cancel is the default
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: not any(p.exists() for p in gone), "both deleted")
        assert keep.exists()
        await wait_until(pilot, lambda: len(t.shown) == 1 and not t.marked, "rows and marks")


async def test_prune_acts_only_within_the_selection(tmp_path: Path) -> None:
    old = [make_session(tmp_path, age=timedelta(days=d)) for d in (30, 31, 32)]
    app = app_for(dirs_config(tmp_path, max_sessions=-1))
    async with app.run_test(size=(80, 24)) as pilot:
        t = await sized(pilot, 3)
        await pilot.press("space", "space", "p")  # the two newest of the three old ones
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert sorted(e.id for p in plan.plans for e in p.entries) == sorted(
            o.name for o in old[:2]
        )
        await pilot.press("escape")
        assert all(o.exists() for o in old)  # cancelled: nothing removed
        assert len(t.marked) == 2


async def test_protected_single_delete_needs_the_name(tmp_path: Path) -> None:
    victim = make_session(tmp_path, age=timedelta(days=1))
    cfg = replace(dirs_config(tmp_path, name="prod"), protected=True)
    app = app_for(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await sized(pilot, 1)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan")
        confirm = app.screen.query_one("#confirm", Button)
        box = app.screen.query_one("#plan-typed", Input)
        assert app.screen.focused is box  # keys typed right away land in the box
        await pilot.press("1")
        await pilot.pause(0.1)
        assert confirm.disabled  # the count is not what a single delete asks for
        await pilot.press("backspace")
        # the name as the table shows it (typed; "-" and "_" have key names)
        box.insert_text_at_cursor(t.shown[f"prod:{victim.name}"].name)
        await wait_until(pilot, lambda: not confirm.disabled, "enabled by the name")
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: not victim.exists(), "deleted")


async def test_copy_session_ref_with_osc52(tmp_path: Path) -> None:
    s = make_session(tmp_path)
    app = app_for(dirs_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await sized(pilot, 1)
        await pilot.press("y")
        assert app.clipboard == f"runs:{s.name}"


# -- real tmux ------------------------------------------------------------------


@pytest.mark.tmux
async def test_bulk_stop_with_typed_count_and_related_jump(
    socket_name: str, tmp_path: Path
) -> None:
    socket = socket_name
    run = make_session(tmp_path / "runs", age=timedelta(hours=1))
    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    tmux_on(socket, "new-session", "-d", "-s", "one", "-c", str(run), *sleep)
    tmux_on(socket, "new-session", "-d", "-s", "two", *sleep)
    tmux_on(socket, "new-session", "-d", "-s", "three", *sleep)
    work = TmuxBackendConfig(name="work", kind="tmux", socket_name=socket, protected=True)
    app = app_for(dirs_config(tmp_path / "runs"), work)
    async with app.run_test(size=(100, 30)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 4, "rows")
        # related: the tmux session "one" has its cwd in the session dir
        t.move_cursor(row=t.get_row_index(f"runs:{run.name}"))
        await pilot.press("R")
        await wait_until(pilot, lambda: t.selected and t.selected.name == "one", "jumped")
        await pilot.press("R")  # and back
        await wait_until(pilot, lambda: t.selected and t.selected.id == run.name, "back")
        # select the tmux sessions "one" and "two", then stop both at once
        for name in ("one", "two"):
            t.move_cursor(row=t.get_row_index(f"work:{name}"))
            await pilot.press("space")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkScreen), "bulk confirm")
        bulk = app.screen
        assert isinstance(bulk, BulkScreen)
        assert sorted(s.name for s in bulk.sessions) == ["one", "two"]
        kill = bulk.query_one("#kill", Button)
        assert kill.disabled and bulk.focused is bulk.query_one("#plan-typed")
        await pilot.press("n")  # a letter is text in the box here, never the "no" key
        assert app.screen is bulk and bulk.query_one("#plan-typed", Input).value == "n"
        await pilot.press("backspace", "2", "enter")  # enter on the right count: Stop 2
        await wait_until(pilot, lambda: bulk.focused is bulk.query_one("#stop"), "on Stop")
        await pilot.click("#kill")
        await wait_until(pilot, lambda: sessions_on(socket) == {"three"}, "two stopped")
        await wait_until(pilot, lambda: set(t.shown) >= {"work:three"} and not t.marked, "rows")


async def test_a_big_first_load_is_in_order_every_row_once(tmp_path: Path) -> None:
    n = 450
    made = [make_session(tmp_path, age=timedelta(minutes=i + 1)) for i in range(n)]
    app = app_for(dirs_config(tmp_path, max_sessions=-1, max_age_days=None))
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.sessions) == n, "the listing")
        await wait_until(pilot, lambda: t.row_count == n, "every row")
        # newest first, every row once
        assert row_ids(t) == [p.name for p in made]
        assert len(set(row_ids(t))) == n


async def test_ages_move_on_with_the_clock_without_new_data(tmp_path: Path) -> None:
    from datetime import datetime

    make_session(tmp_path, age=timedelta(minutes=5))
    offset = [timedelta(0)]

    def clock() -> datetime:
        return datetime.now().astimezone() + offset[0]

    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=60))
    app = SesstuiApp(cfg, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: t.row_count == 1, "row")
        assert str(t.cell(t.row_keys[0], "age")) == "5m"
        offset[0] = timedelta(hours=3)
        t.tick()
        await pilot.pause(0.05)
        assert str(t.cell(t.row_keys[0], "age")) == "3h"


async def test_a_prune_of_a_selection_is_journaled_as_exactly_those(tmp_path: Path) -> None:
    old = [make_session(tmp_path, age=timedelta(days=d)) for d in (30, 31, 32)]
    app = app_for(dirs_config(tmp_path, max_sessions=-1))
    async with app.run_test(size=(80, 24)) as pilot:
        await sized(pilot, 3)
        await pilot.press("space", "p")  # only the newest of the three
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: not old[0].exists(), "pruned")
        assert old[1].exists() and old[2].exists()
        journal = app.inventory.journal
        assert journal is not None
        (entry,) = journal.read().entries
        # re-running the journaled command removes what was confirmed, no more
        assert entry.action == "prune"
        assert entry.command == f"sesstui delete runs:{old[0].name} --yes"


async def test_selected_rows_hidden_by_the_filter_are_not_acted_on(tmp_path: Path) -> None:
    a = make_session(tmp_path / "a", age=timedelta(days=1))
    b = make_session(tmp_path / "b", age=timedelta(days=2))
    app = app_for(dirs_config(tmp_path / "a", name="a"), dirs_config(tmp_path / "b", name="b"))
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await pilot.press("A")  # both selected
        await pilot.press("slash", *"backend:b", "enter")
        await wait_until(pilot, lambda: len(t.shown) == 1, "filtered")
        assert "2 selected" in str(t.border_title) and "1 hidden" in str(t.border_title)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert [e.id for p in plan.plans for e in p.entries] == [b.name]
        await pilot.press("escape")
        assert a.exists() and b.exists()


async def test_a_row_that_grows_out_of_a_size_filter_leaves(tmp_path: Path) -> None:
    s = make_session(tmp_path, files={"a": "x"})
    app = app_for(dirs_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        t = await sized(pilot, 1)
        await pilot.press("slash", *"size<100k", "enter")
        await wait_until(pilot, lambda: len(t.shown) == 1, "shown while small")
        (s / "big").write_bytes(b"x" * 500_000)
        await wait_until(pilot, lambda: not t.shown, "gone once re-measured")
        assert t.row_count == 0


@pytest.mark.tmux
async def test_related_jump_clears_a_filter_that_hides_the_target(
    socket_name: str, tmp_path: Path
) -> None:
    run = make_session(tmp_path / "runs", age=timedelta(hours=1))
    tmux_on(socket_name, "new-session", "-d", "-s", "job", "-c", str(run), "sleep 600")
    work = TmuxBackendConfig(name="work", kind="tmux", socket_name=socket_name)
    app = app_for(dirs_config(tmp_path / "runs"), work)
    async with app.run_test(size=(100, 30)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await pilot.press("slash", *"kind:dirs", "enter")
        await wait_until(pilot, lambda: len(t.shown) == 1, "filtered")
        await pilot.press("R")
        await wait_until(pilot, lambda: t.selected is not None and t.selected.name == "job", "jump")
        assert not t.filter_text and len(t.shown) == 2
