"""Inbox: lines handed from a reading thread to the UI in batches.

A log that grows by megabytes a second must not cost a UI round trip (and a
redraw) per read: the reader puts what it read and goes on reading (it never
waits for the UI), and the UI takes everything that came in one go, at most
once a ``frame`` (0.1 s: a fast log is redrawn ten times a second).  What is
held is bounded: past ``limit`` items the oldest are dropped (a log pane
holding ``limit`` lines would drop them anyway), so a UI that falls behind
never makes memory grow.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from textual.message import Message
from textual.timer import Timer

__all__ = ["FRAME", "Inbox"]

T = TypeVar("T")

FRAME = 0.1
"""Seconds between two deliveries, at least."""


class _Target(Protocol):
    def post_message(self, message: Message) -> bool: ...

    def set_timer(self, delay: float, callback: Callable[[], object]) -> Timer: ...


class Inbox(Generic[T]):
    """Items put by one thread, delivered in batches on the UI thread.

    :meth:`put` posts one :class:`Inbox.Ready` message to ``target`` when the
    inbox goes from empty to not empty (``post_message`` is thread safe); the
    handler calls :meth:`ready`, which hands everything waiting to
    ``deliver`` now, or when ``frame`` seconds have passed since the last
    delivery.  Until then, further puts only add items.
    """

    class Ready(Message):
        """Items are waiting in ``inbox``: call ``inbox.take()``."""

        def __init__(self, inbox: Inbox[object]) -> None:
            super().__init__()
            self.inbox = inbox

    def __init__(
        self,
        target: _Target,
        limit: int,
        deliver: Callable[[list[T]], object],
        *,
        frame: float = FRAME,
    ) -> None:
        self._target = target
        self._deliver = deliver
        self.frame = frame
        self._items: deque[T] = deque(maxlen=max(1, limit))
        self._lock = threading.Lock()
        self._posted = False
        self._timer: Timer | None = None
        self._delivered = -frame  # time.monotonic() of the last delivery
        self._closed = False
        self.dropped = 0
        """Items dropped because more than ``limit`` were waiting."""
        self.posts = 0
        """Ready messages posted (one per batch the UI takes)."""

    def put(self, items: Iterable[T]) -> None:
        """Add items (from any thread); never waits for the UI."""
        with self._lock:
            items = list(items)
            if not items or self._closed:
                return
            room = self._items.maxlen or 0
            self.dropped += max(0, len(self._items) + len(items) - room)
            self._items.extend(items)
            if self._posted:
                return
            self._posted = True
            self.posts += 1
        self._target.post_message(Inbox.Ready(self))  # type: ignore[arg-type]

    def ready(self) -> None:
        """On the UI thread (the Ready handler): deliver now, or once the
        frame since the last delivery is over."""
        if self._timer is not None or self._closed:
            return
        wait = self._delivered + self.frame - time.monotonic()
        if wait > 0:
            self._timer = self._target.set_timer(wait, self._flush)
        else:
            self._flush()

    def _flush(self) -> None:
        self._timer = None
        self._delivered = time.monotonic()
        items = self.take()
        if items and not self._closed:
            self._deliver(items)

    def close(self) -> None:
        """Deliver nothing more, hold nothing more (the UI moved on)."""
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.take()

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
