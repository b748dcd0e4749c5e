"""Pilot tests for the operator's console (#13, dashboard half): layouts, focus,
the ``:`` command line and views, the footer, the filter's debounce and the
rows a bulk delete leaves out, against real backends."""

from __future__ import annotations

import io
import json
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, Static

from core.config.records import AppConfig, SessionSpec, UIConfig
from core.inventory import Inventory
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import Session
from core.stats import SessionStats
from core.tmux.schema import TmuxBackendConfig
from core.uistate import UiState, UiStateFile
from tests.helpers import dirs_config, kv_record, make_session
from tests.pilot_helpers import dash, wait_until
from tests.tmux_fixtures import _socket_name_fixture, tmux_on  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.formatting import break_long_words
from tui.screens.confirm import ConfirmScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.plan import PlanScreen
from tui.stats_text import stats_text
from tui.widgets.command_line import CommandLine
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.health_bar import HealthBar
from tui.widgets.key_footer import KeyFooter


def app_for(
    *backends: object,
    state: Path | None = None,
    views: dict[str, str] | None = None,
    keymap: dict[str, str] | None = None,
) -> SesstuiApp:
    cfg = AppConfig(
        backends=tuple(backends),  # type: ignore[arg-type]
        views=views or {},
        ui=UIConfig(refresh_seconds=0.3, keymap=keymap or {}),
    )
    return SesstuiApp(cfg, ui_state=UiStateFile(state) if state else None)


def two_backends(tmp_path: Path) -> tuple[object, object]:
    make_session(tmp_path / "runs", age=timedelta(days=9))
    make_session(tmp_path / "runs", age=timedelta(hours=1))
    make_session(tmp_path / "ci", age=timedelta(hours=2))
    return dirs_config(tmp_path / "runs"), dirs_config(tmp_path / "ci", name="ci")


async def rows(pilot: Pilot[int], n: int) -> DashboardScreen:
    d = dash(pilot)
    await wait_until(pilot, lambda: len(d.table.shown) == n, f"{n} rows")
    return d


# --- layouts -----------------------------------------------------------------------


async def test_under_120_columns_the_log_is_full_width_and_L_is_remembered(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state" / "ui.json"
    app = app_for(*two_backends(tmp_path), state=state)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        detail = d.query_one(DetailPanel)
        assert d.stacked and d.has_class("-stacked")
        assert not detail.display and d.log_pane.region.width == 80
        await pilot.press("L")  # auto -> side by side
        await wait_until(pilot, lambda: not d.stacked and detail.display, "side by side")
        assert d.log_pane.region.width < 50
        assert json.loads(state.read_text())["layout"] == "side"
    # the next run starts side by side, even at 80 columns
    again = app_for(*two_backends(tmp_path / "again"), state=state)
    async with again.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        assert not d.stacked and d.query_one(DetailPanel).display
        await pilot.press("L")  # side -> stacked, whatever the width
        await wait_until(pilot, lambda: d.stacked, "stacked")
    assert UiStateFile(state).load() == UiState(layout="stacked")


async def test_auto_layout_follows_the_width(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        d = await rows(pilot, 3)
        assert not d.stacked and d.query_one(DetailPanel).display
        await pilot.resize_terminal(100, 30)
        await wait_until(pilot, lambda: d.has_class("-stacked"), "stacked when narrower")
        assert not d.query_one(DetailPanel).display


async def test_D_puts_the_details_in_the_logs_place_when_stacked(tmp_path: Path) -> None:
    state = tmp_path / "ui.json"
    app = app_for(*two_backends(tmp_path), state=state)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        detail = d.query_one(DetailPanel)
        await pilot.press("D")
        await wait_until(pilot, lambda: detail.display and not d.log_pane.display, "details")
        assert detail.region.width == 80
        assert UiStateFile(state).load().stacked_details
        await pilot.press("z")  # zoom wants the log: it comes back first
        await wait_until(pilot, lambda: d.log_pane.display and d.maximized is d.log_pane, "zoom")
        await pilot.press("z")
        await wait_until(pilot, lambda: d.maximized is None and d.table.has_focus, "back")
        assert not detail.display


async def test_a_hidden_pane_never_keeps_the_focus(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("l")
        await wait_until(pilot, lambda: d.log_pane.has_focus_within, "log focused")
        await pilot.press("D")  # the details take the log's place
        await wait_until(pilot, lambda: d.table.has_focus, "the focus back on the table")


async def test_the_log_title_says_nothing_is_followed_without_a_selection(
    tmp_path: Path,
) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await wait_until(pilot, lambda: "following" in str(d.log_pane.border_title), "following")
        await pilot.press("slash", *"nothing-matches-this", "enter")
        await wait_until(pilot, lambda: not d.table.shown, "no rows")
        assert str(d.log_pane.border_title) == "Log"


def test_long_values_break_after_separators_not_inside_names() -> None:
    path = "/tmp/sesstui-demo-ks9kcoc5/runs/session_2026-12-06-04-10-04_14246_186ce36d"
    lines = break_long_words(path, 24).split("\n")
    assert "".join(lines) == path
    assert all(len(line) <= 24 for line in lines)
    # each line ends at a separator: no name is cut in two
    assert all(line[-1] in "/_-" for line in lines[:-1]), lines
    # a word with nowhere to break is cut at the width; short words are left alone
    assert break_long_words("a " + "x" * 30, 10).split("\n") == ["a xxxxxxxxxx", "x" * 10, "x" * 10]
    assert break_long_words("short words only", 10) == "short words only"


def panel_text(detail: DetailPanel) -> str:
    """The panel's body as text, at the panel's inner width."""
    console = Console(width=detail.scrollable_content_region.width, file=io.StringIO())
    with console.capture() as out:
        console.print(detail._render_body())
    return out.get()


async def test_the_details_panel_wraps_to_its_width(tmp_path: Path) -> None:
    run = make_session(tmp_path / "runs", age=timedelta(hours=1))
    app = app_for(dirs_config(tmp_path / "runs"))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 1)
        await pilot.press("D")  # the details full width: the id on fewer lines
        detail = d.query_one(DetailPanel)
        await wait_until(pilot, lambda: detail.display and detail.session is not None, "details")

        def id_lines() -> list[str]:
            text = panel_text(detail)
            return [ln.split()[-1] for ln in text.split("backend")[0].splitlines() if ln.strip()]

        wide = id_lines()
        await pilot.press("L")  # side by side: 36 columns
        await wait_until(pilot, lambda: len(id_lines()) > len(wide), "the id on more lines")
        for lines in (wide, id_lines()):
            assert "".join(lines) == run.name
            # a line breaks after a separator, or (a run of hex) at the width
            assert all(ln[-1] in "_-" or len(ln) >= 20 for ln in lines[:-1]), lines


async def test_details_show_values_as_text_never_as_markup() -> None:
    stores = MemoryStores()
    meta = {"role": "[admin] ops", "note": "[/x] closed [bold]"}
    stores.store("kv").setex("session:s1", 3600, kv_record("s1", meta=meta))
    cfg = AppConfig(
        backends=(KvBackendConfig(name="kv", kind="kv", provider="memory"),),
        ui=UIConfig(refresh_seconds=0),
    )
    app = SesstuiApp(cfg, inventory=Inventory.from_config(cfg, memory=stores), live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = dash(pilot).query_one(DetailPanel)
        await wait_until(pilot, lambda: detail.session is not None, "the details")
        text = panel_text(detail)
        # as a style, "[admin]" would vanish and "[/x]" would raise a MarkupError
        assert "[admin] ops" in text
        assert "[/x] closed [bold]" in text


# --- focus -------------------------------------------------------------------------


async def test_the_focused_pane_has_a_heavy_border(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        assert d.table.styles.border_top[0] == "heavy"
        assert d.log_pane.styles.border_top[0] == "round"
        await pilot.press("l")
        await wait_until(pilot, lambda: d.log_pane.styles.border_top[0] == "heavy", "log heavy")
        assert str(d.table.styles.border_top[0]) == "round"


# --- the command line and views --------------------------------------------------


async def test_colon_completes_and_filters_to_a_backend_a_kind_or_a_view(
    tmp_path: Path,
) -> None:
    app = app_for(*two_backends(tmp_path), views={"stale": "age>7d"})
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        header = d.query_one(HealthBar)
        line = d.query_one(CommandLine)
        await pilot.press("colon", "c")
        await wait_until(pilot, lambda: line.has_focus and line.value == "c", "typed")
        await pilot.press("tab")
        assert line.value == "ci"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(d.table.shown) == 1, "ci only")
        assert header.view == ":ci" and not line.display and d.table.has_focus
        await pilot.press("colon", *"st", "tab", "enter")
        await wait_until(pilot, lambda: header.view == ":stale", "the view")
        assert [s.backend for s in d.table.shown.values()] == ["runs"]
        # a filter applies within the view
        await pilot.press("slash", *"ci", "enter")
        await wait_until(pilot, lambda: not d.table.shown, "nothing left")
        await pilot.press("escape", "colon", *"dirs", "enter")
        await wait_until(pilot, lambda: len(d.table.shown) == 3, "every dirs row")
        assert header.view == ":dirs"
        await pilot.press("colon", *"all", "enter")
        await wait_until(pilot, lambda: header.view == "", "no view")


async def test_tab_goes_through_every_match(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        line = (await rows(pilot, 3)).query_one(CommandLine)
        await pilot.press("colon", "d", "tab")
        first = line.value
        await pilot.press("tab")
        assert {first, line.value} == {"docker", "dirs"}
        await pilot.press("tab")
        assert line.value == first  # round again


async def test_an_unknown_command_says_so_and_changes_nothing(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("colon", *"nope", "enter")
        line = d.query_one(CommandLine)
        hint = d.query_one("#command-hint", Static)
        await wait_until(pilot, lambda: line.has_class("-invalid"), "refused")
        assert "unknown: 'nope'" in str(hint.render()) and line.display
        assert len(d.table.shown) == 3 and d.view_name == ""
        await pilot.press("escape")
        await wait_until(pilot, lambda: not line.display and d.table.has_focus, "closed")


async def test_a_colon_in_the_filter_is_text(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("slash", *"backend:ci", "enter")
        await wait_until(pilot, lambda: len(d.table.shown) == 1, "filtered")
        assert not d.query_one(CommandLine).display


async def test_kind_views_on_a_real_tmux_server(socket_name: str, tmp_path: Path) -> None:
    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    tmux_on(socket_name, "new-session", "-d", "-s", "one", *sleep)
    make_session(tmp_path / "runs", age=timedelta(hours=1))
    work = TmuxBackendConfig(name="work", kind="tmux", socket_name=socket_name)
    app = app_for(dirs_config(tmp_path / "runs"), work)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 2)
        await pilot.press("colon", *"tmux", "enter")
        await wait_until(pilot, lambda: len(d.table.shown) == 1, "tmux only")
        assert next(iter(d.table.shown.values())).name == "one"
        await pilot.press("colon", *"dirs", "enter")
        await wait_until(
            pilot,
            lambda: [s.kind for s in d.table.shown.values()] == ["dirs"],
            "dirs only",
        )


async def test_number_keys_jump_to_saved_views(tmp_path: Path) -> None:
    views = {"stale": "age>7d", "ci-only": "backend:ci"}
    app = app_for(*two_backends(tmp_path), views=views)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("2")
        await wait_until(pilot, lambda: d.view_name == ":ci-only", "view 2")
        assert [s.backend for s in d.table.shown.values()] == ["ci"]
        await pilot.press("1")
        await wait_until(pilot, lambda: d.view_name == ":stale", "view 1")
        await pilot.press("3")  # no third view: said, nothing changes
        assert d.view_name == ":stale"


async def test_remapped_command_and_view_keys(tmp_path: Path) -> None:
    views = {"stale": "age>7d", "ci-only": "backend:ci"}
    keymap = {"sessions.command": "semicolon", "views.jump": "f1,f2"}
    app = app_for(*two_backends(tmp_path), views=views, keymap=keymap)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("f2")
        await wait_until(pilot, lambda: d.view_name == ":ci-only", "f2: view 2")
        await pilot.press("semicolon", *"all", "enter")
        await wait_until(pilot, lambda: d.view_name == "", "the command line on ;")
        await pilot.press("colon")  # no longer bound
        await pilot.press("1")  # nor this
        assert not d.query_one(CommandLine).display and d.view_name == ""


# --- the footer --------------------------------------------------------------------


async def test_the_footer_shows_more_keys_as_the_terminal_widens(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        footer = d.query_one(KeyFooter)
        await wait_until(pilot, lambda: footer.extra, "the footer laid out")
        narrow = set(footer.extra)
        assert "app.journal" not in narrow
        await pilot.resize_terminal(200, 30)
        await wait_until(pilot, lambda: len(footer.extra) > len(narrow), "more keys")
        assert narrow < footer.extra and "app.journal" in footer.extra


# --- rough edges ---------------------------------------------------------------------


async def test_a_query_being_typed_applies_only_on_enter_or_a_pause(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        d.filter_debounce = 600  # no pause will be long enough: only Enter applies
        box = d.query_one("#filter", Input)
        await pilot.press("slash", *"backend:c")  # on the way to backend:ci
        await wait_until(pilot, lambda: box.value == "backend:c", "typed")
        assert d.table.filter_text == "" and len(d.table.shown) == 3
        await pilot.press("i", "enter")
        await wait_until(pilot, lambda: d.table.filter_text == "backend:ci", "applied on enter")
        assert len(d.table.shown) == 1
        d.filter_debounce = 0.05  # a pause applies it too
        await pilot.press("slash", "backspace", "backspace", *"runs")
        await wait_until(pilot, lambda: d.table.filter_text == "backend:runs", "after a pause")


async def test_rows_a_bulk_delete_leaves_out_are_listed_in_the_plan(
    socket_name: str, tmp_path: Path
) -> None:
    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    tmux_on(socket_name, "new-session", "-d", "-s", "one", *sleep)
    make_session(tmp_path / "runs", age=timedelta(hours=1))
    work = TmuxBackendConfig(name="work", kind="tmux", socket_name=socket_name)
    app = app_for(dirs_config(tmp_path / "runs"), work)
    async with app.run_test(size=(100, 30)) as pilot:
        await rows(pilot, 2)
        await pilot.press("A", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert [(s.name, why) for s, why in plan.left_out] == [
            ("one", "tmux sessions cannot be deleted (x stops them)")
        ]
        assert "1 left out, listed below" in str(plan.query_one("#plan-summary", Static).render())
        # not (only) a toast over the dialog's buttons
        assert not [n for n in app._notifications if "cannot" in n.message]
        await pilot.press("escape")


def test_the_layout_file_never_fails_to_load(tmp_path: Path) -> None:
    path = tmp_path / "ui.json"
    store = UiStateFile(path)
    assert store.load() == UiState()  # none yet
    path.write_text("{not json")
    assert store.load() == UiState()
    path.write_text('{"layout": "sideways", "side_details": "yes", "stacked_details": true}')
    assert store.load() == UiState(stacked_details=True)  # each bad value: its default
    assert store.save(UiState(layout="side")) is None
    assert store.load() == UiState(layout="side")
    blocked = UiStateFile(path / "below-a-file" / "ui.json")
    assert "cannot save the layout" in (blocked.save(UiState()) or "")


# --- restart and live stats ------------------------------------------------------------


async def test_restart_a_tmux_session_from_its_spec(socket_name: str, tmp_path: Path) -> None:
    spec = SessionSpec(
        name="bot",
        backend="work",
        command=(sys.executable, "-c", "import time; time.sleep(600)"),
        stop_timeout=2,
    )
    work = TmuxBackendConfig(name="work", kind="tmux", socket_name=socket_name)
    make_session(tmp_path / "runs", age=timedelta(hours=1))
    cfg = AppConfig(
        backends=(dirs_config(tmp_path / "runs"), work),
        sessions={"bot": spec},
        ui=UIConfig(refresh_seconds=0.3),
    )
    app = SesstuiApp(cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        d = await rows(pilot, 1)
        app.inventory.start("bot")
        await wait_until(pilot, lambda: "work:bot" in d.table.shown, "the bot row")
        pid = tmux_on(socket_name, "display", "-p", "-t", "bot", "#{pane_pid}").strip()
        # a session directory has no spec and no restart: the key is grey there
        d.table.move_cursor(
            row=d.table.get_row_index(next(k for k in d.table.shown if k.startswith("runs:")))
        )
        await pilot.pause()
        assert d.check_action("restart", ()) is None
        d.table.move_cursor(row=d.table.get_row_index("work:bot"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirm")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "Ctrl+C" in dialog.message and "from its spec" in dialog.message
        assert dialog.focused is dialog.query_one("#cancel")  # the safe choice first
        await pilot.click("#restart")

        def new_pid() -> bool:
            now = tmux_on(socket_name, "display", "-p", "-t", "bot", "#{pane_pid}").strip()
            return bool(now) and now != pid

        await wait_until(pilot, new_pid, "a new process in the bot session", timeout=20)
        await wait_until(
            pilot,
            lambda: any(n.message == "Restarted work:bot" for n in app._notifications),
            "the restarted notice",
        )


async def test_stats_measure_only_the_rows_on_screen(tmp_path: Path) -> None:
    for n in range(30):
        make_session(tmp_path / "runs", age=timedelta(hours=n + 1))
    state = tmp_path / "ui.json"
    app = app_for(dirs_config(tmp_path / "runs", max_sessions=-1, max_age_days=None), state=state)
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 30)
        d.stats_interval = 0.01
        detail = d.query_one(DetailPanel)
        await pilot.press("S")
        await wait_until(pilot, lambda: "/s" in detail.stats, "the selected row's growth")
        on_screen = {s.ref for s in d.visible_sessions()}
        assert set(d.stats) == on_screen and len(on_screen) < 30
        assert UiStateFile(state).load().stats
        # the table's Stats column: the rows on screen measured, the others waiting
        t = d.table
        assert "stats" in set(t.columns)
        first = t.visible_keys()[0]
        assert str(t.cell(first, "stats")).endswith("/s")
        below = t.row_keys[-1]
        assert below not in t.visible_keys() and str(t.cell(below, "stats")) == "…"
        await pilot.press("S")
        await wait_until(pilot, lambda: not detail.stats and not d.stats, "stats off")
        assert "stats" not in set(t.columns)


def test_stats_cells() -> None:
    from core.model import SessionRef
    from core.stats import SessionStats

    ref = SessionRef("b", "x")
    assert stats_text(None) == "…"
    assert stats_text(SessionStats(ref, "docker", cpu_percent=3.21, memory_bytes=2048)) == (
        "3.2% 2.0 KiB"
    )
    assert stats_text(SessionStats(ref, "dirs", growth_bytes_per_s=1536.0)) == "+1.5 KiB/s"
    assert stats_text(SessionStats(ref, "json", turns=1, turns_per_hour=1.0)) == "1 turn 1/h"
    assert stats_text(SessionStats(ref, "kv", note="kv sessions have no live stats")) == "-"
    assert stats_text(SessionStats(ref, "docker", note="engine down")) == "?"


async def test_one_stats_reading_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_for(*two_backends(tmp_path))
    release = threading.Event()
    asked: list[int] = []

    def slow_stats(sessions: list[Session], **_: object) -> list[SessionStats]:
        asked.append(len(sessions))
        release.wait(30)  # a slow engine: the reading lasts until the test lets go
        return []

    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        monkeypatch.setattr(app.inventory, "stats", slow_stats)
        await pilot.press("S")
        await wait_until(pilot, lambda: asked == [3], "a reading of the 3 rows on screen")
        await pilot.press("r")  # a refresh would measure again: one is under way
        await wait_until(pilot, lambda: not d._refreshing, "the refresh done")
        await pilot.press("r")
        await wait_until(pilot, lambda: not d._refreshing, "the second refresh done")
        assert asked == [3]
        release.set()
        await wait_until(
            pilot, lambda: not any(w.group == "stats" for w in app.workers), "the reading ended"
        )
        # (the app refreshes every 0.3 s, each refresh measures the rows on screen)
        await wait_until(pilot, lambda: len(asked) >= 2, "the next refresh measures again")


async def test_the_sessions_title_names_the_filter_not_the_view(tmp_path: Path) -> None:
    app = app_for(*two_backends(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 3)
        await pilot.press("colon", *"runs", "enter")
        await wait_until(pilot, lambda: len(d.table.shown) == 2, "the runs view")
        assert "filter" not in str(d.table.border_title)
        assert "Sessions 2/3" in str(d.table.border_title)
        await pilot.press("slash", *"idle", "enter")
        await wait_until(pilot, lambda: "filter: idle" in str(d.table.border_title), "titled")


async def test_rows_scrolled_into_view_get_their_stats(tmp_path: Path) -> None:
    for n in range(30):
        make_session(tmp_path / "runs", age=timedelta(hours=n + 1))
    cfg = AppConfig(
        backends=(dirs_config(tmp_path / "runs", max_sessions=-1, max_age_days=None),),
        ui=UIConfig(refresh_seconds=0.3),
    )
    app = SesstuiApp(cfg, live=False)  # no timed refresh: only the scroll can measure
    async with app.run_test(size=(80, 24)) as pilot:
        d = await rows(pilot, 30)
        d.stats_interval = 0.01
        await pilot.press("S")
        t = d.table
        top = t.visible_keys()[0]
        await wait_until(pilot, lambda: str(t.cell(top, "stats")).endswith("/s"), "top")
        await wait_until(pilot, lambda: not any(w.group == "stats" for w in d.workers), "done")
        bottom = t.row_keys[-1]
        assert str(t.cell(bottom, "stats")) == "…"
        await pilot.press("G")
        await wait_until(
            pilot, lambda: str(t.cell(bottom, "stats")).endswith("/s"), "the bottom row"
        )
