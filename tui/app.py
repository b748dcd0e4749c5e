"""The sesstui Textual application."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from core.errors import ConfigError
from core.inventory import Inventory
from core.settings import AppConfig
from tui.screens.dashboard import DashboardScreen
from tui.screens.error import ErrorScreen
from tui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, bundled_themes, user_themes


def _now() -> datetime:
    return datetime.now().astimezone()


class SesstuiApp(App[int]):
    """One console for every session."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "sesstui"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        config: AppConfig,
        *,
        inventory: Inventory | None = None,
        theme: str | None = None,
        clock: Callable[[], datetime] = _now,
        live: bool = True,
        user_theme_dir: Path | None = None,
    ) -> None:
        """``clock`` and ``live=False`` (no interval refresh) make snapshots
        deterministic; everything else comes from ``config``."""
        super().__init__()
        self.config = config
        self.inventory = inventory or Inventory.from_config(config)
        self.clock = clock
        self.live = live
        for t in [*bundled_themes(), *user_themes(user_theme_dir)]:
            self.register_theme(t)
        wanted = theme or config.ui.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            known = ", ".join(sorted(n for n in self.available_themes if n.startswith("sesstui")))
            raise ConfigError(f"unknown theme '{wanted}'; bundled: {known}", key="ui.theme")
        self.theme = wanted
        if config.ui.keymap:
            self.set_keymap(dict(config.ui.keymap))

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self.push_screen(DashboardScreen())

    def on_unmount(self) -> None:
        self.inventory.close()

    def show_error(self, error: BaseException) -> None:
        """Show any error in the one error modal (its title and message)."""
        self.push_screen(ErrorScreen.for_error(error))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            yield SystemCommand("Refresh", "List every backend again now", screen.action_refresh)
            yield SystemCommand("Filter", "Filter the sessions table", screen.action_filter)
            yield SystemCommand(
                "Prune", "Plan a prune of every backend, then confirm", screen.action_prune
            )
            yield SystemCommand(
                "Delete session", "Delete the selected session (confirm)", screen.action_delete
            )
            yield SystemCommand(
                "Toggle follow", "Follow the selected log on/off", screen.action_toggle_follow
            )
            yield SystemCommand(
                "Zoom log", "Show the log pane full screen, and back", screen.action_zoom_log
            )
            yield SystemCommand("Help", "Show the keys in force", screen.action_help)
