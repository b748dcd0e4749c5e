"""The layout room: side by side or stacked, the details pane on or off,
remembered between runs (``ui.json``)."""

from __future__ import annotations

from dataclasses import replace

from textual.screen import Screen
from textual.widget import Widget

from core.uistate import LAYOUTS, UiState
from tui.context import AppContext
from tui.widgets.detail_panel import DetailPanel
from tui.widgets.log_pane import LogPane

# below this many columns the "auto" layout stacks the log under the table, full width
STACK_BELOW = 120


class Layout:
    """Where the details and the log go; ``ui`` is the remembered state."""

    def __init__(
        self,
        host: Screen[None],
        ctx: AppContext,
        *,
        table: Widget,
        detail: DetailPanel,
        log_pane: LogPane,
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.table = table
        self.detail = detail
        self.log_pane = log_pane
        self.ui = UiState()  # layout preferences, loaded on mount

    def load(self) -> UiState:
        store = self.ctx.ui_state
        self.ui = store.load() if store is not None else UiState()
        return self.ui

    def save(self) -> None:
        store = self.ctx.ui_state
        why = store.save(self.ui) if store is not None else None
        if why:
            self.host.notify(why, severity="warning", timeout=4)

    def set_stats(self, on: bool) -> None:
        self.ui = replace(self.ui, stats=on)
        self.save()

    @property
    def stacked(self) -> bool:
        """Is the log under the table, full width (the layout in force now)?"""
        mode = self.ui.layout
        return mode == "stacked" or (mode == "auto" and self.host.app.size.width < STACK_BELOW)

    def apply(self) -> None:
        stacked = self.stacked
        self.host.set_class(stacked, "-stacked")
        details = self.ui.stacked_details if stacked else self.ui.side_details
        detail = self.detail
        detail.display = details
        self.log_pane.display = not (stacked and details)
        focused = self.host.focused
        if focused is not None and any(
            not getattr(w, "display", True) for w in focused.ancestors_with_self
        ):
            self.table.focus()  # the focus never stays on a hidden pane
        if detail.display and detail.session is not None:
            detail.show(detail.session, detail.sources)  # values wrap to the new width

    def cycle(self) -> None:
        """Auto (side by side from STACK_BELOW columns), side by side, stacked."""
        turn = (LAYOUTS.index(self.ui.layout) + 1) % len(LAYOUTS)
        self.ui = replace(self.ui, layout=LAYOUTS[turn])
        self.apply()
        self.save()
        now = "stacked" if self.stacked else "side by side"
        self.host.notify(f"Layout: {self.ui.layout} ({now} now)", timeout=2)

    def toggle_details(self) -> None:
        """Side by side: the details pane on/off (the log takes its width);
        stacked: the details in the log's place, and back."""
        if self.stacked:
            self.ui = replace(self.ui, stacked_details=not self.ui.stacked_details)
        else:
            self.ui = replace(self.ui, side_details=not self.ui.side_details)
        self.apply()
        self.save()
