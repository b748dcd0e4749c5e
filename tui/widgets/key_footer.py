"""KeyFooter: a footer that shows more keys as the terminal widens."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

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


class KeyFooter(Footer):
    """Textual's footer, plus as many keys of ``WIDER_KEYS`` as the terminal's
    width leaves room for (laid out again when the width changes)."""

    def __init__(self, *, wider: Sequence[str] = WIDER_KEYS, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self.wider = tuple(wider)
        self.extra: frozenset[str] = frozenset()  # the wider keys shown now
        self._width = -1

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
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        shown: dict[str, tuple[Binding, bool, str]] = {}  # one key per action, as Footer
        for _node, binding, enabled, tooltip in active.values():
            shown.setdefault(binding.action, (binding, enabled, tooltip))
        chosen = self._choose(list(shown.values()))
        self.styles.grid_size_columns = len(chosen)
        for binding, enabled, tooltip in chosen:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )
