"""CommandLine: the dashboard's ``:`` box (k9s style), with Tab completion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Input


class CommandLine(Input):
    """An input that completes from a fixed list of words.

    | Key | Action |
    | :- | :- |
    | tab | Complete: the first word that starts with what is typed; again: the next |
    | enter | Run (the dashboard handles ``Input.Submitted``) |

    The word it would complete to is also shown greyed after the cursor
    (Textual's suggester); ``right`` at the end takes it too.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(self, words: Sequence[str], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(
            placeholder="tmux, docker, dirs, kv, json, a backend or a view · tab completes",
            id=id,
            suggester=SuggestFromList(words, case_sensitive=False),
            select_on_focus=False,
        )
        self.words = list(dict.fromkeys(words))  # unique, in order
        self._cycle: list[str] = []  # the words tab goes through
        self._turn = 0

    def matches(self, text: str) -> list[str]:
        """The words that start with ``text`` (case-insensitive), in order."""
        typed = text.strip().lower()
        return [w for w in self.words if w.lower().startswith(typed)]

    def action_complete(self) -> None:
        if self._cycle and self.value == self._cycle[self._turn]:
            self._turn = (self._turn + 1) % len(self._cycle)  # again: the next word
        else:
            self._cycle = self.matches(self.value)
            self._turn = 0
            if not self._cycle:
                self.app.bell()
                return
        self.value = self._cycle[self._turn]
        self.cursor_position = len(self.value)
