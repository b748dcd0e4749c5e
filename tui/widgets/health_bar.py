"""HealthBar: one chip per backend, coloured by its health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from core.model import BackendHealth, HealthStatus
from tui.theme_style import theme_style

_MARK = {HealthStatus.OK: "●", HealthStatus.DEGRADED: "◐", HealthStatus.UNAVAILABLE: "✕"}
_VAR = {HealthStatus.OK: "chip-ok", HealthStatus.DEGRADED: "chip-degraded",
        HealthStatus.UNAVAILABLE: "chip-down"}  # fmt: skip


def _shown(h: BackendHealth) -> tuple[str, HealthStatus, int]:
    """What the line shows of a backend's health."""
    return (h.backend, h.status, h.sessions)


class HealthBar(Widget):
    """The top line: the app's name, a chip per backend and the time."""

    DEFAULT_CSS = """
    HealthBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    health: reactive[tuple[BackendHealth, ...]] = reactive(tuple, layout=False)
    """The latest health of every backend, in config order."""

    clock_text: reactive[str] = reactive("")
    """The wall-clock time shown at the right edge, to the minute (see :meth:`tick`)."""

    view: reactive[str] = reactive("")
    """The view in force (``:docker``, ``:stale``), shown after the app's name."""

    def set_health(self, health: Sequence[BackendHealth], now: datetime) -> None:
        health = tuple(health)
        if list(map(_shown, health)) != list(map(_shown, self.health)):
            self.health = health  # (a listing's elapsed time changes each refresh: not shown)
        self.tick(now)

    def tick(self, now: datetime) -> None:
        """The clock at ``now``: drawn again when the minute changes (a clock
        in seconds would draw the line each second, or, moved by refreshes
        alone, stand still for as long as a big store takes to list)."""
        self.clock_text = now.strftime("%H:%M")

    def render(self) -> Text:
        line = Text(" sesstui ", style=theme_style(self.app, "primary", bold=True))
        if self.view:
            line.append(f" {self.view} ", style=theme_style(self.app, "accent", bold=True))
        for h in self.health:
            colour = theme_style(self.app, _VAR[h.status])
            line.append(" ")
            line.append(f"{_MARK[h.status]} ", style=colour)
            label = (
                h.backend if h.status is HealthStatus.UNAVAILABLE else f"{h.backend} {h.sessions}"
            )
            line.append(label, style=colour if h.status is not HealthStatus.OK else Style())
        if self.clock_text:
            pad = self.size.width - line.cell_len - len(self.clock_text) - 1
            if pad > 0:
                line.append(" " * pad)
                line.append(self.clock_text, style="dim")
        line.truncate(self.size.width, overflow="ellipsis")
        return line
