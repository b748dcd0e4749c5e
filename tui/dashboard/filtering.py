"""The filtering room: the ``/`` filter box (a query, checked at each key,
applied when typing pauses), the ``:`` command line and the saved views."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from core.query import QueryError, parse_query
from core.registry import known_kinds
from tui.context import AppContext
from tui.dashboard.selection import Selection
from tui.widgets.command_line import CommandLine
from tui.widgets.filter_box import FilterBox
from tui.widgets.health_bar import HealthBar
from tui.widgets.sessions_table import SessionsTable


def command_words(ctx: AppContext) -> list[str]:
    """What ``:`` completes: the kinds, the backends, the saved views, all."""
    cfg = ctx.config
    return [*known_kinds(), *(b.name for b in cfg.backends), *cfg.views, "all"]


class Filters:
    """The rows shown: a view (``:docker``, a saved query) AND the filter box's
    query.  A query that does not parse is shown with a caret under the
    mistake while the last good one stays in force."""

    # seconds of no typing before a query that parses applies (Enter: at once)
    debounce = 0.25

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        table: SessionsTable,
        selection: Selection,
        *,
        box: FilterBox,
        error: Static,
        command: CommandLine,
        hint: Static,
        header: HealthBar,
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.selection = selection
        self.box = box
        box.accepts = self.accepts  # Enter leaves the box only with a query that parses
        self.error = error
        self.command = command
        self.hint = hint
        self.header = header
        # the view in force (":docker", ":stale") and its query, AND-ed with the filter
        self.view_name = ""
        self.view_query = ""
        self._timer: Timer | None = None
        # called with the view's name when the view changes (the columns room)
        self.view_changed: list[Callable[[str], None]] = []

    def typing(self) -> bool:
        """Is a text box taking the keys (focused, or about to be)?"""
        return isinstance(self.host.focused, Input) or self.table.typeahead_target is not None

    # -- the filter box ----------------------------------------------------------

    def open(self) -> None:
        self.box.display = True
        # keys typed in the same burst as "/" (one packet over SSH) are already
        # queued on the table; it hands them to the box until the box has focus
        self.table.typeahead_target = self.box
        self.box.focus()

    def focused(self, widget: object) -> None:
        """A widget got the focus: a box that has it takes its keys itself."""
        if widget is self.box or isinstance(widget, CommandLine):
            self.table.typeahead_target = None

    def accepts(self, text: str) -> bool:
        """Whether Enter may apply ``text`` and leave the box (it parses)."""
        try:
            parse_query(self._with_view(text))
        except QueryError:
            return False
        return True

    def changed(self, text: str) -> None:
        """Check the query at each key (a mistake is shown at once), but apply
        it only once typing pauses, or on Enter: a query half typed
        (``state:i`` on the way to ``state:idle``) never filters the rows."""
        self._stop_timer()
        try:
            parse_query(self._with_view(text))
        except QueryError as exc:
            self._show_error(text, exc)
            return
        self._show_error(text, None)
        self._timer = self.host.set_timer(self.debounce, partial(self.apply, text), name="filter")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _with_view(self, text: str) -> str:
        """The filter's query AND the view's (terms are AND-ed)."""
        return f"{self.view_query} {text.strip()}".strip()

    def apply(self, text: str) -> None:
        """Filter with a query (within the view in force)."""
        self._stop_timer()
        error = self.table.set_filter(self._with_view(text))
        if error is not None and self.view_query:
            # the caret is placed in the box's text, after the view's part
            shift = len(self.view_query) + 1
            error = QueryError(
                error.message, position=max(0, error.position - shift), length=error.length
            )
        self._show_error(text, error)
        self.selection.update_title()
        self.selection.changed()

    def _show_error(self, text: str, error: QueryError | None) -> None:
        if error is not None:
            # the caret lines up with the text in the box (border + padding)
            offset = len(text) - len(text.lstrip())
            # no-break spaces: the caret's indent must survive rendering
            caret = "\u00a0" * (error.position + offset) + "^" * error.length
            self.error.update(Content(f"{caret} {error.message}"))
        self.error.display = error is not None
        self.box.set_class(error is not None, "-invalid")

    def submitted(self) -> None:
        box = self.box
        if box.has_class("-invalid"):
            # the rows shown follow the last query that parsed, not this one:
            # leaving now would act on a half-typed filter
            self.host.notify(
                "Fix the query first (or esc to clear it)", severity="warning", timeout=3
            )
            return
        self.apply(box.value)  # at once, not after the pause
        if not box.value.strip():
            box.display = False
        self.table.focus()

    def escape(self) -> None:
        """Escape: close the command line, else clear the filter, else the selection."""
        if self.command.display:
            self.close_command()
        elif self.box.value or self.box.display:
            self.clear_now()
            self.table.focus()
        elif self.table.marked:
            self.table.clear_marks()
            self.selection.marks_changed()

    def clear_now(self) -> None:
        """Empty and hide the filter box, and show every row at once (not on
        the box's Changed message, which comes later)."""
        with self.box.prevent(Input.Changed):
            self.box.value = ""
        self.box.display = False
        self.apply("")  # (stops a pending one too)

    # -- views and the command line (:) ---------------------------------------------

    def resolve(self, text: str) -> tuple[str, str] | None:
        """``(view name, query)`` for a command (``docker``, ``runs``,
        ``stale``); ``("", "")`` for ``all`` or nothing; None when unknown.
        A kind comes first, then a backend, then a saved view."""
        word = text.strip().removeprefix(":").strip()
        if word.lower() in ("", "all"):
            return ("", "")
        kinds = {k.lower(): k for k in known_kinds()}
        if word.lower() in kinds:
            return (f":{kinds[word.lower()]}", f"kind:{kinds[word.lower()]}")
        for b in self.ctx.config.backends:
            if b.name == word:
                return (f":{b.name}", f'backend:"{b.name}"')
        if word in self.ctx.config.views:
            return (f":{word}", self.ctx.config.views[word])
        return None

    def set_view(self, name: str, query: str) -> None:
        """Show only the rows of a view (``""``: all rows); the filter box's
        query still applies within it.  The header names the view."""
        self.view_name, self.view_query = name, query
        self.header.view = name
        for call in self.view_changed:
            call(name)
        self.apply(self.box.value)

    def show_view(self, name: str) -> None:
        """Apply a saved view (a named query from config); the header names it."""
        self.set_view(f":{name}", self.ctx.config.views[name])

    def jump_view(self, number: int | None, key: str, keys: list[str]) -> None:
        """Show saved view ``number`` (1-based), or the one of ``key``, the
        Nth of ``keys`` (the keys bound to ``views.jump`` in force)."""
        if number is None:
            if key not in keys:
                return
            number = keys.index(key) + 1
        views = list(self.ctx.config.views)
        if not 1 <= number <= len(views):
            have = f"views 1-{len(views)}" if views else "no saved views (views: in the config)"
            self.host.notify(f"No view {number}: {have}", severity="warning", timeout=3)
            return
        self.show_view(views[number - 1])

    def open_command(self) -> None:
        line = self.command
        line.display = True
        # keys typed in the same burst as ":" are queued on the table: they go
        # to the box until it has the focus (the table forwards them)
        self.table.typeahead_target = line
        line.focus()
        self._command_hint(line.value)

    def command_changed(self, text: str) -> None:
        self.command.remove_class("-invalid")
        self._command_hint(text)

    def _command_hint(self, text: str, error: str = "") -> None:
        hint = self.hint
        hint.set_class(bool(error), "-error")
        if error:
            hint.update(error)
        else:
            found = self.command.matches(text)
            hint.update("  ".join(f":{w}" for w in found) if found else "no match")
        hint.display = True

    def command_submitted(self, text: str) -> None:
        resolved = self.resolve(text)
        if resolved is None:
            self.command.add_class("-invalid")
            words = ", ".join(self.command.matches("")[:12])
            self._command_hint(text, f"unknown: {text.strip()!r}; try {words}")
            return
        self.close_command()
        self.set_view(*resolved)

    def close_command(self) -> None:
        line = self.command
        with line.prevent(Input.Changed):
            line.value = ""
        line.remove_class("-invalid")
        line.display = False
        self.hint.display = False
        self.table.typeahead_target = None
        self.table.focus()
