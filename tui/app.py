"""The sesstui Textual application."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from core.config.records import AppConfig
from core.errors import ConfigError
from core.history import History
from core.inventory import Inventory
from core.uistate import UiStateFile
from tui.screens.dashboard import DashboardScreen
from tui.screens.error import ErrorScreen
from tui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, ThemePicker, load_themes
from tui.widgets.sessions_table import COLUMNS

# the dashboard's actions in the command palette: (title, help, action name)
DASHBOARD_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Refresh", "List every backend again now", "refresh"),
    ("Filter", "Filter the sessions table", "filter"),
    ("Prune", "Plan a prune of every backend, then confirm", "prune"),
    ("Delete session", "Delete the selected session (confirm)", "delete"),
    ("Toggle follow", "Follow the selected log on/off", "toggle_follow"),
    ("Zoom log", "Show the log pane full screen, and back", "zoom_log"),
    ("Help", "Show the keys in force", "help"),
    ("Select all shown", "Select every row shown (again: none)", "select_all"),
    ("Stop selected", "Stop the selected sessions (confirm)", "stop"),
    ("Merged log", "Tail the selected sessions in one stream", "merge_logs"),
    ("Group by backend", "Group the rows by backend, on/off", "group"),
    ("Invert sort", "Reverse the order of the sort column", "sort_reverse"),
    ("Jump to related", "Move to a session related to this one", "related"),
    ("Copy session ref", "Copy backend:id to the clipboard (OSC 52)", "copy_id"),
    ("Orphans", "Sessions and folders nothing uses any more", "orphans"),
    ("Journal", "Every action taken, with its CLI command", "journal"),
)


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
        startup_notices: Sequence[str] = (),
        history: History | None = None,
        ui_state: UiStateFile | None = None,
    ) -> None:
        """``clock`` and ``live=False`` (no interval refresh) make snapshots
        deterministic; everything else comes from ``config``.  User themes
        come from ``user_theme_dir`` (default ``<config dir>/themes``);
        ``startup_notices`` are shown as notifications once the app is up
        (the demo says there what it had to leave out).  ``history`` keeps
        the inventory between runs for the since-last-open notice (default:
        the state dir's, when ``live``).  ``ui_state`` remembers the layout
        between runs (default: ``<state dir>/ui.json`` when ``live``; none,
        so the defaults, otherwise)."""
        super().__init__()
        self.config = config
        # themes first: a broken user theme stops here, before any backend opens
        self.themes = load_themes(user_theme_dir)
        for t in self.themes.themes:
            self.register_theme(t)
        wanted = theme or config.ui.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            known = ", ".join(self.themes.names)
            origin = config.ui.theme_origin if theme is None else None
            raise ConfigError(
                f"unknown theme '{wanted}'; known: {known}",
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                key="ui.theme" if origin else "--theme",
            )
        self.theme = wanted
        self.startup_notices = tuple(startup_notices)
        self.inventory = inventory or Inventory.from_config(config, source="tui")
        self.clock = clock
        self.live = live
        self.history = history if history is not None or not live else History.default()
        self.ui_state = ui_state if ui_state is not None or not live else UiStateFile()
        if config.ui.keymap:
            self.set_keymap(dict(config.ui.keymap))

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self.push_screen(DashboardScreen())
        for notice in self.startup_notices:
            self.notify(notice, severity="warning", timeout=12)

    def search_themes(self) -> None:
        """The palette's "Theme" command: sesstui's and the user's themes
        only (not all of Textual's), previewed as the cursor moves."""
        self.push_screen(ThemePicker(self.themes, self.theme))

    def on_unmount(self) -> None:
        self.inventory.close()

    def show_error(self, error: BaseException) -> None:
        """Show any error in the one error modal (its title and message)."""
        self.push_screen(ErrorScreen.for_error(error))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            for title, help_text, action in DASHBOARD_COMMANDS:
                yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
            for column, label in COLUMNS:
                yield SystemCommand(
                    f"Sort by {label.lower()}",
                    f"Order the rows by the {label} column",
                    partial(screen.table.set_sort, column),
                )
            for name, query in self.config.views.items():
                yield SystemCommand(
                    f"View: {name}", f"Filter with {query}", partial(screen.show_view, name)
                )
