"""KeyFooter: a footer that shows more keys as the terminal widens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

# the keys the footer adds, in this order, while they fit the terminal's
# width (keys declared with show=True always show; at 80 columns only they fit)
WIDER_KEYS: tuple[str, ...] = (
    "sessions.command",
    "logs.follow",
    "logs.zoom",
    "sessions.inspect",
    "sessions.restart",
    "sessions.stats",
    "layout.cycle",
    "layout.details",
    "logs.merge",
    "sessions.refresh",
    "logs.focus",
    "sessions.related",
    "app.orphans",
    "app.journal",
    "sessions.copy",
)
PALETTE_WIDTH = 12  # "▏^p palette" and its margin


class KeyChip(Widget):
    """One key of the footer: the key, then what it does; a click presses it.
    (Drawn as Textual's own footer keys are, from public API only.)"""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-chip--key", "key-chip--description"}

    DEFAULT_CSS = """
    KeyChip {
        width: auto;
        height: 1;
        text-wrap: nowrap;
        background: $footer-item-background;
        .key-chip--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
            padding: 0 1;
        }
        .key-chip--description {
            padding: 0 1 0 0;
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        &:hover {
            pointer: pointer;
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        &.-disabled { text-style: dim; }
        &.-compact {
            .key-chip--key { padding: 0; }
            .key-chip--description { padding: 0 0 0 1; }
        }
    }
    """

    compact = reactive(True)
    """Display compact style."""

    def __init__(
        self,
        key: str,
        key_display: str,
        description: str,
        *,
        enabled: bool = True,
        tooltip: str = "",
        classes: str = "",
    ) -> None:
        self.key = key
        self.key_display = key_display
        self.description = description
        self.enabled = enabled
        super().__init__(classes=classes if enabled else f"{classes} -disabled")
        self.set_reactive(Widget.shrink, False)
        if tooltip:
            self.tooltip = tooltip

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-chip--key")
        key_pad = self.get_component_styles("key-chip--key").padding
        if not self.description:
            text = Text.assemble((self.key_display, key_style))
        else:
            desc_style = self.get_component_rich_style("key-chip--description")
            desc_pad = self.get_component_styles("key-chip--description").padding
            text = Text.assemble(
                (" " * key_pad.left + self.key_display + " " * key_pad.right, key_style),
                (" " * desc_pad.left + self.description + " " * desc_pad.right, desc_style),
            )
        text.stylize_before(self.rich_style)
        return text

    def on_mouse_down(self) -> None:
        if self.enabled:
            self.app.simulate_key(self.key)
        else:
            self.app.bell()

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")


class KeyFooter(Footer):
    """Textual's footer, plus as many keys of ``WIDER_KEYS`` as the terminal's
    width leaves room for (laid out again when the width changes)."""

    DEFAULT_CSS = """
    KeyFooter {
        &.-compact KeyChip { margin-right: 1; }
        KeyChip.-command-palette {
            dock: right;
            padding-right: 1;
            border-left: vkey $foreground 20%;
        }
        &.-compact KeyChip.-command-palette { padding-right: 0; }
    }
    """

    def __init__(self, *, wider: Sequence[str] = WIDER_KEYS, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self.wider = tuple(wider)
        self.extra: frozenset[str] = frozenset()  # the wider keys shown now
        self._width = -1
        self.ready = False  # the screen has said which bindings are in force

    def bindings_changed(self, screen: Screen[object]) -> None:
        self.ready = True
        super().bindings_changed(screen)

    def on_resize(self, event: events.Resize) -> None:
        if self.app.size.width != self._width:
            self._width = self.app.size.width
            self.call_after_refresh(self.recompose)

    def _choose(self, bindings: list[tuple[Binding, bool, str]]) -> list[tuple[Binding, bool, str]]:
        """The bindings declared shown, plus as many of ``wider`` as fit, in order."""

        def width(b: Binding) -> int:
            return len(self.app.get_key_display(b)) + len(b.description) + 2

        base = [x for x in bindings if x[0].show]
        used = sum(width(b) for b, _, _ in base) + PALETTE_WIDTH
        by_id = {b.id: b for b, _, _ in bindings if b.id and not b.show}
        extra: set[str] = set()
        for ident in self.wider:
            b = by_id.get(ident)
            if b is not None and used + width(b) <= self.app.size.width:
                used += width(b)
                extra.add(ident)
        self.extra = frozenset(extra)
        return [x for x in bindings if x[0].show or x[0].id in extra]

    def compose(self) -> ComposeResult:
        if not self.ready:
            return
        active = self.screen.active_bindings
        shown: dict[str, tuple[Binding, bool, str]] = {}  # one key per action, as Footer
        for _node, binding, enabled, tooltip in active.values():
            shown.setdefault(binding.action, (binding, enabled, tooltip))
        chosen = self._choose(list(shown.values()))
        self.styles.grid_size_columns = len(chosen)
        for binding, enabled, tooltip in chosen:
            yield KeyChip(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                enabled=enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield KeyChip(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                classes="-command-palette",
                enabled=enabled,
                tooltip=binding.tooltip or binding.description,
            )
