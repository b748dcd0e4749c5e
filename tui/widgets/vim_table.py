"""VimTable: a DataTable that also moves with j/k and g/G."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

Cell = TypeVar("Cell")


class VimTable(DataTable[Cell]):
    """Every table of the app: the arrow keys, and j/k/g/G as in less and vim.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Move |
    | home/end, g/G | First / last row |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Cursor down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Cursor up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]
