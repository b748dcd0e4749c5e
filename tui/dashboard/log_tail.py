"""The log-tail room: the selected session's log, read in a thread worker and
handed to the log pane in batches (an :class:`~tui.inbox.Inbox`)."""

from __future__ import annotations

from pathlib import Path

from textual.content import Content
from textual.screen import Screen
from textual.worker import get_current_worker

from core.backend import LineStream, pump
from core.inventory import describe_error
from core.model import Capability, LogLine, Session, SessionRef
from tui.context import AppContext
from tui.dashboard.messages import TailFailed, TailOpened
from tui.inbox import Inbox
from tui.widgets.log_pane import LogPane


class LogTail:
    """Follows (or shows the last lines of) one session's log in ``pane``.

    The reader runs on ``host`` (a thread worker of group ``tail``); the
    stream is handed over on the UI thread (:meth:`opened`), so a cancelled
    older reader can never replace a newer one's stream."""

    def __init__(self, host: Screen[None], ctx: AppContext, pane: LogPane) -> None:
        self.host = host
        self.ctx = ctx
        self.pane = pane
        self.follow = True
        self.ref: SessionRef | None = None  # whose log is shown (None: none yet)
        self.stream: LineStream | None = None
        self.inbox: Inbox[LogLine] | None = None  # the lines of the log followed now

    def clear(self) -> None:
        """No row is selected: no log."""
        self.stop()
        self.pane.message("")
        self.pane.border_title = "Log"  # nothing is followed
        self.ref = None

    def start(self, session: Session) -> None:
        self.stop()
        self.ref = session.ref
        backend = self.ctx.inventory.backend(session.backend)
        if Capability.LOGS not in backend.capabilities:
            self.pane.message(f"{session.kind} sessions have no logs here")
            self.pane.border_title = "Log"
            return
        self.pane.reset(session.name)
        self.pane.border_title = "Log · loading…"
        inbox: Inbox[LogLine] = Inbox(self.host, self.pane.max_lines, self.pane.add)
        self.inbox = inbox
        ref, follow = session.ref, self.follow
        self.host.run_worker(
            lambda: self._work(ref, follow, inbox),
            name="tail_worker",
            group="tail",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def stop(self) -> None:
        if self.inbox is not None:
            self.inbox.close()  # lines of the old log still on their way are dropped
        self.inbox = None
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()  # wakes the worker blocked in read_available
        for w in self.host.workers:
            if w.group == "tail":
                w.cancel()

    def release(self) -> None:
        """Stop reading, and forget whose log it was (the pane resumes later)."""
        self.stop()
        self.ref = None

    def close_stream(self) -> None:
        """Close the stream only (from a thread: files are about to go)."""
        stream = self.stream
        if stream is not None:
            stream.close()

    def _work(self, ref: SessionRef, follow: bool, inbox: Inbox[LogLine]) -> None:
        worker = get_current_worker()
        lines = self.ctx.config.ui.log_lines
        try:
            stream = self.ctx.inventory.tail(ref, lines=lines, follow=follow)
        except Exception as exc:  # noqa: BLE001 - shown in the log pane
            self.host.post_message(TailFailed(ref, describe_error(exc)))
            return
        if worker.is_cancelled:
            stream.close()
            return
        self.host.post_message(TailOpened(ref, follow, stream))
        try:
            if not follow:
                inbox.put(list(stream))
                return
            # Ends when the stream is done (a JSON transcript, a stopped
            # container) or closed (stop): never spins.  The inbox never waits
            # for the UI, which takes a batch per turn (lines_ready).
            pump(stream, inbox.put, stop=lambda: worker.is_cancelled)
        except Exception as exc:  # noqa: BLE001 - shown in the log pane
            if not worker.is_cancelled and not stream.closed:
                self.host.post_message(TailFailed(ref, describe_error(exc)))
        finally:
            stream.close()

    def opened(self, ref: SessionRef, follow: bool, stream: LineStream) -> None:
        if ref != self.ref:
            stream.close()  # the selection moved on while it opened
            return
        if self.stream is not None and self.stream is not stream:
            self.stream.close()
        self.stream = stream
        path = getattr(stream, "path", None)
        src = f" · {Path(str(path)).name}" if path else ""
        state = "following · f pause · z zoom" if follow else "paused · f follow · z zoom"
        self.pane.border_title = Content(f"Log{src} · {state}")
        self.pane.following = follow

    def lines_ready(self, inbox: Inbox[object]) -> None:
        if inbox is self.inbox:
            self.inbox.ready()  # appends a batch now, or when its frame comes

    def failed(self, ref: SessionRef, text: str) -> None:
        if ref == self.ref:
            if self.inbox is not None:
                self.inbox.close()  # the message takes the pane's place
            self.pane.message(text)
            self.pane.border_title = "Log"

    def toggle_follow(self, selected: Session | None) -> bool:
        """Follow on/off; True when the selected row's log must open again."""
        self.follow = not self.follow
        if selected is None:
            return False
        if self.follow:
            self.ref = None
            return True
        self.stop()
        title = self.pane.border_title
        self.pane.border_title = (
            title.replace("following · f pause", "paused · f follow") if title else "Log · paused"
        )
        return False
