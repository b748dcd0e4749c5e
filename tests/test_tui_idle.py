"""Pilot tests: the dashboard at rest does nothing.

A finished log (a JSON transcript) ends its worker instead of spinning; a
refresh that brings no change writes no cell and does not re-sort; ages and
TTLs are worked out when rows are drawn, so the clock ticking costs only the
rows on screen."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Static

from core.config.records import AppConfig, UIConfig
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.kv.providers import MemoryStores
from core.model import LogLine, Session
from tests.helpers import ManualClock, dirs_config, kv_record, make_session, unique
from tests.kv_helpers import fill
from tests.pilot_helpers import dash, memory_kv_app, wait_until
from tui.app import SesstuiApp
from tui.dashboard.selection import Selection
from tui.screens.dashboard import REFRESH_WAIT_MAX, DashboardScreen, refresh_delay
from tui.screens.merged_logs import MergedLogScreen
from tui.theme_style import theme_style
from tui.widgets.detail_panel import DetailPanel, FieldLines, Fields
from tui.widgets.health_bar import HealthBar
from tui.widgets.log_pane import LogPane
from tui.widgets.sessions_table import SessionsTable


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


def spy(monkeypatch: pytest.MonkeyPatch, cls: type, name: str, note: Callable[..., object]) -> None:
    """Call ``note`` with the arguments of each call of ``cls.name``, then the real method."""
    real = getattr(cls, name)

    def spied(self: Any, *args: Any, **kwargs: Any) -> Any:
        note(self, *args, **kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, spied)


class Counts:
    """How often the table drew rows again, sorted and worked out a time
    text (wrapping the real methods)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.redrawn = 0  # rows marked to be drawn again (their cells changed)
        self.cells: list[dict[str, list[str]]] = []  # per update: the columns, by row
        self.sort = 0
        self.time_said = 0
        real_redraw = SessionsTable.redraw_rows

        def redraw_rows(table: SessionsTable, keys: Any) -> None:
            keys = list(keys)
            self.redrawn += len(keys)
            real_redraw(table, keys)

        monkeypatch.setattr(SessionsTable, "redraw_rows", redraw_rows)
        real_update = SessionsTable.update_cells

        def update_cells(table: SessionsTable, changes: Any) -> None:
            self.redrawn += len(changes)  # (only some cells of these rows)
            self.cells.append({k: sorted(cells) for k, cells in changes.items()})
            real_update(table, changes)

        monkeypatch.setattr(SessionsTable, "update_cells", update_cells)
        for name in ("_reorder", "time_said"):
            self._wrap(monkeypatch, name)

    def _wrap(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        real = getattr(SessionsTable, name)
        field = name.strip("_").replace("reorder", "sort")

        def counted(table: SessionsTable, *args: Any, **kwargs: Any) -> Any:
            setattr(self, field, getattr(self, field) + 1)
            return real(table, *args, **kwargs)

        monkeypatch.setattr(SessionsTable, name, counted)

    def reset(self) -> None:
        self.redrawn = self.sort = self.time_said = 0
        self.cells = []


async def refreshed(pilot: Pilot[int]) -> None:
    """Refresh now and wait until the listing and its sizes are in."""
    screen = dash(pilot)
    screen.action_refresh()
    await wait_until(pilot, lambda: not screen._refreshing, "the refresh to end")


async def test_a_refresh_that_brings_no_change_writes_no_cell_and_does_not_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for days in range(30):
        make_session(tmp_path, age=timedelta(days=days, minutes=days))
    counts = Counts(monkeypatch)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(
            pilot,
            lambda: len(t.shown) == 30 and all(s.size for s in t.shown.values()),
            "every row measured",
        )
        await refreshed(pilot)
        counts.reset()
        for _ in range(3):
            await refreshed(pilot)  # same listing, same sizes (from the cache)
        assert (counts.redrawn, counts.sort) == (0, 0)
        # a change is still shown: one session's log grows, one row is drawn again
        newest = t.row_keys[0]
        session = t.shown[newest]
        assert session.path is not None
        (Path(session.path) / "logs" / "app.log").write_text("x" * 100_000)
        await refreshed(pilot)
        await wait_until(pilot, lambda: counts.redrawn > 0, "the new size")
        assert counts.redrawn == 1 and counts.sort == 0  # sorted by age: the order stays
        assert t.row_count == 30


async def test_a_store_listed_again_unchanged_is_not_merged_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"web-{unique()}"
    stores = MemoryStores()
    fill(stores, name, 50, datetime.now(UTC))
    store = stores.store(name)
    applied: list[int] = []
    spy(monkeypatch, SessionsTable, "_apply", lambda t, *_a, **_k: applied.append(len(t.sessions)))
    measured: list[int] = []
    spy(monkeypatch, Selection, "sizes_measured", lambda _s, _z, _d, total: measured.append(total))
    titled: list[int] = []
    spy(monkeypatch, Selection, "update_title", lambda sel: titled.append(len(sel.table.shown)))
    app = memory_kv_app(name, stores)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 50, "every row")
        merged = t.model.sessions
        applied.clear()
        titled.clear()
        await refreshed(pilot)
        # the very same sessions in the same order: no merge, no row looked at,
        # no title worked out again (its sum of sizes goes over every row); and
        # no word of sizes (a KV store measures none)
        assert applied == [] and t.model.sessions is merged
        assert titled == []
        assert str(t.border_title) == "Sessions 50 · 0 B"
        assert measured == []
        # a filter may show other rows with time alone: its rows are worked out
        assert t.set_filter("ttl<2h") is None
        applied.clear()
        await refreshed(pilot)
        assert applied == [50] and len(t.shown) == 50
        # a change is merged and shown
        store.setex("session:s00007", 60, kv_record("s00007", ttl=60, meta={"turns": 9}))
        await refreshed(pilot)
        assert t.model.sessions is not merged
        assert t.shown[f"{name}:s00007"].metadata.get("meta.turns") == "9"


async def test_an_empty_store_listed_first_gets_its_title() -> None:
    # (an empty listing is the same as the empty table's: the title is set all the same)
    app = memory_kv_app(f"web-{unique()}", MemoryStores())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        await wait_until(pilot, lambda: screen.snapshot is not None, "the first listing")
        await wait_until(pilot, lambda: not screen._refreshing, "the refresh to end")
        assert str(screen.table.border_title) == "Sessions 0 · 0 B"


async def test_the_ttl_countdown_writes_no_cell_and_works_out_only_rows_on_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"web-{unique()}"
    stores = MemoryStores()
    store = stores.store(name)
    start = datetime.now(UTC).replace(microsecond=0)
    for i in range(300):
        sid = f"s{i:03d}"
        store.setex(f"session:{sid}", 3600 + i, kv_record(sid, ttl=3600 + i, now=start))
    clock = ManualClock(start)
    counts = Counts(monkeypatch)
    app = memory_kv_app(name, stores, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 300, "every row")
        t.tick()
        await pilot.pause()
        top = t.row_keys[0]
        assert str(t.cell(top, "ttl")) == "1h00m"
        counts.reset()
        clock.advance(timedelta(seconds=1))
        assert t.tick()  # the countdown moved on screen
        on_screen = len(t.visible_keys())
        assert 0 < on_screen < 30
        # only the top row's text changed (1h00m -> 59m59s; the next ones still
        # read 1h00m): only it is drawn again
        assert counts.redrawn == 1
        assert counts.cells == [{top: ["ttl"]}]  # its age and activity did not move
        # each time column of each row on screen, once: never the 300 rows
        assert counts.time_said <= 3 * on_screen
        await pilot.pause()
        assert "59m59s" in t.render_line(1).text
        assert str(t.cell(top, "ttl")) == "59m59s"
        counts.reset()
        assert not t.tick()  # the same second again: nothing to redraw
        assert counts.redrawn == 0


async def test_a_tick_redraws_only_the_rows_whose_times_changed(tmp_path: Path) -> None:
    start = datetime.now().astimezone().replace(microsecond=0)
    make_session(tmp_path, now=start)  # "0s": its age and activity move every second
    for days in range(1, 20):
        make_session(tmp_path, age=timedelta(days=days), now=start)
    clock = ManualClock(start)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, clock=clock, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 20, "the rows")
        await pilot.pause()
        t.tick()
        await pilot.pause()
        drawn: list[str] = []
        real = t.row_cells

        def counted(key: str) -> list[Text]:
            drawn.append(key)
            return real(key)

        t.row_cells = counted  # type: ignore[method-assign]
        patched: list[dict[str, list[str]]] = []
        real_update = t.update_cells

        def update(changes: Mapping[str, Mapping[str, Text]]) -> None:
            patched.append({k: sorted(cells) for k, cells in changes.items()})
            real_update(changes)

        t.update_cells = update  # type: ignore[method-assign]
        clock.advance(timedelta(seconds=1))
        assert t.tick()
        await pilot.pause()
        # the fresh one's time cells ("3d" stayed "3d"), put into its drawn
        # line: no row is made again
        assert patched == [{t.row_keys[0]: ["active", "age"]}]
        assert drawn == []
        assert "1s" in t.render_line(1).text
        patched.clear()
        assert not t.tick()  # the same second: nothing
        await pilot.pause()
        assert drawn == [] and patched == [{}]
        # a row drawn anew (its line dropped) shows the clock's time too
        t.redraw_rows([t.row_keys[0]])
        clock.advance(timedelta(seconds=1))
        await pilot.pause()
        assert "2s" in t.render_line(1).text and drawn == [t.row_keys[0]]


def test_a_costly_refresh_waits_longer_so_refreshing_stays_a_small_share() -> None:
    assert refresh_delay(2.0, 0.005) == 2.0  # cheap: every ui.refresh_seconds
    # 0.1 s of CPU is followed by 19.9 s of rest: refreshing takes 0.5% of a core
    assert refresh_delay(2.0, 0.1) == pytest.approx(19.9)
    # a listing longer than the interval (100k KV sessions) never runs back to back
    assert refresh_delay(2.0, 3.0) == REFRESH_WAIT_MAX
    assert refresh_delay(120.0, 0.5) == 120.0


async def test_a_fast_log_is_appended_once_per_ui_turn_and_what_waits_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_session(tmp_path, files={"logs/app.log": "start\n"})
    adds: list[int] = []
    real_add = LogPane.add

    def add(pane: LogPane, lines: Sequence[LogLine]) -> None:
        adds.append(len(lines))
        real_add(pane, lines)

    monkeypatch.setattr(LogPane, "add", add)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0, log_lines=10))
    app = SesstuiApp(cfg, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        pane = screen.log_pane
        await wait_until(pilot, lambda: "start" in pane.lines, "the log")
        inbox = screen._inbox
        assert inbox is not None and pane.max_lines == 200
        adds.clear()
        posts = inbox.posts
        # what the tail worker does while the UI is busy drawing: read after
        # read (it never waits for the UI), 5,000 lines before the UI's next turn
        for i in range(100):
            inbox.put([LogLine(f"line {i}-{j}") for j in range(50)])
        assert inbox.posts == posts + 1  # one message for the whole burst
        assert len(inbox) == 200 and inbox.dropped == 4_800  # never more than the pane holds
        await wait_until(pilot, lambda: len(inbox) == 0, "the UI to take the lines")
        assert adds == [200]  # one append (and one redraw) for the burst
        assert pane.lines[-1] == "line 99-49" and pane.line_count == 200
        # the cursor moves on: what the old log's reader still puts is dropped
        inbox.put([LogLine("late")])
        screen._stop_tail()
        assert len(inbox) == 0
        inbox.put([LogLine("later")])
        await pilot.pause()
        assert adds == [200] and "late" not in pane.lines


async def test_keys_typed_ahead_move_the_cursor_and_open_one_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minutes in range(20):
        make_session(tmp_path, age=timedelta(minutes=minutes + 1), files={"logs/app.log": "hi\n"})
    opened: list[str] = []
    real_start = DashboardScreen._start_tail

    def start_tail(screen: DashboardScreen, session: Session) -> None:
        opened.append(session.id)
        real_start(screen, session)

    monkeypatch.setattr(DashboardScreen, "_start_tail", start_tail)
    footers: list[int] = []
    real_refresh = DashboardScreen.refresh_bindings

    def refresh_bindings(screen: DashboardScreen) -> None:
        footers.append(1)
        real_refresh(screen)

    monkeypatch.setattr(DashboardScreen, "refresh_bindings", refresh_bindings)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        t = screen.table
        await wait_until(pilot, lambda: len(t.shown) == 20 and opened, "the first log")
        await pilot.pause()
        opened.clear()
        footers.clear()
        for _ in range(10):  # ten rows down before the app's next turn
            t.action_cursor_down()
        target = t.selected
        assert target is not None
        await wait_until(pilot, lambda: screen._tail_ref == target.ref, "the log of the row")
        assert opened == [target.id]  # one log opened, not one per row passed
        assert footers == []  # rows of one kind: the footer stays as it is


async def test_the_details_ago_ticks_each_minute_as_a_repaint_of_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime.now().astimezone().replace(microsecond=0)
    make_session(tmp_path, age=timedelta(seconds=58), now=start)
    clock = ManualClock(start)
    drawn: list[tuple[list[int], bool]] = []  # the times' part: lines drawn again, a layout?
    real_refresh = FieldLines.refresh

    def refresh(widget: FieldLines, *regions: Region, layout: bool = False, **kw: Any) -> Any:
        if widget.is_mounted:
            drawn.append(([r.y for r in regions], layout))
        return real_refresh(widget, *regions, layout=layout, **kw)

    monkeypatch.setattr(FieldLines, "refresh", refresh)
    others: list[str | None] = []  # any other part drawn again
    real_update = Static.update

    def update(widget: Static, content: Any = "", *, layout: bool = True) -> None:
        others.append(widget.id)
        real_update(widget, content, layout=layout)

    monkeypatch.setattr(Static, "update", update)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, clock=clock, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = dash(pilot).query_one(DetailPanel)
        await wait_until(pilot, lambda: detail.session is not None, "the details")
        await pilot.pause()
        times = detail.query_one("#detail-times", FieldLines)

        def lines() -> list[str]:
            return [times.render_line(y).text for y in range(times.size.height)]

        def said() -> str:  # (a time may wrap between its lines)
            return " ".join(" ".join(lines()).split())

        def redrawn() -> tuple[list[int], list[bool]]:
            return [y for ys, _ in drawn for y in ys], [layout for _, layout in drawn]

        assert not detail.tick()  # the same second: nothing
        before = lines()
        assert said().count("(<1m ago)") == 2
        drawn.clear()
        others.clear()
        clock.advance(timedelta(seconds=1))
        # 59s: still "<1m ago" (beside the exact time, whole minutes)
        assert not detail.tick() and drawn == []
        clock.advance(timedelta(seconds=1))
        assert detail.tick()
        await pilot.pause()
        after = lines()
        assert len(after) == len(before) and said().count("(1m ago)") == 2
        # "<1m ago" -> "1m ago": the lines that changed, no layout
        changed = [y for y, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert changed and redrawn()[0] == changed and not any(redrawn()[1])
        drawn.clear()
        clock.advance(timedelta(seconds=59))
        assert not detail.tick()  # still 1m
        clock.advance(timedelta(seconds=1))
        assert detail.tick()
        await pilot.pause()
        assert said().count("(2m ago)") == 2
        # "1m" -> "2m": those lines alone (the rest of the times stays as drawn)
        changed = [y for y, (a, b) in enumerate(zip(after, lines(), strict=True)) if a != b]
        assert 0 < len(changed) < len(after)
        assert redrawn()[0] == changed and not any(redrawn()[1])
        # only the times' lines: the fields above and below them are not drawn again
        assert others == []


async def test_field_lines_lay_out_again_only_when_the_lines_are_more_or_fewer() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield FieldLines(id="f")

    app = One()
    async with app.run_test(size=(30, 10)) as pilot:
        f = app.query_one(FieldLines)
        layouts: list[bool] = []
        real_refresh = f.refresh

        def refresh(*regions: Region, layout: bool = False, **kw: Any) -> Any:
            layouts.append(layout)
            return real_refresh(*regions, layout=layout, **kw)

        f.refresh = refresh  # type: ignore[method-assign]
        f.update(Fields([("a", Text("one"))], 1))
        await pilot.pause()
        assert f.size.height == 1 and f.render_line(0).text.startswith("a one")
        layouts.clear()
        f.update(Fields([("a", Text("two"))], 1))
        assert layouts == [False]  # one line drawn again
        f.update(Fields([("a", Text("two")), ("b", Text("x " * 20))], 1))
        assert layouts == [False, True]  # more lines: a layout
        await pilot.pause()
        assert f.size.height == 3  # "b" folds to two lines at 30 columns
        layouts.clear()
        f.update(Fields([("a", Text("two")), ("b", Text("x " * 20))], 1))
        assert layouts == []  # nothing changed: nothing drawn


async def test_a_new_theme_recolours_the_state_cells(tmp_path: Path) -> None:
    make_session(tmp_path, age=timedelta(days=2))
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 1, "the row")
        key = t.row_keys[0]

        def state_style() -> object:
            cell = t.cell(key, "state")
            assert isinstance(cell, Text)
            return cell.style

        styled = cast("App[object]", app)
        dark = theme_style(styled, "state-idle")
        assert state_style() == dark
        app.theme = "sesstui-light"
        await pilot.pause()
        light = theme_style(styled, "state-idle")
        assert light != dark
        # no refresh brings a change (nothing changed): the theme alone recolours
        await wait_until(pilot, lambda: state_style() == light, "the light theme's colour")


async def test_the_clock_is_drawn_again_when_its_minute_changes_not_at_each_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 12, 6, 10, 0, 30).astimezone()
    make_session(tmp_path, age=timedelta(days=3), now=start)
    clock = ManualClock(start)
    drawn: list[str] = []
    real_render = HealthBar.render

    def render(bar: HealthBar) -> Text:
        line = real_render(bar)
        drawn.append(line.plain.split()[-1])
        return line

    monkeypatch.setattr(HealthBar, "render", render)
    cfg = AppConfig(backends=(dirs_config(tmp_path),), ui=UIConfig(refresh_seconds=0))
    app = SesstuiApp(cfg, clock=clock, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = dash(pilot)
        await wait_until(pilot, lambda: drawn and drawn[-1] == "10:00", "the clock")
        drawn.clear()
        clock.advance(timedelta(seconds=20))
        await refreshed(pilot)  # a refresh bringing no change, 20 s later
        screen._tick()
        await pilot.pause()
        assert drawn == []  # the same minute: the line is not drawn again
        clock.advance(timedelta(seconds=15))
        screen._tick()
        await pilot.pause()
        assert drawn == ["10:01"]
        # a change in what it shows of a backend (its count) draws it again
        drawn.clear()
        make_session(tmp_path, age=timedelta(days=1), now=start)
        await refreshed(pilot)
        await pilot.pause()
        assert drawn and "runs 2" in str(screen.query_one(HealthBar).render())
