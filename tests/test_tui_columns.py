"""Pilot tests: the column chooser (C) on real session directories."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import cast

from rich.text import Text
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from core.config.records import AppConfig, UIConfig
from core.uistate import UiStateFile
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.columns import ColumnsScreen
from tui.theme_style import theme_style
from tui.widgets.session_cells import COLUMNS

DEFAULT = ["backend", "name", "state", "age", "active", "size"]  # at 80 columns, no TTL


def app_for(
    base: Path, state: Path, keymap: dict[str, str] | None = None, **views: str
) -> SesstuiApp:
    ui = UIConfig(refresh_seconds=0.3, keymap=keymap or {})
    cfg = AppConfig(backends=(dirs_config(base),), views=views, ui=ui)
    return SesstuiApp(cfg, ui_state=UiStateFile(state / "ui.json"))


def header(pilot: Pilot[int]) -> list[str]:
    """The table's columns, left to right."""
    return list(dash(pilot).table.columns)


async def rows(pilot: Pilot[int], n: int) -> None:
    t = dash(pilot).table
    await wait_until(pilot, lambda: len(t.shown) == n, f"{n} rows")


async def chooser(pilot: Pilot[int], *keys: str) -> None:
    """Open the chooser and press ``keys`` in it (the last one closes it)."""
    await pilot.press("C")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ColumnsScreen), "the chooser")
    await pilot.press(*keys)
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, ColumnsScreen), "closed")


async def test_a_hidden_column_leaves_the_header_and_stays_hidden(tmp_path: Path) -> None:
    make_session(tmp_path / "s", age=timedelta(hours=2))
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        assert header(pilot) == DEFAULT
        name_width = dash(pilot).table.columns["name"].width
        await chooser(pilot, "down", "down", "space", "enter")  # State
        assert header(pilot) == ["backend", "name", "age", "active", "size"]
        # its room (7 wide and 2 of padding) goes to Name
        assert dash(pilot).table.columns["name"].width == name_width + 9
        make_session(tmp_path / "s", age=timedelta(hours=1))
        await rows(pilot, 2)  # a refresh added a row: the column stays hidden
        assert "state" not in header(pilot)
        await pilot.press("S")  # the stats column still toggles
        await wait_until(pilot, lambda: "stats" in header(pilot), "the stats column")
        assert "state" not in header(pilot)


async def test_backend_and_name_cannot_be_hidden(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ColumnsScreen), "the chooser")
        await pilot.press("space", "down", "space")
        dialog = pilot.app.screen
        assert isinstance(dialog, ColumnsScreen)
        assert dialog.hidden == set(), "the dialog unticked a column that is always shown"
        assert "Name is always shown" in [n.message for n in pilot.app._notifications]
        await pilot.press("enter")
        assert header(pilot) == DEFAULT


async def test_moving_a_column_moves_it_in_the_header(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        # Size (the 6th) up twice, then Age down once (shift+down)
        await chooser(pilot, *["down"] * 5, "K", "K", "down", "shift+down", "enter")
        assert header(pilot) == ["backend", "name", "state", "size", "active", "age"]


async def test_escape_changes_nothing(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        await chooser(pilot, "down", "down", "space", "J", "escape")
        assert header(pilot) == DEFAULT
        assert UiStateFile(tmp_path / "ui.json").load().columns == {}


async def test_hiding_the_sort_column_falls_back_to_the_default_sort(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        t = dash(pilot).table
        await pilot.press("less_than_sign")  # from Age to State
        assert t.sort_column == "state"
        await chooser(pilot, "down", "down", "space", "enter")
        assert (t.sort_column, t.sort_reverse) == ("age", False)
        assert "Age▼" in [str(c.label) for c in t.columns.values()]


async def test_columns_are_per_view_and_back_after_a_restart(tmp_path: Path) -> None:
    make_session(tmp_path / "s", age=timedelta(days=9))
    make_session(tmp_path / "s", age=timedelta(hours=1))
    app = app_for(tmp_path / "s", tmp_path, old="age>7d")
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 2)
        await chooser(pilot, "down", "down", "space", "enter")  # default view: no State
        await pilot.press("1")  # the saved view "old"
        await rows(pilot, 1)
        assert header(pilot) == DEFAULT  # its own columns: the defaults
        await chooser(pilot, *["down"] * 5, "space", "enter")  # no Size in "old"
        assert header(pilot) == ["backend", "name", "state", "age", "active"]
        await pilot.press("colon", *"all", "enter")  # back to the default view
        await rows(pilot, 2)
        assert header(pilot) == ["backend", "name", "age", "active", "size"]
    saved = json.loads((tmp_path / "ui.json").read_text())["columns"]
    assert saved[""]["hidden"] == ["state"] and saved[":old"]["hidden"] == ["size"]
    assert saved[""]["order"] == [k for k, _ in COLUMNS]
    again = app_for(tmp_path / "s", tmp_path, old="age>7d")
    async with again.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 2)
        assert header(pilot) == ["backend", "name", "age", "active", "size"]
        await pilot.press("1")
        await rows(pilot, 1)
        assert header(pilot) == ["backend", "name", "state", "age", "active"]


async def test_reset_brings_the_default_columns_back(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        await chooser(pilot, "down", "down", "space", "J", "enter")
        assert header(pilot) == ["backend", "name", "age", "active", "size"]
        await chooser(pilot, "r", "enter")
        assert header(pilot) == DEFAULT


def test_a_saved_choice_is_checked_against_the_columns() -> None:
    from tui.widgets.session_cells import ColumnChoice

    # a hand-edited ui.json: unknown keys dropped, missing ones after the
    # others in their default order, Backend and Name never hidden
    choice = ColumnChoice.of(["size", "bogus", "name", "backend"], ["name", "age", "nope"])
    assert choice.order == ("size", "name", "backend", "state", "age", "active", "ttl", "info")
    assert choice.hidden == frozenset({"age"})


async def test_the_chooser_keys_can_be_remapped(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    keymap = {"sessions.columns": "f4", "columns.toggle": "x"}
    app = app_for(tmp_path / "s", tmp_path, keymap=keymap)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ColumnsScreen), "the chooser")
        help_text = str(pilot.app.screen.query_one("#columns-help", Static).render())
        assert help_text.startswith("x show/hide"), "the dialog names the key in force"
        await pilot.press("down", "down", "x", "enter")
        await wait_until(pilot, lambda: "state" not in header(pilot), "State hidden")


async def test_a_new_theme_recolours_marked_names_with_state_hidden(tmp_path: Path) -> None:
    make_session(tmp_path / "s")
    app = app_for(tmp_path / "s", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows(pilot, 1)
        await chooser(pilot, "down", "down", "space", "enter")  # State hidden
        await pilot.press("space")  # mark the row
        t = dash(pilot).table
        key = t.row_keys[0]

        def name_style() -> object:
            cell = t.cell(key, "name")
            assert isinstance(cell, Text)
            return cell.style

        styled = cast("App[object]", app)
        dark = theme_style(styled, "accent", bold=True)
        await wait_until(pilot, lambda: name_style() == dark, "marked")
        app.theme = "sesstui-light"
        await pilot.pause()
        light = theme_style(styled, "accent", bold=True)
        assert light != dark
        await wait_until(pilot, lambda: name_style() == light, "the light theme's accent")
