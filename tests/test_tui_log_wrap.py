"""Pilot tests: wrapping long lines in the log pane (``w``), and the merged
view's labels sized to the pane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from rich.style import Style
from textual.screen import Screen

from core.model import LogLine, SessionRef
from tests.helpers import make_session
from tests.pilot_helpers import wait_until
from tests.test_tui_logs import (
    PaneApp,
    SnapCompare,
    merged_app,
    numbered,
    open_merged,
    open_merged_then,
    snapshot_app,
    stamp,
    type_search,
)
from tui.screens.help import key_rows
from tui.widgets.log_pane import LogPane
from tui.widgets.log_view import MARK, wrap_points

LONG = " ".join(f"word{i:02d}" for i in range(30)) + " THE-END"


def screen(pane: LogPane) -> list[str]:
    """The text of every screen line of the pane's view."""
    view = pane._view
    return [
        "".join(seg.text for seg in view.render_line(y)).rstrip()
        for y in range(view.scrollable_content_region.height)
    ]


def test_wrap_points_break_between_words_and_cut_a_long_word() -> None:
    assert wrap_points("aaa bbb ccc", 6, 6) == (4, 8)  # "aaa ", "bbb ", "ccc"
    assert wrap_points("aaa bbb", 3, 3) == (4,)  # the space past the edge ends the row
    assert wrap_points("abcdefgh", 3, 3) == (3, 6)
    assert wrap_points("aaa bbb ccc", 7, 7) == (8,)
    assert wrap_points("short", 10, 10) == ()


async def test_wrap_shows_a_long_lines_end_and_y_copies_the_whole_line() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.pane
        pane.add([LogLine("first"), LogLine(LONG), LogLine("last")])
        await pilot.pause()
        assert not pane.wrap  # off by default: the line is cut
        assert ("w", "Wrap") in key_rows(cast("Screen[None]", app.screen))  # listed in the help
        rows = screen(pane)
        assert not any("THE-END" in r for r in rows)
        await pilot.press("w")
        await pilot.pause()
        assert pane.wrap
        rows = screen(pane)
        assert rows[0] == "first"
        assert rows[1].startswith("word00 word01")
        continuation = [r for r in rows[2:] if r.startswith(MARK)]
        assert continuation and continuation[-1].endswith("THE-END")
        assert all(len(r) <= 39 for r in rows)  # nothing past the width
        # words are never cut: every word of the line is whole on some row
        words = " ".join(r.removeprefix(MARK) for r in rows).split()
        assert [w for w in words if w.startswith("word")] == [f"word{i:02d}" for i in range(30)]
        assert rows[len(continuation) + 2] == "last"
        # the cursor is on a logical line: one step up from "last" is the long line
        await pilot.press("k")
        assert pane.cursor_text == LONG
        await pilot.press("y")
        assert app.clipboard == LONG
        await pilot.press("k")
        assert pane.cursor_text == "first"
        await pilot.press("w")  # and off again: cut
        await pilot.pause()
        assert not any("THE-END" in r for r in screen(pane))
        assert screen(pane)[:3] == ["first", screen(pane)[1], "last"]


async def test_search_finds_a_match_in_a_wrapped_continuation() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.pane
        pane.add([LogLine("first"), LogLine(LONG), LogLine("last")])
        await pilot.press("w", "home")
        await type_search(pilot, "the-end")
        assert pane.cursor_text == LONG
        assert pane.match_position == 1
        view = pane._view
        y = next(i for i, r in enumerate(screen(pane)) if r.endswith("THE-END"))
        assert y > 1  # on a continuation row, not the line's first
        (seg,) = [s for s in view.render_line(y) if s.text == "THE-END"]
        assert isinstance(seg.style, Style) and seg.style.reverse


async def test_wrapped_lines_follow_the_end_and_keep_the_cursor_in_view() -> None:
    app = PaneApp(max_lines=20)
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.pane
        await pilot.press("w")
        pane.add([LogLine(f"{i} {LONG}") for i in range(20)])
        await pilot.pause()
        assert pane.at_end
        assert screen(pane)[-1].endswith("THE-END")  # the last line's end, at the bottom
        await pilot.press("home")
        assert screen(pane)[0].startswith("0 word00")
        for _ in range(6):
            await pilot.press("j")
        assert pane.cursor_text == f"6 {LONG}"
        before = screen(pane)
        assert any(r.startswith("6 word00") for r in before)
        pane.add(numbered(3))  # not following: the view stays put as 3 lines drop off the top
        await pilot.pause()
        assert screen(pane) == before


async def test_t_hides_timestamps_and_the_wrapped_rows_follow() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.pane
        stamp = "2024-01-01T00:00:00.000000000Z "
        pane.add([LogLine(stamp + "x" * 20)])  # 51 columns: two rows; without it one
        await pilot.press("w")
        await pilot.pause()
        assert screen(pane)[1].startswith(MARK)
        await pilot.press("t")
        await pilot.pause()
        assert screen(pane)[:2] == ["x" * 20, ""]


async def test_wrap_stays_on_for_a_pane_opened_later_in_the_app() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.press("w")
        later = LogPane(id="later")
        await app.mount(later)
        assert later.wrap


async def test_a_resize_wraps_the_lines_again_at_the_new_width() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.pane
        pane.add([LogLine(LONG), LogLine("last")])
        await pilot.press("w")
        await pilot.pause()
        narrow = screen(pane).index("last")
        await pilot.resize_terminal(120, 12)
        await pilot.pause()
        wide = screen(pane).index("last")
        assert wide < narrow
        assert screen(pane)[wide - 1].endswith("THE-END")


def test_merged_view_wrapped_snapshot_80x24(snap_compare: SnapCompare) -> None:
    """Wrapped lines under their source's label: the label column stays blank
    (its bar kept) on continuation rows, which start with the mark."""
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=open_merged_then("w"))


async def test_merged_labels_follow_the_panes_width(tmp_path: Path) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    a = make_session(tmp_path, files={"logs/app.log": f"{stamp(t0)} alpha here\n"})
    b = make_session(tmp_path, files={"logs/app.log": f"{stamp(t0 + timedelta(seconds=1))} b\n"})
    refs = [SessionRef("runs", a.name), SessionRef("runs", b.name)]
    labels = {r: f"runs:{p.name}" for r, p in zip(refs, (a, b), strict=True)}  # some 70 characters
    longest = max(len(v) for v in labels.values())
    app = merged_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_merged(pilot, refs, labels)
        pane = screen.pane
        await wait_until(pilot, lambda: pane.line_count == 2, "the merged backlog")
        await pilot.press("home")
        year = stamp(t0)[:4]
        pane.search(year)  # at the start of the line's own text
        await pilot.pause()
        view = pane._view

        def drawn() -> tuple[str, int]:
            """The first row as drawn and the column of its highlighted match."""
            col, at = 0, -1
            for seg in view.render_line(0):
                if seg.style is not None and seg.style.reverse and seg.text == year:
                    at = col
                col += len(seg.text)
            return "".join(seg.text for seg in view.render_line(0)), at

        def check(width: int) -> None:
            assert pane.label_width == width
            row, at = drawn()
            assert row.index(" │ ") == width  # the label fitted to the column
            assert at == width + len(" │ ")
            assert pane.shown_lines()[0].index(" │ ") == width

        check(20)  # a quarter of 80 columns
        await pilot.resize_terminal(40, 24)
        await pilot.pause()
        check(10)  # narrow: the label column shrinks
        await pilot.resize_terminal(24, 24)
        await pilot.pause()
        check(8)  # never under 8 columns
        await pilot.resize_terminal(320, 24)
        await pilot.pause()
        check(longest)  # wide: the whole label, no wider
        assert drawn()[0].startswith(labels[refs[0]] + " │ ")
