"""The refresh room: list every backend in a thread worker, measure sizes,
and time the next refresh so that refreshing costs a bounded share of a core."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from core.history import answered, since_last_open
from core.inventory import Snapshot, describe_error
from core.model import Session, SessionRef, SizeInfo, same_listing
from core.relations import Relation, related_with_reasons
from tui.context import AppContext
from tui.dashboard.messages import (
    Notice,
    PageListed,
    RefreshDone,
    RoomMessage,
    SizesMeasured,
    SnapshotListed,
)

# The periodic refresh takes at most this share of the time: a big store whose
# listing takes longer than ui.refresh_seconds must not keep the app busy.
REFRESH_DUTY = 0.005
REFRESH_WAIT_MAX = 60.0  # ... but it is never further apart than this
SIZES_EVERY = 0.1  # seconds between two batches of sizes sent to the UI


def refresh_delay(interval: float, took: float) -> float:
    """Seconds from the end of a refresh that cost ``took`` s of CPU to the next one:
    ``interval`` (``ui.refresh_seconds``), or longer so that refreshing takes at
    most :data:`REFRESH_DUTY` of the time (never longer than
    :data:`REFRESH_WAIT_MAX`, nor shorter than ``interval``)."""
    rest = took / REFRESH_DUTY - took
    return max(interval, min(REFRESH_WAIT_MAX, rest))


class Refresher:
    """Runs one refresh at a time on ``host`` (a thread worker of group
    ``refresh``) and times the next one when it is done.  What it finds goes
    to ``host`` as messages: :class:`SnapshotListed`, :class:`SizesMeasured`,
    :class:`Notice`, then :class:`RefreshDone`."""

    def __init__(self, host: Screen[None], ctx: AppContext, *, timed: Callable[[], None]) -> None:
        self.host = host
        self.ctx = ctx
        self.timed = timed  # what the timer runs: a refresh and what goes with it (stats)
        self.refreshing = False
        self._next: Timer | None = None
        self._timed = False  # a refresh has timed the next one
        self._compared = False  # since-last-open runs once, after the first listing
        self._listed = False  # a listing was asked for (the first shows its first pages)
        # the last listing's records and their relations
        self._related: tuple[list[Session], dict[SessionRef, list[Relation]]] | None = None

    def start(self) -> None:
        """Refresh now (a refresh under way is cancelled: this one replaces it)."""
        self.refreshing = True
        self.host.run_worker(
            self._work,
            name="refresh",
            group="refresh",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _timer_fired(self) -> None:
        self._next = None
        if not self.refreshing:  # a refresh under way times the next one itself
            self.timed()

    def done(self, took: float) -> None:
        """A refresh is over; it cost ``took`` s of the app's CPU time (every
        thread, the UI's work on its rows included: the worker waited for it),
        not the wall clock: a refresh that waits on a slow server costs nothing."""
        self.refreshing = False
        interval = self.ctx.config.ui.refresh_seconds
        if interval > 0 and self.ctx.live:
            if self._next is not None:
                self._next.stop()  # one pending refresh at most ('r' meanwhile)
            # the first one overlaps the start (drawing the first screen): not a measure
            delay = refresh_delay(interval, took) if self._timed else interval
            self._timed = True
            self._next = self.host.set_timer(delay, self._timer_fired)

    # -- the thread side ------------------------------------------------------

    def _work(self) -> None:
        worker = get_current_worker()
        started = time.process_time()
        waited = [0.0]  # CPU the app spent on other things while this refresh waited
        try:
            self._once(worker, waited)
        finally:
            # however the refresh ended, the next one is timed; a cancelled
            # one leaves that to its successor
            if not worker.is_cancelled:
                took = time.process_time() - started - waited[0]
                self.host.post_message(RefreshDone(took))

    def _once(self, worker: Worker[None], waited: list[float]) -> None:
        inv = self.ctx.inventory
        # the first listing shows a big store's first page before the rest
        # (later ones would drop the rows not listed yet: they show the whole)
        first = None if self._listed else self._first_pages()
        snap = inv.refresh(first_page=first)  # an error ends the worker: the screen reports it
        self._listed = True
        if worker.is_cancelled:
            return
        relations = self._relations_of(snap.sessions)
        post = self.host.post_message
        listed = SnapshotListed(snap, relations)
        if not self._hand(worker, waited, listed) or listed.failed:
            return
        measurable = inv.measurable(snap.sessions)
        batch: list[tuple[SessionRef, SizeInfo]] = []
        sizes: dict[SessionRef, SizeInfo] = {}
        done = 0
        last_post = time.monotonic()
        try:
            for ref, size in inv.measure(measurable):
                if worker.is_cancelled:
                    return
                batch.append((ref, size))
                sizes[ref] = size
                done += 1
                if time.monotonic() - last_post > SIZES_EVERY:
                    if not self._hand(worker, waited, SizesMeasured(batch, done, len(measurable))):
                        return
                    batch = []
                    last_post = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - sizes are extras; the table stays
            if not worker.is_cancelled:
                title = getattr(exc, "title", "Sizes")
                post(Notice(describe_error(exc), title=title, severity="warning"))
        # a session gone between listing and measuring is never measured: the
        # count ends here, whatever it reached (nothing to measure: nothing to say)
        done_msg = SizesMeasured(batch, len(measurable), len(measurable))
        if measurable and not self._hand(worker, waited, done_msg):
            return
        if not self._compared:
            self._compared = True
            self._since_last_open(snap, sizes)

    def _relations_of(self, sessions: Sequence[Session]) -> dict[SessionRef, list[Relation]]:
        """The relations of a listing (file system calls: never on the UI); a
        listing of the very same records as last time (a KV store kept every
        row) has the same relations, worked out once."""
        last = self._related
        if last is not None and same_listing(last[0], sessions):
            return last[1]
        relations = related_with_reasons(sessions)
        self._related = (list(sessions), relations)
        return relations

    def _first_pages(self) -> Callable[[str, list[Session]], None]:
        """What the listings' threads call with their first pages: the pages
        so far go to the UI (not waited for: the listing goes on)."""
        pages: dict[str, list[Session]] = {}
        lock = threading.Lock()

        def first_page(backend: str, sessions: list[Session]) -> None:
            with lock:
                pages[backend] = sessions
                listed = [s for page in pages.values() for s in page]
            self.host.post_message(PageListed(listed))

        return first_page

    def _hand(self, worker: Worker[None], waited: list[float], message: RoomMessage) -> bool:
        """Post ``message`` and wait until the UI has taken it, as
        ``call_from_thread`` did: a listing never runs ahead of the table, and
        the UI's work on the rows counts in the refresh's cost, but not what
        the UI did before it came to the message (it waits in the screen's
        queue; ``call_from_thread`` ran at once).  False when the refresh was
        cancelled (or the screen is gone) meanwhile."""
        before = time.process_time()
        if not self.host.post_message(message):
            return False
        while not message.handled.wait(0.05):
            if worker.is_cancelled or not self.host.is_attached:
                return False
        waited[0] += max(0.0, time.process_time() - before - message.cost)
        return True

    def _since_last_open(self, snap: Snapshot, sizes: dict[SessionRef, SizeInfo]) -> None:
        """Once per run, after the first full listing: what appeared, went or
        grew since the previous run."""
        history = self.ctx.history
        if history is None:
            return
        sessions = [s.with_size(sizes[s.ref]) if s.ref in sizes else s for s in snap.sessions]
        changes = since_last_open(
            history, sessions, answered(snap.health), grow_bytes=self.ctx.config.ui.grow_notice
        )
        if changes:
            self.host.post_message(Notice(changes.summary(), title="Since last open", timeout=15))
