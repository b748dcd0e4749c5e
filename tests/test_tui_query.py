"""Pilot tests: the query filter and saved views on real session directories."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import Input, Static

from core.config.records import AppConfig, UIConfig
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp


def app_for(base: Path, **views: str) -> SesstuiApp:
    cfg = AppConfig(backends=(dirs_config(base),), views=views, ui=UIConfig(refresh_seconds=0.3))
    return SesstuiApp(cfg)


async def test_query_filters_by_age_and_size(tmp_path: Path) -> None:
    old_big = make_session(tmp_path, files={"a": b"x" * 2_000_000}, age=timedelta(days=9))
    make_session(tmp_path, files={"a": "x"}, age=timedelta(days=9))
    make_session(tmp_path, files={"a": b"x" * 2_000_000}, age=timedelta(hours=1))
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = dash(pilot).table
        await wait_until(
            pilot,
            lambda: len(t.shown) == 3 and all(s.size for s in t.shown.values()),
            "rows with sizes",
        )
        await pilot.press("slash", *"age>7d", "space", *"size>1M")
        await wait_until(pilot, lambda: len(t.shown) == 1, "one row")
        assert next(iter(t.shown.values())).id == old_big.name
        assert "Sessions 1/3" in str(t.border_title)


async def test_a_bad_query_is_shown_inline_and_the_last_good_one_stays(tmp_path: Path) -> None:
    make_session(tmp_path, age=timedelta(days=9))
    make_session(tmp_path, age=timedelta(hours=1))
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        d = dash(pilot)
        t = d.table
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await pilot.press("slash", *"age>7d")
        await wait_until(pilot, lambda: len(t.shown) == 1, "filtered")
        d.filter_debounce = 600  # from here on only Enter would apply a query
        await pilot.press("space", *"sise>1")
        error = d.query_one("#filter-error", Static)
        await wait_until(pilot, lambda: error.display, "the inline error")
        text = str(error.render())
        assert "unknown field 'sise'" in text
        # the caret sits under the mistake: "age>7d " is 7 characters
        assert text.index("^") == 7
        assert d.query_one("#filter", Input).has_class("-invalid")
        # the last query applied stays in force: "age>7d sise" parsed on the
        # way ("sise" alone is a word) but was never applied, half typed
        assert t.filter_text == "age>7d" and len(t.shown) == 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(t.shown) == 2 and not error.display, "cleared")


async def test_saved_views_are_in_the_command_palette(tmp_path: Path) -> None:
    make_session(tmp_path, age=timedelta(days=9))
    make_session(tmp_path, age=timedelta(hours=1))
    app = app_for(tmp_path, stale="age>7d")
    async with app.run_test(size=(80, 24)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"view stale")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(t.shown) == 1, "the view applied")
        assert t.filter_text == "age>7d"
