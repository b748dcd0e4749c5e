"""Keys as Textual resolves them (``ui.keymap`` applied), through public API."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen


def keys_for(screen: Screen[Any], binding_id: str) -> list[str]:
    """The keys bound to ``binding_id`` on ``screen`` now, in the order the
    binding lists them (after ``ui.keymap``): the Nth key is the Nth item."""
    return [
        key
        for key, active in screen.active_bindings.items()
        if active.binding.id == binding_id and active.node is screen
    ]
