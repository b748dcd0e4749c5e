"""The filter box: Enter hands the focus back, and the keys typed behind it follow.

Over SSH a burst such as ``/state:idle<Enter>jj`` arrives in one packet.  The
app hands every key of it to the widget that has the focus *when the app reads
the key*, so the ``j``\\ s reach the box before the box has even seen Enter: they
used to be typed into the query (``state:idlejj``, a bad query; the rows never
filtered).  This box takes Enter itself: when its owner accepts the text, it
gives the focus to ``hand_to`` at once and sends every key it still receives
back to the app, which hands them to the new focus, in order, until the box has
lost the focus.  A text the owner refuses keeps the focus (and the keys) in the
box, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.widget import Widget
from textual.widgets import Input


class FilterBox(Input):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hand_to: Widget | None = None  # what takes the focus on Enter
        # whether Enter may leave with this text (a query that parses)
        self.accepts: Callable[[str], bool] = lambda text: True
        self._handing = False  # Enter went: the keys queued behind it are not ours
        self._bounce = False  # Enter was typed ahead: the focus, when it comes, goes on

    def on_key(self, event: events.Key) -> None:
        if self._handing:
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
        elif event.key == "enter" and self.leave():
            event.stop()
            event.prevent_default()

    def leave(self) -> bool:
        """Enter, in the box or typed ahead of it (in the burst of the key that
        opened it, which the table got): submit if the owner accepts the text
        and hand the focus on, now or, if the box gets it later, then.  False
        when refused: the box keeps the text (and the focus)."""
        if self.hand_to is None or not self.accepts(self.value):
            return False
        self.post_message(self.Submitted(self, self.value))
        if self.has_focus:
            self._handing = True
            self.screen.set_focus(self.hand_to)
        else:
            self._bounce = True
        return True

    def on_blur(self) -> None:
        self._handing = False

    def on_focus(self) -> None:
        self._handing = False
        if self._bounce:
            self._bounce = False
            if self.hand_to is not None:
                self._handing = True  # what reached the box meanwhile goes on too
                self.screen.set_focus(self.hand_to)
