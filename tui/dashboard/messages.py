"""What the dashboard's thread workers hand back to the UI: Textual messages.

A worker posts one of these to the screen (``post_message`` is thread safe);
the screen's handler hands it to the room that owns the state.  A worker
that fails ends with an exception: the screen's one
``Worker.StateChanged`` handler reports it (see :mod:`tui.dashboard.errors`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from textual.message import Message
from textual.notifications import SeverityLevel

from core.backend import LineStream
from core.inventory import Snapshot
from core.model import LogSource, PrunePlan, PruneResult, Session, SessionRef, SizeInfo
from core.relations import Relation
from core.stats import SessionStats


class RoomMessage(Message):
    """A worker's result for one of the dashboard's rooms; ``handled`` is set
    once the room has taken it (a worker may wait for that)."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = threading.Event()
        self.cost = 0.0  # CPU seconds the UI spent taking it


class SnapshotListed(RoomMessage):
    """A refresh listed every backend (and worked out the relations)."""

    def __init__(self, snap: Snapshot, relations: dict[SessionRef, list[Relation]]) -> None:
        super().__init__()
        self.snap = snap
        self.relations = relations
        self.failed = False  # the UI could not apply it: the refresh ends there


class PageListed(RoomMessage):
    """The first listing is under way: the sessions of the first pages of the
    backends that list in pages (a big store), before the rest is listed."""

    def __init__(self, sessions: list[Session]) -> None:
        super().__init__()
        self.sessions = sessions


class SizesMeasured(RoomMessage):
    """A batch of sizes, and how far the measuring is (``done`` of ``total``)."""

    def __init__(self, sizes: list[tuple[SessionRef, SizeInfo]], done: int, total: int) -> None:
        super().__init__()
        self.sizes = sizes
        self.done = done
        self.total = total


class RefreshDone(RoomMessage):
    """A refresh is over; it cost ``took`` s of the process's CPU time."""

    def __init__(self, took: float) -> None:
        super().__init__()
        self.took = took


class Notice(RoomMessage):
    """A toast from a worker (sizes that failed, the since-last-open summary)."""

    def __init__(
        self,
        text: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float = 5,
    ) -> None:
        super().__init__()
        self.text = text
        self.title = title
        self.severity = severity
        self.timeout = timeout


class SourcesLoaded(RoomMessage):
    """The log files of ``session`` (and its stored record, if it has one)."""

    def __init__(self, session: Session, sources: Sequence[LogSource], record: str) -> None:
        super().__init__()
        self.session = session
        self.sources = sources
        self.record = record


class TailOpened(RoomMessage):
    """The log of ``ref`` is open: the stream is handed over on the UI thread."""

    def __init__(self, ref: SessionRef, follow: bool, stream: LineStream) -> None:
        super().__init__()
        self.ref = ref
        self.follow = follow
        self.stream = stream


class TailFailed(RoomMessage):
    """The log of ``ref`` could not be read: ``text`` takes the pane's place."""

    def __init__(self, ref: SessionRef, text: str) -> None:
        super().__init__()
        self.ref = ref
        self.text = text


class StatsRead(RoomMessage):
    """Live stats of the rows that were on screen."""

    def __init__(self, stats: list[SessionStats]) -> None:
        super().__init__()
        self.stats = stats


class Progress(RoomMessage):
    """An action under way says how far it is (the table's subtitle)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Acted(RoomMessage):
    """An action succeeded: ``text`` says what was done."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Planned(RoomMessage):
    """A prune or delete was planned: confirm it."""

    def __init__(self, plans: list[PrunePlan], verb: str, exact: bool) -> None:
        super().__init__()
        self.plans = plans
        self.verb = verb
        self.exact = exact


class Executed(RoomMessage):
    """A confirmed prune or delete ran."""

    def __init__(self, results: list[PruneResult], verb: str) -> None:
        super().__init__()
        self.results = results
        self.verb = verb
