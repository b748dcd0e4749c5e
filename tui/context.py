"""What screens and widgets need from the app: the app-context protocol.

Screens depend on this, never on :class:`tui.app.SesstuiApp` (which imports the
screens): any app that provides these attributes can host them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from core.config.records import AppConfig
    from core.history import History
    from core.inventory import Inventory
    from core.uistate import UiStateFile


class AppContext(Protocol):
    """The app's services: configuration, the inventory, the clock, the
    stores between runs, and the one error modal."""

    config: AppConfig
    inventory: Inventory
    clock: Callable[[], datetime]
    live: bool  # refresh and countdowns on (off for snapshots)
    history: History | None
    ui_state: UiStateFile | None

    def show_error(self, error: BaseException) -> None:
        """Show an error in the one error modal."""
        ...


def app_context(node: DOMNode) -> AppContext:
    """The context of the app ``node`` runs in (the app provides it)."""
    return cast("AppContext", node.app)
