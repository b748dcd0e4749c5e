"""Inbox: lines handed from a reading thread to the UI, one batch per UI turn.

A log that grows by megabytes a second must not cost a UI round trip per
read: the reader puts what it read and goes on reading (it never waits for
the UI), and the UI takes everything that came since its last turn in one
go, so it appends and redraws once per turn however fast the log is.  What
is held is bounded: past ``limit`` items the oldest are dropped (a log pane
holding ``limit`` lines would drop them anyway), so a UI that falls behind
never makes memory grow.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from textual.message import Message

__all__ = ["Inbox"]

T = TypeVar("T")


class _Target(Protocol):
    def post_message(self, message: Message) -> bool: ...


class Inbox(Generic[T]):
    """Items put by one thread, taken in batches by the UI.

    :meth:`put` posts one :class:`Inbox.Ready` message to ``target`` when the
    inbox goes from empty to not empty (``post_message`` is thread safe); the
    handler calls :meth:`take`.  Until it does, further puts only add items.
    """

    class Ready(Message):
        """Items are waiting in ``inbox``: call ``inbox.take()``."""

        def __init__(self, inbox: Inbox[object]) -> None:
            super().__init__()
            self.inbox = inbox

    def __init__(self, target: _Target, limit: int) -> None:
        self._target = target
        self._items: deque[T] = deque(maxlen=max(1, limit))
        self._lock = threading.Lock()
        self._posted = False
        self.dropped = 0
        """Items dropped because more than ``limit`` were waiting."""
        self.posts = 0
        """Ready messages posted (one per batch the UI takes)."""

    def put(self, items: Iterable[T]) -> None:
        """Add items (from any thread); never waits for the UI."""
        with self._lock:
            items = list(items)
            if not items:
                return
            room = self._items.maxlen or 0
            self.dropped += max(0, len(self._items) + len(items) - room)
            self._items.extend(items)
            if self._posted:
                return
            self._posted = True
            self.posts += 1
        self._target.post_message(Inbox.Ready(self))  # type: ignore[arg-type]

    def take(self) -> list[T]:
        """Everything waiting, oldest first (on the UI thread)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._posted = False
        return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
