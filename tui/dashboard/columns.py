"""The columns room: the column chooser's choice per view, remembered between
runs (``ui.json``) and put in force when the view changes."""

from __future__ import annotations

from textual.screen import Screen

from tui.dashboard.layout import Layout
from tui.screens.columns import ColumnsScreen
from tui.widgets.session_cells import DEFAULT_COLUMNS, ColumnChoice
from tui.widgets.sessions_table import SessionsTable


class Columns:
    """Which columns the table shows, and in what order, for each view
    (``""``: the default view); ``panes`` holds and saves the UI state."""

    def __init__(self, host: Screen[None], panes: Layout, table: SessionsTable) -> None:
        self.host = host
        self.panes = panes
        self.table = table
        self.view = ""

    def choice_for(self, view: str) -> ColumnChoice:
        saved = self.panes.ui.columns.get(view)
        if saved is None:
            return DEFAULT_COLUMNS
        return ColumnChoice.of(saved.get("order", []), saved.get("hidden", []))

    def show(self, view: str) -> None:
        """Put ``view``'s columns in force (a view was chosen, or at start)."""
        self.view = view
        self.table.set_columns(self.choice_for(view))

    def open(self) -> None:
        """The chooser, on the columns in force; enter saves them for the view."""
        view = self.view
        self.host.app.push_screen(
            ColumnsScreen(self.table.choice, view), lambda choice: self.chosen(view, choice)
        )

    def chosen(self, view: str, choice: ColumnChoice | None) -> None:
        if choice is None:
            return  # escape: nothing changes
        self.panes.ui = self.panes.ui.with_columns(view, list(choice.order), sorted(choice.hidden))
        self.panes.save()
        if view == self.view:
            self.table.set_columns(choice)
