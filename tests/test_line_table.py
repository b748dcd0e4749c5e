"""LineTable: rows drawn on demand (only those on screen), the cursor, the
header and the keys, in a real Textual app (headless)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import App, ComposeResult

from tui.widgets.line_table import Column, LineTable


class Counting(LineTable):
    """A table of ``n`` rows whose cells say which row they are; counts the
    rows it was asked to draw."""

    def __init__(self) -> None:
        super().__init__(id="t")
        self.drawn: list[str] = []

    def row_cells(self, key: str) -> Sequence[Text]:
        self.drawn.append(key)
        return [Text(key), Text(f"v{key}")]


class TableApp(App[None]):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.highlights: list[str | None] = []
        self.selected: list[str | None] = []
        self.headers: list[str] = []

    def compose(self) -> ComposeResult:
        yield Counting()

    def on_mount(self) -> None:
        t = self.query_one(Counting)
        t.use_columns([Column("a", Text("A"), 10), Column("b", Text("B"), 10)])
        t.set_rows([str(i) for i in range(self.n)])
        t.focus()

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        self.highlights.append(event.row_key)

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.selected.append(event.row_key)

    def on_line_table_header_selected(self, event: LineTable.HeaderSelected) -> None:
        self.headers.append(event.column_key)


async def test_a_hundred_thousand_rows_draw_only_the_screen() -> None:
    app = TableApp(100_000)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        assert t.row_count == 100_000
        # 12 lines: the header and 11 rows; never the 100k
        assert sorted(set(t.drawn), key=int) == [str(i) for i in range(11)]
        assert "0" in t.render_line(1).text and "v0" in t.render_line(1).text
        assert t.render_line(0).text.split() == ["A", "B"]
        # a row of one style is one segment (not three per column), and the fill
        # to the screen's width: each step of Textual's drawing after the table
        # goes over every segment
        assert len(list(t.render_line(2))) == 2
        assert t.render_line(2).text.split() == ["1", "v1"]
        t.drawn.clear()
        await pilot.press("G")
        await pilot.pause()
        assert t.cursor_row == 99_999 and t.cursor_key == "99999"
        assert t.visible_keys()[-1] == "99999"
        assert len(t.drawn) <= 11  # the last screenful, drawn once
        assert "99999" in t.render_line(11).text


async def test_a_redrawn_row_is_drawn_again_and_the_others_are_not() -> None:
    app = TableApp(50)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        t.drawn.clear()
        t.redraw_rows(["3", "40"])  # one on screen, one below it
        await pilot.pause()
        assert t.drawn == ["3"]
        t.drawn.clear()
        t.refresh()
        await pilot.pause()
        assert t.drawn == []  # nothing changed: the drawn lines are kept


async def test_updated_cells_change_only_their_part_of_a_drawn_row() -> None:
    app = TableApp(50)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        t.drawn.clear()
        styled = Text("new", style="bold")
        # row 0 (under the cursor), row 2, and row 40 (below the screen, never drawn)
        t.update_cells({"0": {"b": styled}, "2": {"b": Text("two"), "nope": Text("x")}, "40": {}})
        await pilot.pause()
        assert t.drawn == []  # no row made again: the cells went into the drawn lines
        assert t.render_line(1).text.split() == ["0", "new"]
        assert t.render_line(3).text.split() == ["2", "two"]
        assert t.render_line(2).text.split() == ["1", "v1"]
        # the same line as a row drawn from those cells from scratch, styles included
        patched = t.render_line(3)
        t.row_cells = lambda key: [Text(key), Text("two")]  # type: ignore[method-assign]
        t.redraw_rows(["2"])
        assert list(t.render_line(3)) == list(patched)
        # under the cursor too: the cursor's style over the cell's own
        bold = [seg for seg in t.render_line(1) if "new" in seg.text]
        assert bold and bold[0].style is not None and bold[0].style.bold
        # moving the cursor away draws row 0 without the cursor: made anew, from
        # row_cells (update_cells draws what row_cells would give; it keeps no cell)
        del t.row_cells
        await pilot.press("j")
        await pilot.pause()
        assert sorted(t.drawn) == ["0", "1"]  # (and row 1 under the cursor)
        assert t.render_line(1).text.split() == ["0", "v0"]


async def test_the_cursor_moves_scrolls_and_says_where_it_is() -> None:
    app = TableApp(50)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        assert app.highlights == ["0"]
        await pilot.press("j", "j", "k")
        assert t.cursor_row == 1 and app.highlights == ["0", "1", "2", "1"]
        await pilot.press("pagedown")
        assert t.cursor_row == 1 + 10  # a page: the rows shown less one
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert t.cursor_row == 49  # kept within the rows
        assert "49" in t.visible_keys()
        await pilot.press("g")
        assert t.cursor_row == 0 and round(t.scroll_y) == 0
        await pilot.press("enter")
        assert app.selected == ["0"]


async def test_new_order_keeps_the_cursor_on_its_key() -> None:
    app = TableApp(20)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        await pilot.press("j", "j", "j")
        assert t.cursor_key == "3"
        t.set_rows([str(i) for i in reversed(range(20))], follow=t.cursor_key)
        assert t.cursor_key == "3" and t.cursor_row == 16
        assert t.get_row_index("3") == 16
        # its key gone: the cursor stays on its row
        t.set_rows([k for k in t.row_keys if k != "3"], follow=t.cursor_key)
        assert t.cursor_row == 16 and t.cursor_key == "2"
        assert not t.has_row("3")
        await pilot.pause()
        assert app.highlights[-1] == "2"


async def test_rows_that_grow_past_the_screen_scroll_to_the_followed_key() -> None:
    app = TableApp(5)  # no scrollbar yet: the rows fit
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        keys = [str(i) for i in range(100, 140)] + [str(i) for i in range(5)]
        t.set_rows(keys, follow="0")
        await pilot.pause()
        assert t.cursor_row == 40 and t.cursor_row in t.visible_range()
        assert "0" in t.render_line(len(t.visible_range())).text


async def test_clicks_select_rows_and_headers() -> None:
    app = TableApp(20)
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(Counting)
        await pilot.pause()
        await pilot.click(Counting, offset=(13, 0))  # the header of the second column
        assert app.headers == ["b"]
        await pilot.click(Counting, offset=(1, 4))  # the fourth row
        assert t.cursor_key == "3"
        await pilot.click(Counting, offset=(1, 4))  # again: it is selected
        assert app.selected == ["3"]
