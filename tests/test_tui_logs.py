"""Pilot tests: search, filter, context and copy in the log pane, and the
merged log screen over real session directories."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.color import Color
from textual.pilot import Pilot

from core.config.records import AppConfig, SessionSpec, UIConfig
from core.inventory import Inventory
from core.model import LogLine, SessionRef
from tests.fakes import frozen_clock, sample_backends, sample_config
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import steady, wait_until
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.merged_logs import MergedLogScreen
from tui.themes import VARIABLE_DEFAULTS, bundled_themes
from tui.widgets.log_pane import SEPARATOR_TEXT, LogPane, SourceStyle

SnapCompare = Callable[..., bool]


class PaneApp(App[int]):
    """Just a log pane, focused, in a bundled theme."""

    def __init__(self, *, max_lines: int = 5000, theme: str = "sesstui-dark") -> None:
        super().__init__()
        self.max_lines = max_lines
        for t in bundled_themes():
            self.register_theme(t)
        self.theme = theme

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield LogPane(max_lines=self.max_lines, id="log")

    def on_mount(self) -> None:
        self.query_one(LogPane).focus()

    @property
    def pane(self) -> LogPane:
        return self.query_one(LogPane)


def numbered(n: int, start: int = 0) -> list[LogLine]:
    """``line i``; every tenth (i % 10 == 5) says ERROR."""
    return [
        LogLine(f"line {i} ERROR disk full" if i % 10 == 5 else f"line {i} ok")
        for i in range(start, start + n)
    ]


def notices(app: App[int]) -> list[str]:
    return [n.message for n in app._notifications]


async def type_search(pilot: Pilot[int], text: str, *, enter: bool = True) -> None:
    await pilot.press("slash", *text)
    if enter:
        await pilot.press("enter")


async def test_search_highlights_counts_and_n_N_walk_with_wrap() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(100))
        await pilot.press("home")
        assert pane.cursor_text == "line 0 ok"
        await type_search(pilot, "error", enter=False)
        assert pane.search_open
        assert pane.match_count == 10
        assert str(pane.border_subtitle) == "10 matches"
        await pilot.press("enter")  # from the cursor (line 0): the first match
        assert not pane.search_open
        assert pane.cursor_text == "line 5 ERROR disk full"
        assert str(pane.border_subtitle) == "match 1/10"
        await pilot.press("n", "n")
        assert pane.cursor_text == "line 25 ERROR disk full"
        assert str(pane.border_subtitle) == "match 3/10"
        await pilot.press("N", "N", "N")  # 15, 5, then around to 95
        assert pane.cursor_text == "line 95 ERROR disk full"
        assert str(pane.border_subtitle) == "match 10/10"
        assert "search wrapped" in notices(app)
        app.clear_notifications()
        await pilot.press("n")  # and forwards around to 5
        assert pane.match_position == 1
        assert "search wrapped" in notices(app)


async def test_match_highlight_uses_the_theme_and_the_cursor_line_shows() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.pane
        pane.add([LogLine("alpha beta"), LogLine("gamma BETA")])
        await type_search(pilot, "beta")  # from the last line: "gamma BETA" is current
        view = pane._view

        def hit(y: int) -> Style:
            (seg,) = [seg for seg in view.render_line(y) if seg.text.lower() == "beta"]
            assert seg.style is not None
            return seg.style

        other, current = hit(0), hit(1)
        assert other.reverse and not other.underline
        assert current.reverse and current.underline  # where n/N went
        warning = Color.parse(app.theme_variables["warning"]).rich_color
        accent = Color.parse(app.theme_variables["accent"]).rich_color
        assert other.color == warning and current.color == accent
        # the cursor line has the cursor's background only while the pane has focus
        cursor_bg = Color.parse(app.theme_variables["block-cursor-background"]).rich_color

        def background(y: int) -> object:
            first = next(iter(view.render_line(y)))
            return first.style.bgcolor if first.style else None

        assert background(1) == cursor_bg
        assert background(0) != cursor_bg
        pane.blur()
        await pilot.pause()
        assert background(1) != cursor_bg


async def test_regex_search_and_a_bad_regex_says_so() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(30))
        await type_search(pilot, r"re:line 1\d ")
        assert pane.match_count == 10
        pane.search("re:line (")
        assert pane.match_count == 0
        assert str(pane.border_subtitle).startswith("bad regex:")


async def test_filter_mode_shows_matches_with_context_groups_and_separators() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(100))
        await type_search(pilot, "error")
        await pilot.press("ampersand")
        assert pane.filter_mode
        shown = pane.shown_lines()
        assert shown == [f"line {i} ERROR disk full" for i in range(5, 100, 10)]
        assert str(pane.border_subtitle).startswith("filter: 'error' · 10 lines · context 0")
        await pilot.press("c")
        shown = pane.shown_lines()
        assert shown[:6] == ["line 3 ok", "line 4 ok", "line 5 ERROR disk full",
                             "line 6 ok", "line 7 ok", SEPARATOR_TEXT]  # fmt: skip
        assert len(shown) == 10 * 5 + 9
        assert shown.count(SEPARATOR_TEXT) == 9
        assert "context 2" in str(pane.border_subtitle)
        await pilot.press("c")  # 5 lines each side: the groups touch, no separators
        assert pane.context == 5
        assert pane.shown_lines() == [ln.text for ln in numbered(100)]
        await pilot.press("c")
        assert pane.context == 0
        # new lines are filtered as they come
        pane.add(numbered(20, start=100))
        assert pane.shown_lines()[-2:] == ["line 105 ERROR disk full", "line 115 ERROR disk full"]
        assert "12 lines" in str(pane.border_subtitle)
        # escape: first clears the search (everything shows), then leaves filter mode
        await pilot.press("escape")
        assert pane.search_text == "" and pane.filter_mode
        assert len(pane.shown_lines()) == 120
        await pilot.press("escape")
        assert not pane.filter_mode
        assert str(pane.border_subtitle) == ""


async def test_filter_keeps_the_cursor_line_and_nothing_matching_says_so() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(100))
        await type_search(pilot, "error")
        await pilot.press("home", "n", "n")
        assert pane.cursor_text == "line 15 ERROR disk full"
        await pilot.press("ampersand")
        assert pane.cursor_text == "line 15 ERROR disk full"
        for context in (2, 5, 0):
            await pilot.press("c")
            assert pane.context == context
            assert pane.cursor_text == "line 15 ERROR disk full"
        await pilot.press("c", "k")  # onto a context line, kept when the filter goes
        assert pane.cursor_text == "line 14 ok"
        await pilot.press("ampersand")
        assert pane.cursor_text == "line 14 ok"
        assert not pane.filter_mode
        await pilot.press("ampersand")
        pane.search("nothing like this")
        assert pane.shown_lines() == []
        assert pane.placeholder == "no lines match 'nothing like this'"


async def test_ampersand_without_a_search_opens_the_box_and_typing_filters() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(50))
        await pilot.press("ampersand")
        assert pane.filter_mode and pane.search_open
        await pilot.press(*"line 4")  # live: narrows while typing
        assert pane.shown_lines() == ["line 4 ok", *(f"line {i} ok" for i in range(40, 45)),
                                      "line 45 ERROR disk full",
                                      *(f"line {i} ok" for i in range(46, 50))]  # fmt: skip


async def test_copy_puts_the_cursor_line_on_the_clipboard() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(40))
        await pilot.press("y")  # at the end: the last line
        assert app.clipboard == "line 39 ok"
        await type_search(pilot, "error")  # from the end, around to the first match
        await pilot.press("y")
        assert app.clipboard == "line 5 ERROR disk full"
        assert "Copied line (22 chars) to the clipboard" in notices(app)
        await pilot.press("k", "k", "y")
        assert app.clipboard == "line 3 ok"


async def test_copy_on_an_empty_pane_says_so() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.pane.message("nothing here yet")
        await pilot.press("y")
        assert app.clipboard == ""
        assert "Nothing to copy" in notices(app)


async def test_cursor_follows_the_end_until_moved_up() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.pane
        view = pane._view
        pane.add(numbered(100))
        await pilot.pause()
        assert pane.at_end and pane.cursor_text == "line 99 ok"
        assert view.scroll_y == view.max_scroll_y > 0
        pane.add(numbered(5, start=100))
        await pilot.pause()
        assert pane.cursor_text == "line 104 ok"
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("k", "k", "k")  # up pauses auto-scroll
        assert not pane.at_end and pane.cursor_text == "line 101 ok"
        top = view.scroll_y
        pane.add(numbered(10, start=105))
        await pilot.pause()
        assert pane.cursor_text == "line 101 ok"
        assert view.scroll_y == top
        await pilot.press("j", "j", "j")  # back onto the last line...
        assert not pane.at_end
        await pilot.press("end")  # ...end follows again
        assert pane.at_end
        pane.add(numbered(3, start=115))
        await pilot.pause()
        assert pane.cursor_text == "line 117 ok"
        assert view.scroll_y == view.max_scroll_y


async def test_max_lines_bounds_memory_and_keeps_the_view_on_its_lines() -> None:
    app = PaneApp(max_lines=50)
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.pane
        for start in range(0, 200, 20):
            pane.add(numbered(20, start=start))
        assert pane.line_count == 50
        assert pane.lines[0] == "line 150 ok"
        await type_search(pilot, "error")
        assert pane.match_count == 5
        await pilot.press("home")
        assert pane.cursor_text == "line 150 ok"
        pane.add(numbered(10, start=200))  # line 150..159 drop off the top
        assert pane.lines[0] == "line 160 ok"
        assert pane.cursor_text == "line 160 ok"
        assert pane.match_count == 5


async def test_keymap_remaps_the_log_keys_by_id() -> None:
    app = PaneApp()
    app.set_keymap({"logs.search": "ctrl+f", "logs.line_up": "u", "logs.copy": "ctrl+y"})
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add(numbered(10))
        await pilot.press("u", "ctrl+y")
        assert app.clipboard == "line 8 ok"
        await pilot.press("slash")
        assert not pane.search_open
        await pilot.press("ctrl+f")
        assert pane.search_open


async def test_control_characters_and_colour_codes_are_cleaned() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)):
        pane = app.pane
        pane.add([LogLine("\x1b[31mred\x1b[0m\tafter tab\x07bell"), LogLine("gone", notice=True)])
        assert pane.lines == ["red     after tab\N{REPLACEMENT CHARACTER}bell", "── gone ──"]
        assert pane.cursor_text == "gone"


async def test_sources_show_labels_and_hidden_ones_come_back_in_order() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)):
        pane = app.pane
        pane.set_sources({"0": SourceStyle("alpha", "primary"), "1": SourceStyle("b", "success")})
        pane.add_sourced([("0", LogLine("one")), ("1", LogLine("two")), ("0", LogLine("three"))])
        assert pane.shown_lines() == ["alpha │ one", "b     │ two", "alpha │ three"]
        pane.set_hidden_sources({"0"})
        assert pane.shown_lines() == ["b     │ two"]
        pane.add_sourced([("0", LogLine("four")), ("1", LogLine("five"))])
        assert pane.shown_lines() == ["b     │ two", "b     │ five"]
        pane.search("f")
        pane.action_toggle_filter()
        assert pane.shown_lines() == ["b     │ five"]  # "four" matches but is hidden
        pane.set_hidden_sources(set())
        assert pane.shown_lines() == ["alpha │ four", "b     │ five"]
        assert pane.cursor_text == "five"
        pane.action_close()
        pane.action_close()
        assert [s.split("│ ")[1] for s in pane.shown_lines()] == [
            "one",
            "two",
            "three",
            "four",
            "five",
        ]


async def test_search_and_filter_see_a_lines_own_text_never_its_label() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_sources({"0": SourceStyle("alpha", "primary"), "1": SourceStyle("b", "success")})
        pane.add_sourced([("0", LogLine("one")), ("1", LogLine("two alpha")),
                          ("0", LogLine("three")), ("1", LogLine("b", notice=True))])  # fmt: skip
        await pilot.press("home")  # the cursor off the lines looked at below
        pane.search("alpha")  # a label: only the line that says it matches
        assert pane.match_count == 1
        pane.search("re:^t")  # "^" is where the line's own text starts
        assert pane.match_count == 2
        pane.search("│")
        assert pane.match_count == 0
        pane.search("re:^── b")  # a notice's own text is what it shows
        assert pane.match_count == 1
        pane.search("alpha")
        pane.action_toggle_filter()
        assert pane.shown_lines() == ["b     │ two alpha"]
        pane.add_sourced([("0", LogLine("four")), ("1", LogLine("alpha again"))])
        assert pane.shown_lines() == ["b     │ two alpha", "b     │ alpha again"]
        pane.action_toggle_filter()

        def highlighted(y: int) -> list[tuple[int, str]]:
            """(column, text) of the highlighted spans of row ``y``."""
            out, col = [], 0
            for seg in pane._view.render_line(y):
                if seg.style is not None and seg.style.reverse:
                    out.append((col, seg.text))
                col += len(seg.text)
            return out

        await pilot.pause()
        assert highlighted(0) == []  # "alpha │ one": the label is not a match
        assert highlighted(1) == [(len("b     │ two "), "alpha")]
        assert highlighted(4) == []
        assert highlighted(5) == [(len("b     │ "), "alpha")]
        pane.search("re:^t")  # spans past the label, one per line
        await pilot.pause()
        assert highlighted(1) == [(len("b     │ "), "t")]
        assert highlighted(2) == [(len("alpha │ "), "t")]


async def test_a_long_label_loses_its_middle() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)):
        pane = app.pane
        pane.set_sources({"0": SourceStyle("runs:2026-11-21-14-26-00_3f9c1a", "warning")})
        pane.add_sourced([("0", LogLine("x"))])
        assert pane.shown_lines() == ["runs:2026…-00_3f9c1a │ x"]


async def test_a_wide_screen_gives_labels_their_room() -> None:
    app = PaneApp()
    async with app.run_test(size=(160, 24)):
        pane = app.pane
        label = "runs:2026-11-21-14-26-00_3f9c1a"  # 31 characters: under 160 // 4
        pane.set_sources({"0": SourceStyle(label, "warning"), "1": SourceStyle("b", "success")})
        pane.add_sourced([("0", LogLine("x")), ("1", LogLine("y"))])
        assert pane.shown_lines() == [f"{label} │ x", f"{'b':<31} │ y"]


# -- the merged log screen over real session directories ---------------------


def merged_app(base: Path, keymap: Mapping[str, str] | None = None) -> SesstuiApp:
    ui = UIConfig(refresh_seconds=0, log_lines=50, keymap=dict(keymap or {}))
    return SesstuiApp(AppConfig(backends=(dirs_config(base),), ui=ui), live=False)


def stamp(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


async def open_merged(
    pilot: Pilot[int], refs: list[SessionRef], labels: dict[SessionRef, str]
) -> MergedLogScreen:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
    screen = MergedLogScreen(refs, labels)
    await app.push_screen(screen)
    return screen


async def test_merged_screen_orders_mutes_pauses_and_closes(tmp_path: Path) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    a = make_session(tmp_path, files={"logs/app.log": "".join(
        f"{stamp(t0 + timedelta(seconds=s))} a{s}\n" for s in (0, 2)
    )})  # fmt: skip
    b = make_session(tmp_path, files={"logs/app.log": "".join(
        f"{stamp(t0 + timedelta(seconds=s))} b{s}\n" for s in (1, 3)
    )})  # fmt: skip
    refs = [SessionRef("runs", a.name), SessionRef("runs", b.name)]
    labels = {refs[0]: "runs:a", refs[1]: "runs:b"}
    app = merged_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_merged(pilot, refs, labels)
        pane = screen.pane
        await wait_until(pilot, lambda: pane.line_count == 4, "the merged backlog")
        words = [line.split()[-1] for line in pane.shown_lines()]
        assert words == ["a0", "b1", "a2", "b3"]
        assert pane.shown_lines()[0].startswith("runs:a │ ")
        header = str(screen.query_one("#merged-header").render())
        assert "following" in header and "runs:a" in header and "runs:b" in header

        with (b / "logs" / "app.log").open("a") as f:
            f.write("b live\n")
        await wait_until(pilot, lambda: pane.line_count == 5, "a live line")
        assert pane.shown_lines()[-1] == "runs:b │ b live"

        await pilot.press("1")  # mute source 1 (runs:a): its lines hide, and stay
        assert [s.split()[-1] for s in pane.shown_lines()] == ["b1", "b3", "live"]
        assert "(muted)" in str(screen.query_one("#merged-header").render())
        await pilot.press("1")
        assert len(pane.shown_lines()) == 5

        await pilot.press("space")  # pause: lines are held and counted
        assert screen.paused
        with (a / "logs" / "app.log").open("a") as f:
            f.write("a while paused\n")
        await wait_until(pilot, lambda: screen.held_count == 1, "the held line")
        assert "paused · 1 new" in str(screen.query_one("#merged-header").render())
        assert pane.line_count == 5
        await pilot.press("space")
        assert pane.shown_lines()[-1] == "runs:a │ a while paused"
        assert screen.held_count == 0

        # the pane's search works here too, on each line's own text: a session's
        # label is not in its lines
        pane.search("runs:")
        assert pane.match_count == 0
        await pilot.press("slash", *"b3", "enter", "y")
        assert app.clipboard.endswith("b3")

        tail = screen._tail
        assert tail is not None and tail.alive == 2
        await pilot.press("escape")  # clears the pane's search
        assert app.screen is screen and pane.search_text == ""
        await pilot.press("escape")  # nothing left to close in the pane: back
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        await wait_until(pilot, lambda: tail.alive == 0, "the tail threads to end")
        assert tail.closed


async def test_merged_screen_shows_a_source_that_cannot_be_tailed(tmp_path: Path) -> None:
    good = make_session(tmp_path, files={"logs/app.log": "hello\n"})
    nolog = make_session(tmp_path, files={"notes.txt": "x\n"})
    refs = [SessionRef("runs", good.name), SessionRef("runs", nolog.name)]
    app = merged_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_merged(pilot, refs, {refs[1]: "runs:nolog"})
        pane = screen.pane
        await wait_until(pilot, lambda: pane.line_count == 2, "both sources")
        failed = [s for s in pane.shown_lines() if s.startswith("runs:nolog")]
        assert len(failed) == 1 and "── cannot tail: " in failed[0]
        await pilot.press("3")  # there is no third source
        assert any("No source 3" in n for n in notices(app))
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")


async def test_merged_keys_follow_the_keymap(tmp_path: Path) -> None:
    a = make_session(tmp_path, files={"logs/app.log": "from a\n"})
    b = make_session(tmp_path, files={"logs/app.log": "from b\n"})
    refs = [SessionRef("runs", a.name), SessionRef("runs", b.name)]
    keymap = {"merged.mute": "f1,f2", "merged.back": "ctrl+b", "merged.help": "f5"}
    app = merged_app(tmp_path, keymap)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_merged(pilot, refs, {refs[0]: "runs:a", refs[1]: "runs:b"})
        pane = screen.pane
        await wait_until(pilot, lambda: pane.line_count == 2, "both sources")
        header = str(screen.query_one("#merged-header").render())
        assert "f1-f2 mute" in header and "f1 ● runs:a" in header and "f2 ● runs:b" in header
        await pilot.press("1")  # remapped away: no longer mutes
        assert screen.muted == set()
        await pilot.press("f1")  # the first key of the keymap mutes source 1
        assert screen.muted == {screen.keys[refs[0]]}
        assert pane.shown_lines() == ["runs:b │ from b"]
        await pilot.press("f2", "f1")
        assert screen.muted == {screen.keys[refs[1]]}
        assert pane.shown_lines() == ["runs:a │ from a"]
        await pilot.press("question_mark")  # help and back are remapped by id too
        assert app.screen is screen
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the help to close")
        await pilot.press("q", "escape")
        await pilot.pause()
        assert app.screen is screen
        tail = screen._tail
        assert tail is not None
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        await wait_until(pilot, lambda: tail.alive == 0, "the tail threads to end")


@pytest.mark.tmux
async def test_leaving_never_waits_for_a_source_stuck_in_its_backend(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    base = tmp_path / "runs"
    d = make_session(base, files={"logs/app.log": "dirs line\n"})
    backends = (dirs_config(base), tmux_server.config("tm", log_dir=tmp_path / "pipes"))
    ui = UIConfig(refresh_seconds=0, log_lines=50)
    app = SesstuiApp(AppConfig(backends=backends, ui=ui), live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        app.inventory.backends["tm"].start(SessionSpec(name="echo", backend="tm", command=("cat",)))
        server = int(tmux_server.value("=echo:", "#{pid}"))
        refs = [SessionRef("runs", d.name), SessionRef("tm", "echo")]
        os.kill(server, signal.SIGSTOP)  # every tmux command hangs: tail() is stuck
        try:
            screen = await open_merged(pilot, refs, {refs[0]: "runs:d", refs[1]: "tm:echo"})
            pane = screen.pane
            await wait_until(pilot, lambda: pane.line_count == 1, "the dirs line")
            tail = screen._tail
            assert tail is not None and tail.alive == 2
            await pilot.press("escape")
            await wait_until(pilot, lambda: screen.closer is not None, "the screen to go")
            # the close runs in a thread of its own, not on the UI's
            assert screen.closer is not threading.current_thread()
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
            assert tail.closed and tail.alive == 1  # the stuck one, still stuck
        finally:
            os.kill(server, signal.SIGCONT)
        closer = screen.closer
        assert closer is not None
        # the stuck source gets its stream, closes it and ends; so does the closer
        await wait_until(pilot, lambda: tail.alive == 0, "the stuck thread to end")
        await wait_until(pilot, lambda: not closer.is_alive(), "the closing thread to end")
        assert tmux_server.value("=echo:", "#{pane_pipe}") == "0"


# -- snapshots: deterministic sessions from tests/fakes.py, frozen clock -------


def snapshot_app() -> SesstuiApp:
    config = sample_config()
    inv = Inventory(sample_backends(), config=config)
    return SesstuiApp(config, inventory=inv, clock=frozen_clock, live=False)


def open_merged_then(*keys: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    """Open the merged view on the first "runs" and "ci" sessions (both logs
    carry timestamps, so the order never depends on the day the test runs)."""

    async def run(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, SesstuiApp)
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        sessions = [app.inventory.backends[b].list_sessions()[0] for b in ("runs", "ci")]
        labels = {s.ref: f"{s.backend}:{s.name}" for s in sessions}
        screen = MergedLogScreen(list(labels), labels)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.pane.line_count == 36, "the merged backlog")
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.1)
        await steady(pilot)

    return run


def test_merged_screen_snapshot_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=open_merged_then())


def test_merged_screen_filter_snapshot_120x40(snap_compare: SnapCompare) -> None:
    keys = ("slash", *"batch 2", "enter", "ampersand", "c", "2")  # filter, context 2, mute ci
    assert snap_compare(snapshot_app(), terminal_size=(120, 40), run_before=open_merged_then(*keys))


async def test_t_hides_and_shows_the_timestamps_search_still_highlights() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.pane
        pane.add(
            [
                LogLine("2026-11-21 14:25:00,123 INFO ingest: batch 25"),
                LogLine("[Nov 21 14:25:01] WARNING slow batch"),
                LogLine("  a traceback line 14:25"),
            ]
        )
        await type_search(pilot, "batch")
        view = pane._view

        def text(y: int) -> str:
            return "".join(seg.text for seg in view.render_line(y)).rstrip()

        assert text(0).startswith("2026-11-21 14:25:00,123 INFO")
        await pilot.press("t")  # (the search stays: its matches are still marked)
        await wait_until(pilot, lambda: text(0).startswith("INFO ingest"), "no timestamp")
        assert text(1) == "WARNING slow batch"
        assert text(2) == "  a traceback line 14:25"  # no timestamp at its start: as it was
        # the match is still highlighted where it moved to
        (hit,) = [s for s in view.render_line(0) if s.text == "batch"]
        assert hit.style is not None and hit.style.reverse
        # copy (y) takes the whole line, timestamp and all
        assert pane.cursor_text == "2026-11-21 14:25:00,123 INFO ingest: batch 25"
        await pilot.press("t")
        await wait_until(pilot, lambda: text(0).startswith("2026-11-21"), "shown again")


async def test_plain_lines_take_the_themes_colours() -> None:
    # a line with no highlight used to be drawn without colours: the terminal's
    # own (dark patches in the light theme)
    app = PaneApp(theme="sesstui-light")
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.pane
        pane.add([LogLine("plain text"), LogLine("more")])
        pane.blur()  # no cursor line
        await pilot.pause()
        view = pane._view
        background = view.rich_style.bgcolor
        for y in (0, 1):
            for seg in view.render_line(y):
                assert seg.style is not None and seg.style.bgcolor == background, seg
