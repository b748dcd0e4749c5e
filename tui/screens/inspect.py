"""InspectScreen: a session's whole record (``core`` builds it), highlighted and
searchable."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from core.inspection import Inspection, Row
from core.inventory import describe_error
from tui.theme_style import theme_style


class InspectScreen(Screen[None]):
    """The record of one session in sections: titles, keys and values in the
    theme's colours; ``/`` searches (case-insensitive, ``re:`` for a regular
    expression), every match is highlighted, ``n``/``N`` go to the next and
    previous one.

    | Key | Action |
    | :- | :- |
    | / | Search |
    | n / N | Next / previous match |
    | escape, q | Close the search, then the screen |
    """

    CSS_PATH = Path(__file__).parent / "inspect.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="inspect.search"),
        Binding("n", "next_match", "Next", id="inspect.next"),
        Binding("N", "prev_match", "Previous", id="inspect.prev"),
        Binding("escape,q", "back", "Back", id="inspect.back"),
    ]

    def __init__(self, title: str, load: Callable[[], Inspection]) -> None:
        """``load`` builds the inspection (a blocking core call, run in a
        worker); ``title`` names the session until it arrives."""
        super().__init__()
        self.title_text = title
        self._load = load
        self.inspection: Inspection | None = None
        self.rows: list[Row] = []
        self.pattern: re.Pattern[str] | None = None
        self.matches: list[tuple[int, int, int]] = []  # (row, start, end)
        self.current: int | None = None  # index into matches
        self.error = ""
        self._typeahead = False  # see on_key
        self._submit_on_focus = False

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="inspect-title")
        with VerticalScroll(id="inspect-body"):
            yield Static("loading…", id="inspect-text")
        yield Input(placeholder="search (re: for a regular expression)", id="inspect-search")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#inspect-search", Input).display = False
        self.query_one("#inspect-body").focus()
        self.load_worker()

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def load_worker(self) -> None:
        try:
            got = self._load()
        except Exception as exc:  # noqa: BLE001 - shown in place of the record
            self.app.call_from_thread(self._failed, describe_error(exc))
            return
        self.app.call_from_thread(self._loaded, got)

    def _loaded(self, inspection: Inspection) -> None:
        self.inspection = inspection
        self.rows = inspection.rows()
        self._redraw()

    def _failed(self, reason: str) -> None:
        self.error = reason
        self.query_one("#inspect-text", Static).update(Text(f"cannot inspect: {reason}"))
        self._set_title()

    # -- drawing ---------------------------------------------------------------

    @property
    def text(self) -> Text:
        """The whole record as styled text, matches highlighted."""
        title = theme_style(self.app, "accent", bold=True)
        nested = theme_style(self.app, "primary", bold=True)
        key = theme_style(self.app, "secondary")
        hit = theme_style(self.app, "log-match") + Style(reverse=True)
        here = theme_style(self.app, "log-match-current") + Style(reverse=True, bold=True)
        out = Text(no_wrap=True, overflow="ellipsis")
        by_row: dict[int, list[tuple[int, int, int]]] = {}
        for n, (at, start, end) in enumerate(self.matches):
            by_row.setdefault(at, []).append((n, start, end))
        for i, row in enumerate(self.rows):
            line = Text(row.text)
            if row.kind == "title":
                line.stylize(title if row.depth == 0 else nested)
            elif row.kind == "field":
                line.stylize(key, row.key_start, row.key_end)
            for n, start, end in by_row.get(i, ()):
                line.stylize(here if n == self.current else hit, start, end)
            if i:
                out.append("\n")
            out.append_text(line)
        return out

    def _redraw(self) -> None:
        self.query_one("#inspect-text", Static).update(self.text)
        self._set_title()

    def _set_title(self) -> None:
        parts = [self.title_text]
        if self.inspection is not None:
            parts.append(f"{len(self.rows)} lines")
        if self.pattern is not None:
            if self.matches and self.current is not None:
                parts.append(f"match {self.current + 1}/{len(self.matches)}")
            else:
                parts.append("no match")
        if self.error:
            parts.append("failed")
        self.query_one("#inspect-title", Static).update(" · ".join(parts))

    # -- search ----------------------------------------------------------------

    def search(self, query: str) -> None:
        """Highlight every match of ``query`` and go to the first (none:
        clears the search)."""
        query = query.strip()
        if not query:
            self.pattern, self.matches, self.current = None, [], None
            self._redraw()
            return
        try:
            if query.startswith("re:"):
                self.pattern = re.compile(query[3:], re.IGNORECASE)
            else:
                self.pattern = re.compile(re.escape(query), re.IGNORECASE)
        except re.error as e:
            self.notify(f"not a regular expression: {e}", severity="error", timeout=4)
            return
        self.matches = [
            (i, m.start(), m.end())
            for i, row in enumerate(self.rows)
            for m in self.pattern.finditer(row.text)
            if m.end() > m.start()
        ]
        self.current = 0 if self.matches else None
        self._redraw()
        self._reveal()

    def _reveal(self) -> None:
        if self.current is None:
            return
        row = self.matches[self.current][0]
        body = self.query_one("#inspect-body", VerticalScroll)
        top = max(0, row - body.size.height // 2)
        body.scroll_to(y=top, animate=False)

    def _step(self, by: int) -> None:
        if not self.matches or self.current is None:
            return
        self.current = (self.current + by) % len(self.matches)
        self._redraw()
        self._reveal()

    # -- actions ---------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#inspect-search", Input)
        if not self._typeahead:  # else on_key emptied it, and keys may be in it already
            box.value = ""  # a new search; enter on an empty box clears the highlights
        box.display = True
        box.focus()

    def action_next_match(self) -> None:
        self._step(1)

    def action_prev_match(self) -> None:
        self._step(-1)

    def action_back(self) -> None:
        box = self.query_one("#inspect-search", Input)
        if box.display:
            box.display = False
            self.query_one("#inspect-body").focus()
            return
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # n and N are text while the search box has the focus
        typing = isinstance(self.focused, Input)
        return not (typing and action in ("next_match", "prev_match"))

    def on_key(self, event: events.Key) -> None:
        # Keys typed in the same burst as "/" (one packet over SSH) reach the
        # body before the search box has the focus; they are the query, never
        # bindings ("q" would close the screen).  A key the box takes never
        # bubbles here, so what arrives while typeahead is on was meant for it.
        if self._typeahead:
            box = self.query_one("#inspect-search", Input)
            if event.is_printable and event.character:
                box.insert_text_at_cursor(event.character)
            elif event.key == "enter":
                self._submit_on_focus = True  # once the box has the focus
            else:  # editing keys: the box's own bindings may run for them too
                return
            event.stop()
            event.prevent_default()
            return
        active = self.active_bindings.get(event.key)
        if active is not None and active.binding.id == "inspect.search":
            # the binding runs once this key reached the app: maybe after the
            # keys behind it were handled here, so the box is emptied now
            self._typeahead = not isinstance(self.focused, Input)
            if self._typeahead:
                self.query_one("#inspect-search", Input).value = ""

    @on(events.DescendantFocus)
    def _box_focused(self, event: events.DescendantFocus) -> None:
        box = self.query_one("#inspect-search", Input)
        if event.widget is box:
            self._typeahead = False
            if self._submit_on_focus:
                self._submit_on_focus = False
                box.post_message(Input.Submitted(box, box.value))

    @on(Input.Submitted, "#inspect-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one("#inspect-body").focus()
        self.search(event.value)
