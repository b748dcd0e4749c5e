"""Pilot tests: the dashboard driven by keys against real session directories."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.config.records import AppConfig, UIConfig
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.dashboard import refresh as refresh_module
from tui.screens.dashboard import DashboardScreen
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.plan import PlanScreen
from tui.widgets.log_pane import LogPane
from tui.widgets.sessions_table import SessionsTable


def app_for(*bases: Path, keymap: dict[str, str] | None = None, **kw: object) -> SesstuiApp:
    backends = tuple(
        dirs_config(b, name=f"b{i}", **kw)  # type: ignore[arg-type]
        for i, b in enumerate(bases)
    )
    ui = UIConfig(refresh_seconds=0.3, keymap=keymap or {})
    return SesstuiApp(AppConfig(backends=backends, ui=ui))


def table(pilot: Pilot[int]) -> SessionsTable:
    return dash(pilot).table


def log_text(pilot: Pilot[int]) -> str:
    return "\n".join(dash(pilot).query_one(LogPane).lines)


async def test_lists_real_dirs_and_fills_in_sizes(tmp_path: Path) -> None:
    a = make_session(tmp_path, files={"logs/app.log": "x" * 10_000}, age=timedelta(hours=2))
    make_session(tmp_path, files={"logs/app.log": "y\n"}, age=timedelta(days=3))
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await wait_until(
            pilot, lambda: all(s.size is not None for s in t.shown.values()), "sizes measured"
        )
        sizes = {s.id: s.size for s in t.shown.values()}
        assert sizes[a.name] is not None and sizes[a.name].apparent >= 10_000  # type: ignore[union-attr]
        # newest first
        assert t.selected is not None and t.selected.id == a.name
        assert "Sessions 2" in str(t.border_title)


async def test_new_and_removed_dirs_update_rows_and_keep_the_cursor(tmp_path: Path) -> None:
    first = make_session(tmp_path, age=timedelta(hours=5))
    second = make_session(tmp_path, age=timedelta(hours=3))
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 2, "rows")
        await pilot.press("down")  # onto the older one
        assert t.selected is not None and t.selected.id == first.name
        newest = make_session(tmp_path, age=timedelta(minutes=1))
        await wait_until(pilot, lambda: len(t.shown) == 3, "the new row")
        assert t.selected is not None and t.selected.id == first.name  # cursor followed the row
        import shutil

        shutil.rmtree(second)
        await wait_until(pilot, lambda: len(t.shown) == 2, "the removed row")
        assert t.selected is not None and t.selected.id == first.name
        assert newest.name in {s.id for s in t.shown.values()}


async def test_filter_narrows_and_escape_clears(tmp_path: Path) -> None:
    make_session(tmp_path / "alpha")
    make_session(tmp_path / "beta")
    make_session(tmp_path / "beta")
    app = app_for(tmp_path / "alpha", tmp_path / "beta")
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 3, "rows")
        await pilot.press("slash", *"beta")  # matches the path of b1's sessions only
        await wait_until(pilot, lambda: len(t.shown) == 2, "filtered rows")
        assert {s.backend for s in t.shown.values()} == {"b1"}
        assert "filter: beta" in str(t.border_title)
        assert "2/3" in str(t.border_title)
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(t.shown) == 3, "filter cleared")


async def test_follow_shows_appended_lines_and_f_pauses(tmp_path: Path) -> None:
    s = make_session(tmp_path, files={"logs/app.log": "first line\n"})
    log = s / "logs" / "app.log"
    app = app_for(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "first line" in log_text(pilot), "the tail")
        with log.open("a") as f:
            f.write("appended while following\n")
        await wait_until(pilot, lambda: "appended while following" in log_text(pilot), "follow")
        await pilot.press("f")
        await wait_until(pilot, lambda: not dash(pilot).follow, "paused")
        assert "paused" in str(dash(pilot).log_pane.border_title)
        # paused means nothing reads the log any more (not: a reader whose
        # lines are hidden), so a line written now cannot show, whatever the timing
        await wait_until(
            pilot,
            lambda: not any(w.group == "tail" and w.is_running for w in pilot.app.workers),
            "the tail worker ended",
        )
        with log.open("a") as f:
            f.write("written while paused\n")
        await pilot.pause()
        assert "written while paused" not in log_text(pilot)
        await pilot.press("f")
        await wait_until(pilot, lambda: "written while paused" in log_text(pilot), "resumed")


async def test_prune_plan_cancel_then_confirm(tmp_path: Path) -> None:
    old = [make_session(tmp_path, age=timedelta(days=d)) for d in (30, 20)]
    keep = make_session(tmp_path, age=timedelta(hours=1))
    app = app_for(tmp_path, max_sessions=-1, max_age_days=10)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 3, "rows")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan screen")
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert plan.count == 2
        await pilot.press("enter")  # Cancel has the focus: nothing happens
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed")
        assert all(p.exists() for p in old)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan again")
        await pilot.press("tab", "enter")  # onto the confirm button
        await wait_until(pilot, lambda: not any(p.exists() for p in old), "pruned")
        await wait_until(pilot, lambda: len(t.shown) == 1, "table updated")
        assert keep.exists()


async def test_delete_selected_after_confirm(tmp_path: Path) -> None:
    s = make_session(tmp_path)
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 1, "row")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "confirm")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "cancelled")
        assert s.exists()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "confirm again")
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: not s.exists(), "deleted")


async def test_unsafe_prune_shows_the_error_modal(tmp_path: Path) -> None:
    real = tmp_path / "real"
    make_session(real, age=timedelta(days=40))
    link = tmp_path / "link"
    link.symlink_to(real)
    app = app_for(link, max_sessions=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(table(pilot).shown) == 1, "row")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorScreen), "error modal")
        err = app.screen
        assert isinstance(err, ErrorScreen)
        assert "symlink" in err.error_message
        assert len(list(real.iterdir())) == 1


async def test_backend_down_degrades_only_itself(tmp_path: Path) -> None:
    make_session(tmp_path / "ok")
    app = app_for(tmp_path / "ok", tmp_path / "missing")
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 1, "the healthy backend's row")
        empty = dash(pilot).query_one("#empty")
        await wait_until(pilot, lambda: bool(empty.display), "the down message")
        assert "does not exist" in str(empty.render())


async def test_keymap_remaps_and_help_shows_the_keys_in_force(tmp_path: Path) -> None:
    make_session(tmp_path, age=timedelta(days=40))
    app = app_for(tmp_path, keymap={"sessions.prune": "P"}, max_sessions=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(table(pilot).shown) == 1, "row")
        # p no longer prunes: no binding in force answers it (no plan worker
        # can start, so nothing needs waiting for)
        assert "p" not in dash(pilot).active_bindings
        assert dash(pilot).active_bindings["P"].binding.action == "prune"
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert ("P", "Prune") in help_screen.rows
        assert ("p", "Prune") not in help_screen.rows
        # keys that do the same share a row: the table's vim keys are listed
        assert ("home, g", "Top") in help_screen.rows
        assert ("end, G", "Bottom") in help_screen.rows
        assert ("↓, j", "Cursor down") in help_screen.rows
        await pilot.press("escape")
        await pilot.press("P")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "remapped prune")


async def test_q_quits_and_zoom_toggles(tmp_path: Path) -> None:
    make_session(tmp_path, files={"logs/app.log": "hello\n"})
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "hello" in log_text(pilot), "log")
        await pilot.press("z")
        await wait_until(pilot, lambda: dash(pilot).maximized is dash(pilot).log_pane, "zoom")
        await pilot.press("z")
        await wait_until(pilot, lambda: dash(pilot).maximized is None, "unzoom")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "quit")


async def test_protected_backend_needs_the_count_typed(tmp_path: Path) -> None:
    from msgspec.structs import replace as dc_replace
    from textual.widgets import Button

    old = [make_session(tmp_path, age=timedelta(days=d)) for d in (30, 20)]
    cfg = dc_replace(dirs_config(tmp_path, name="prod", max_sessions=-1), protected=True)
    app = SesstuiApp(AppConfig(backends=(cfg,), ui=UIConfig(refresh_seconds=0.3)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(table(pilot).shown) == 2, "rows")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan")
        confirm = app.screen.query_one("#confirm", Button)
        assert confirm.disabled
        assert app.screen.focused is app.screen.query_one("#plan-typed")
        await pilot.press("1", "enter")  # the wrong count: enter stays in the box
        assert app.screen.focused is app.screen.query_one("#plan-typed")
        await pilot.pause(0.1)
        assert confirm.disabled  # wrong count
        await pilot.press("backspace", "2")
        await wait_until(pilot, lambda: not confirm.disabled, "enabled by the right count")
        assert all(p.exists() for p in old)  # typing alone never acts
        # keyboard only: Enter on the right count moves to the button, Enter acts
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.focused is confirm, "on the button")
        assert all(p.exists() for p in old)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not any(p.exists() for p in old), "pruned")


async def test_markup_in_the_filter_is_text_not_a_crash(tmp_path: Path) -> None:
    make_session(tmp_path)
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(pilot)
        await wait_until(pilot, lambda: len(t.shown) == 1, "row")
        await pilot.press("slash", *"[/]", "[", "b", "]")
        await wait_until(pilot, lambda: t.filter_text == "[/][b]", "the literal filter")
        await pilot.pause(0.2)
        assert app.is_running
        assert len(t.shown) == 0
        assert "filter:" in str(t.border_title)


async def test_a_toast_never_covers_the_dialog_buttons(tmp_path: Path) -> None:
    from textual.widgets import Button
    from textual.widgets._toast import Toast

    make_session(tmp_path, age=timedelta(days=30))
    app = app_for(tmp_path, max_sessions=-1, max_age_days=10)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_until(pilot, lambda: len(table(pilot).shown) == 1, "rows")
        await pilot.press("greater_than_sign")  # a toast: "Sorted by ..."
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "plan screen")
        app.notify("a second toast\nof two lines", timeout=60)
        await wait_until(pilot, lambda: len(app.screen.query(Toast)) == 2, "both toasts shown")
        await pilot.pause()
        buttons = [b.region for b in app.screen.query(Button)]
        toasts = [t.region for t in app.screen.query(Toast)]
        assert buttons and all(t.area for t in toasts)
        assert not [(b, t) for b in buttons for t in toasts if b.overlaps(t)]


async def test_a_refresh_whose_ui_side_fails_does_not_stop_the_next_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the next refresh comes ui.refresh_seconds after one ends, whatever it
    # cost: on a loaded machine the pacing by CPU cost put it 10 s or more away
    monkeypatch.setattr(refresh_module, "REFRESH_DUTY", 1.0)
    make_session(tmp_path)
    app = app_for(tmp_path)  # refresh every 0.3 s
    async with app.run_test(size=(80, 24)) as pilot:
        screen = dash(pilot)
        await wait_until(pilot, lambda: len(table(pilot).shown) == 1, "the first refresh")
        await wait_until(pilot, lambda: not screen._refreshing, "the first refresh's end")
        real = screen._apply_snapshot
        calls: list[int] = []

        def fails_once(*args: object) -> None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("a bug in the UI side of the first refresh")
            real(*args)  # type: ignore[arg-type]

        screen._apply_snapshot = fails_once  # type: ignore[method-assign,assignment]
        screen.action_refresh()
        # nothing else asks for a refresh: a second call comes only if the
        # failed refresh still timed the next one
        await wait_until(pilot, lambda: len(calls) >= 2, "a refresh after the failed one")
