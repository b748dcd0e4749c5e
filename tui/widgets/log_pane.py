"""LogPane: a bounded, batch-written log view with a cursor, search, filter and copy.

The pane holds at most ``max_lines`` lines (older ones drop off the top) and
takes them in batches (:meth:`LogPane.add`), so a fast log stays cheap: a batch
costs the work for its own lines, never a re-render of the whole buffer.

Search is a case-insensitive substring (``re:`` in front makes it a regular
expression) of the line's own text (never a source's label in front of it).
Every match is highlighted; ``n``/``N`` walk them.  Filter mode
shows only matching lines, with ``grep -C``-like context and a separator
between groups that are not adjacent.  Lines can carry a *source* (the merged
log view gives each session one): a coloured label in front of the text, and
sources can be hidden and shown again without losing their lines.

The lines and what shows are in :mod:`tui.widgets.log_buffer`; drawing and the
cursor in :mod:`tui.widgets.log_view`.

The keys (``LOG_BINDINGS``):

| Key | Action |
| :- | :- |
| / | Search (``re:`` in front for a regular expression); enter jumps |
| n / N | Next / previous match (wraps) |
| & | Filter: show only matching lines |
| c | Context lines around matches in filter mode: 0, 2, 5 |
| y | Copy the cursor line to the clipboard (OSC 52, works over SSH) |
| t | Timestamps at the start of lines shown / hidden |
| w | Wrap long lines at the pane's width / cut them (left / right scroll) |
| j / k, down / up | Move the cursor |
| home / end, pageup / pagedown | Jump; at the end the pane follows new lines |
| escape | Clear the search, then leave filter mode |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import ClassVar
from weakref import WeakKeyDictionary

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Input

from core.model import LogLine
from tui.widgets.log_buffer import (
    CONTEXT_STEPS,
    LABEL_MIN,
    SEPARATOR_TEXT,
    LogBuffer,
    SourceStyle,
    clean,
    compile_query,
    search_status,
)
from tui.widgets.log_view import LogView

__all__ = ["CONTEXT_STEPS", "SEPARATOR_TEXT", "LogPane", "LogView", "SourceStyle"]

LOG_BINDINGS: list[BindingType] = [
    Binding("slash", "search", "Search", id="logs.search"),
    Binding("n", "next_match", "Next", id="logs.next"),
    Binding("N", "prev_match", "Prev", show=False, id="logs.prev"),
    Binding("ampersand", "toggle_filter", "Filter", id="logs.filter"),
    Binding("c", "cycle_context", "Context", show=False, id="logs.context"),
    Binding("y", "copy_line", "Copy", id="logs.copy"),
    Binding("j", "line_down", "Down", show=False, id="logs.line_down"),
    Binding("k", "line_up", "Up", show=False, id="logs.line_up"),
    Binding("down", "line_down", "Down", show=False),
    Binding("up", "line_up", "Up", show=False),
    Binding("home", "first_line", "Top", show=False),
    Binding("end", "last_line", "End", show=False),
    Binding("pageup", "page_up", "Page up", show=False),
    Binding("pagedown", "page_down", "Page down", show=False),
    Binding("left", "scroll_left", "Left", show=False),
    Binding("right", "scroll_right", "Right", show=False),
    Binding("t", "toggle_timestamps", "Times", show=False, id="logs.timestamps"),
    Binding("w", "toggle_wrap", "Wrap", show=False, id="logs.wrap"),
    Binding("escape", "close", "Close search", show=False, id="logs.close"),
]


_WRAP: WeakKeyDictionary[App[object], bool] = WeakKeyDictionary()
"""Wrap on or off, as last chosen in any pane of an app: a pane opened later
(another merged view) starts that way.  Kept for the app's run only (the
remembered UI state is the dashboard's to write)."""


LOG_PANE_CSS = """
LogPane {
    height: 1fr;
    layout: vertical;
    & > Input.log-search {
        display: none;
        dock: bottom;
        width: 1fr;
    }
    & > Input.log-search.-open {
        display: block;
    }
}
"""


class LogSearchBox(Input):
    """The log pane's search box, docked over its last line while open.

    Keys typed in the same burst as "/" (one packet over SSH) reach the pane
    before this box has the focus; the pane hands them here (:meth:`take`)
    while :attr:`typeahead` is on, so they never reach the screen's bindings
    (where "d" means delete)."""

    def __init__(self) -> None:
        super().__init__(
            placeholder="search (re: regex) · enter jump · esc clear",
            compact=True,
            # typed-ahead keys must not be selected (and replaced) when the
            # box takes the focus
            select_on_focus=False,
            classes="log-search",
        )
        self.typeahead = False
        self._submit_on_focus = False

    def take(self, event: events.Key) -> bool:
        """A key typed ahead: True when the box took it (editing keys are not
        taken: the box's own bindings may run for them too)."""
        if event.is_printable and event.character:
            self.insert_text_at_cursor(event.character)
        elif event.key == "enter":
            self._submit_on_focus = True  # once the box has the focus
        else:
            return False
        return True

    def on_focus(self) -> None:
        self.typeahead = False
        if self._submit_on_focus:
            self._submit_on_focus = False
            self.post_message(Input.Submitted(self, self.value))

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, text: str) -> None:
        self.add_class("-open")
        self.value = text
        self.focus()
        self.select_all()

    def close(self) -> None:
        self.remove_class("-open")


class LogPane(Widget, can_focus=True):
    """The log of one session (or several, merged), with a cursor.

    Callers feed lines with :meth:`add` (or :meth:`add_sourced`) from the UI
    thread, in batches.  The border subtitle shows the search state.
    """

    BINDINGS: ClassVar[list[BindingType]] = LOG_BINDINGS

    DEFAULT_CSS = LOG_PANE_CSS

    def __init__(
        self,
        *,
        max_lines: int = 5000,
        id: str | None = None,  # noqa: A002 - Textual's name for it
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._buf = LogBuffer(max_lines)
        self.source = ""
        """What the dashboard shows in here (the session's name)."""
        self.following = False
        """Set by the owner while new lines keep coming (informational)."""
        self._widest = 0  # the longest source label
        self.query_error = ""
        self._view = LogView(self._buf, lambda: self.has_focus_within)
        self._box = LogSearchBox()

    def compose(self) -> ComposeResult:
        yield self._view
        yield self._box

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        if _WRAP.get(self.app, False):
            self._view.set_wrap(True)

    def _theme_changed(self, _theme: Theme) -> None:
        self._view.clear_cache()
        self._view.refresh()

    # -- what the view holds ------------------------------------------------------

    @property
    def placeholder(self) -> str:
        """Shown (dim) when there are no rows: a message, or why a filter shows nothing."""
        return self._view.placeholder

    @placeholder.setter
    def placeholder(self, text: str) -> None:
        self._view.placeholder = text

    @property
    def search_text(self) -> str:
        """What the search box holds (the search in force)."""
        return self._view.search_text

    # -- the old Log API (the dashboard uses these) -----------------------------

    @property
    def max_lines(self) -> int:
        return self._buf.max_lines

    @property
    def lines(self) -> Sequence[str]:
        """Every line held as shown (without a source's label), oldest first; read only."""
        return self._buf.texts

    @property
    def line_count(self) -> int:
        return len(self._buf.texts)

    def reset(self, title: str) -> None:
        """Empty the pane for a new log; the search and filter stay."""
        self.clear()
        self.source = title

    def clear(self) -> None:
        self._buf.clear()
        self._view.reset()
        self._view.changed(scroll="end")

    def message(self, text: str) -> None:
        """Empty the pane and show ``text`` instead of lines."""
        self.clear()
        self.placeholder = text
        self._view.refresh()

    def add(self, lines: Sequence[LogLine]) -> None:
        """Append a batch of lines (one refresh per batch)."""
        self._append(
            ((f"── {t} ──" if ln.notice else t), 0, ln.text, ln.notice, None)
            for ln in lines
            for t in (clean(ln.text),)
        )

    # -- sources (the merged view) ----------------------------------------------

    def set_sources(self, sources: Mapping[str, SourceStyle]) -> None:
        """Name the sources that :meth:`add_sourced` lines come from."""
        self._view.sources = dict(sources)
        self._widest = max((len(s.label) for s in sources.values()), default=0)
        self._fit_labels(force=True)

    @property
    def label_width(self) -> int:
        """The label column's width: a quarter of the pane's (at least
        ``LABEL_MIN``), no wider than the longest label; follows the pane's size."""
        return self._view.label_width

    def _fit_labels(self, *, force: bool = False) -> None:
        width = self.outer_size.width or (self.app.size.width if self.is_attached else 0)
        fitted = min(self._widest, max(LABEL_MIN, width // 4))
        if fitted != self._view.label_width or force:
            self._view.label_width = fitted
            self._view.relayout()

    def on_resize(self, event: events.Resize) -> None:
        if self._view.sources:
            self._fit_labels()

    def add_sourced(self, lines: Sequence[tuple[str, LogLine]]) -> None:
        """Append a batch of ``(source key, line)``; each line shows its source's
        label (drawn in front: the buffer holds the line's own text)."""
        self._append(
            ((f"── {t} ──" if ln.notice else t), 0, ln.text, ln.notice, key)
            for key, ln in lines
            for t in (clean(ln.text),)
        )

    def set_hidden_sources(self, keys: Collection[str]) -> None:
        """Hide the lines of these sources (they are kept; showing them again
        puts them back in place)."""
        if frozenset(keys) == self._buf.hidden:
            return
        self._regroup(lambda: self._buf.set_hidden(keys))

    @property
    def hidden_sources(self) -> frozenset[str]:
        return self._buf.hidden

    # -- state for callers and tests --------------------------------------------

    @property
    def filter_mode(self) -> bool:
        return self._buf.filter

    @property
    def context(self) -> int:
        return self._buf.context

    @property
    def match_count(self) -> int:
        return len(self._buf.matches)

    @property
    def match_position(self) -> int | None:
        """1-based index of the current match (where n/N went), or None."""
        return self._view.match_position

    @property
    def search_open(self) -> bool:
        return self._box.is_open

    @property
    def cursor_row(self) -> int:
        """The row the cursor is on (the last row while it follows the end)."""
        return self._view.cursor_row

    @property
    def cursor_text(self) -> str | None:
        """The raw text of the cursor line (no label), or None on an empty view."""
        line = self._view.line_at(self.cursor_row)
        return None if line is None else self._buf.raw[line - self._buf.dropped]

    @property
    def at_end(self) -> bool:
        """True while the cursor follows the last row (new lines scroll into view)."""
        return self._view.stick

    def shown_lines(self) -> list[str]:
        """The text of every row in view order; separators as ``--``."""
        buf, prefix = self._buf, self._view.prefix
        return [
            SEPARATOR_TEXT if (r := buf.row(i)) < 0 else prefix(r - buf.dropped) + buf.text(r)
            for i in range(buf.row_count)
        ]

    def search(self, query: str) -> None:
        """Set the search text (what typing in the search box does)."""
        if self._box.value != query:
            with self._box.prevent(Input.Changed):
                self._box.value = query
        self._set_query(query)

    def settle(self) -> None:
        """After a layout change: keep following the end, or keep the cursor in view."""
        self._view.settle()

    def move_cursor_to_row(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped); on the last row it follows the end."""
        self._view.move_cursor_to_row(row)

    # -- internals --------------------------------------------------------------

    def _append(self, items: Iterable[tuple[str, int, str, bool, str | None]]) -> None:
        if self._view.append(items):
            self._update_subtitle()

    def _regroup(self, change: Callable[[], None]) -> None:
        """Change what is shown (filter, hidden sources) keeping the cursor's line."""
        view = self._view
        keep = None if view.stick else view.line_at(self.cursor_row)
        change()
        if keep is not None:
            view.cursor_line = keep
        view.clear_cache()
        view.changed(scroll="end" if view.stick else "cursor")
        self._update_subtitle()
        self.refresh_bindings()

    def _set_query(self, query: str) -> None:
        if query == self.search_text and not self.query_error:
            return
        self._view.search_text = query
        try:
            pattern = compile_query(query)
            self.query_error = ""
        except re.error as e:
            pattern = None
            self.query_error = f"bad regex: {e}"
        self._view.current = None
        self._regroup(lambda: self._buf.set_pattern(pattern))

    def _update_subtitle(self) -> None:
        status = search_status(self._buf, self.search_text, self.query_error, self.match_position)
        self.border_subtitle = Content(status) if status else ""

    # -- focus and the search box -----------------------------------------------

    def on_focus(self, event: events.Focus) -> None:
        self._view.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._view.refresh()

    @on(events.DescendantFocus)
    @on(events.DescendantBlur)
    def _focus_moved(self) -> None:
        self._view.refresh()

    @on(Input.Changed, ".log-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._set_query(event.value)

    @on(Input.Submitted, ".log-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._set_query(event.value)
        self._close_box()
        if self._buf.pattern is not None:
            self._jump(forward=True, include_cursor=True)

    def on_key(self, event: events.Key) -> None:
        # A printable key sent to the box is taken by the box and never
        # bubbles here, so whatever arrives while typeahead is on was meant for it.
        box = self._box
        if box.typeahead:
            if box.take(event):
                event.stop()
                event.prevent_default()
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id == "logs.search" and self.has_focus:
            box.typeahead = True

    def _close_box(self) -> None:
        self._box.close()
        self.focus()

    # -- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "prev_match"):
            return self._buf.pattern is not None
        if action == "close":
            # nothing to close: escape goes on to the screen (e.g. "back")
            return bool(self.search_text or self._buf.filter or self.search_open)
        return True

    def action_search(self) -> None:
        self._box.open(self.search_text)

    def action_next_match(self) -> None:
        self._jump(forward=True)

    def action_prev_match(self) -> None:
        self._jump(forward=False)

    def _jump(self, *, forward: bool, include_cursor: bool = False) -> None:
        wrapped = self._view.jump(forward=forward, include_cursor=include_cursor)
        if wrapped is None:
            self.notify(f"No match for {self.search_text!r}", severity="warning", timeout=2)
        elif wrapped:
            self.notify("search wrapped", timeout=2)
        self._update_subtitle()

    def action_toggle_filter(self) -> None:
        on = not self._buf.filter
        self._regroup(lambda: self._buf.set_filter(on))
        if on and self._buf.pattern is None:
            self._box.open(self.search_text)

    def action_cycle_context(self) -> None:
        steps = CONTEXT_STEPS
        now = self._buf.context
        nxt = steps[(steps.index(now) + 1) % len(steps)] if now in steps else steps[0]
        self._regroup(lambda: self._buf.set_filter(self._buf.filter, nxt))
        if not self._buf.filter:
            self.notify(f"Context {nxt} (used in filter mode: &)", timeout=2)

    def action_toggle_timestamps(self) -> None:
        """Show or hide each line's leading timestamp (display only: search,
        copy and the merged order still use the whole line)."""
        self._view.show_timestamps = not self._view.show_timestamps
        self._view.relayout()  # wrapped, a line may take fewer rows
        shown = self._view.show_timestamps
        self.notify("Timestamps shown" if shown else "Timestamps hidden", timeout=2)

    def action_toggle_wrap(self) -> None:
        """Wrap long lines at the pane's width, or cut them (left/right scroll)."""
        on = not self._view.wrap
        self._view.set_wrap(on)
        _WRAP[self.app] = on
        self.notify("Long lines wrap" if on else "Long lines cut (left/right scroll)", timeout=2)

    @property
    def wrap(self) -> bool:
        """True while long lines wrap at the pane's width."""
        return self._view.wrap

    def action_copy_line(self) -> None:
        text = self.cursor_text
        if text is None:
            self.notify("Nothing to copy", severity="warning", timeout=2)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied line ({len(text)} chars) to the clipboard", timeout=2)

    def action_line_down(self) -> None:
        self.move_cursor_to_row(self.cursor_row + 1)

    def action_line_up(self) -> None:
        row = self.cursor_row - 1
        if row >= 0 and self._buf.row_count and self._buf.row(row) < 0:
            row -= 1  # step over a separator
        self.move_cursor_to_row(max(0, row))

    def action_first_line(self) -> None:
        self.move_cursor_to_row(0)

    def action_last_line(self) -> None:
        self.move_cursor_to_row(self._buf.row_count - 1)
        self._view.scroll_end(animate=False, immediate=True, force=True, x_axis=False)

    def action_page_down(self) -> None:
        self.move_cursor_to_row(self.cursor_row + self._page())

    def action_page_up(self) -> None:
        self.move_cursor_to_row(self.cursor_row - self._page())

    def _page(self) -> int:
        return max(1, self._view.scrollable_content_region.height - 1)

    def action_scroll_left(self) -> None:
        self._view.scroll_left(animate=False)

    def action_scroll_right(self) -> None:
        self._view.scroll_right(animate=False)

    def action_close(self) -> None:
        if self.search_text:
            self.search("")
            self._close_box()
        elif self._buf.filter:
            self._regroup(lambda: self._buf.set_filter(False))
            self._close_box()
        elif self.search_open:
            self._close_box()
        self.refresh_bindings()
