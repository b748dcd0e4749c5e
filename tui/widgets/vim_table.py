"""VimTable: a DataTable that also moves with j/k and g/G; TypeaheadTable: a
line-API table that hands keys typed ahead to a text box."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual import events
from textual.binding import BindingType
from textual.widgets import DataTable, Input

from tui.widgets.filter_box import FilterBox
from tui.widgets.line_table import VIM_KEYS, LineTable

Cell = TypeVar("Cell")


class VimTable(DataTable[Cell]):
    """Every table of the app: the arrow keys, and j/k/g/G as in less and vim.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Move |
    | home/end, g/G | First / last row |
    """

    BINDINGS: ClassVar[list[BindingType]] = VIM_KEYS


class TypeaheadTable(LineTable):
    """A table whose owner has a text box opened by a key (``typeahead_binding``,
    a binding id): keys typed in the same burst as that key (one packet over
    SSH) reach the table first, and go to the box until it has the focus.

    Not a key dispatcher: the opening binding still runs through BINDINGS.
    Bindings run only after a key has bubbled back to the app, so the table
    sees those keys before the box can."""

    typeahead_binding = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.typeahead_target: Input | None = None  # the box taking the keys now
        self.filter_box: Input | None = None  # the box the binding opens (the owner's)

    def on_key(self, event: events.Key) -> None:
        target = self.typeahead_target
        if target is not None and event.key == "enter" and isinstance(target, FilterBox):
            # Enter in the same burst: the box submits; the keys after it are ours
            event.stop()
            event.prevent_default()
            self.typeahead_target = None
            target.leave()
            return
        if target is not None and event.is_printable and event.character:
            # (editing keys are not forwarded: the box's own bindings may run
            # for the same key once it has the focus, and delete twice)
            event.stop()
            event.prevent_default()
            target.insert_text_at_cursor(event.character)
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id == self.typeahead_binding:
            self.typeahead_target = self.filter_box

    def on_paste(self, event: events.Paste) -> None:
        # a paste right behind the opening key reaches the table too
        if self.typeahead_target is not None:
            event.stop()
            self.typeahead_target.insert_text_at_cursor(event.text)
