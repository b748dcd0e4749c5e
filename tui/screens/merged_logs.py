"""MergedLogScreen: several sessions' logs in one time-ordered view."""

from __future__ import annotations

import threading
from collections import deque
from typing import ClassVar, cast

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from core.backend import pump
from core.logmerge import MergedLine, MergedTail
from core.model import SessionRef
from tui.context import AppContext, app_context
from tui.inbox import Inbox
from tui.keys import keys_for
from tui.screens.help import HelpScreen
from tui.theme_style import theme_style
from tui.widgets.log_pane import LogPane, SourceStyle

# source colours, in turn: distinct in the 16-colour theme for the first five
SOURCE_COLOURS = ("primary", "success", "warning", "secondary", "error", "accent")
MUTE_ID = "merged.mute"


class MergedLogScreen(Screen[None]):
    """Tail several sessions at once, lines ordered by time, each with its
    source's label in a colour of its own.

    | Key | Action |
    | :- | :- |
    | space | Pause / resume (lines that come meanwhile are held, then shown) |
    | 1 … 9 | Mute / unmute source N (its lines are kept) |
    | escape, q | Back |
    | ? | Help |

    The log pane's own keys (search, filter, copy…) work here too.  With
    ``ui.keymap: {merged.mute: "f1,f2"}`` the Nth key given mutes source N
    (sources past the last key have none).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause", id="merged.pause"),
        Binding("1,2,3,4,5,6,7,8,9", "mute", "Mute", key_display="1-9", id=MUTE_ID),
        Binding("question_mark", "help", "Help", show=False, id="merged.help"),
        Binding("escape,q", "back", "Back", id="merged.back"),
    ]

    @property
    def ctx(self) -> AppContext:
        """The app's services (config, inventory, clock, the error modal)."""
        return app_context(self)

    def __init__(self, refs: list[SessionRef], labels: dict[SessionRef, str]) -> None:
        super().__init__()
        self.refs = list(dict.fromkeys(refs))
        self.labels = {r: labels.get(r) or str(r) for r in self.refs}
        self.keys = {r: str(i) for i, r in enumerate(self.refs)}
        self.paused = False
        self.held_count = 0
        """Lines that came while paused (the header's "N new")."""
        self.muted: set[str] = set()
        self._held: deque[MergedLine] = deque()
        self._inbox: Inbox[MergedLine] = Inbox(self, 1, self._arrived)  # sized on mount
        self._tail: MergedTail | None = None
        self._last_key = ""
        self.closer: threading.Thread | None = None
        """The thread that closes the tail once the screen goes (see on_unmount)."""

    def compose(self) -> ComposeResult:
        yield Static(id="merged-header")
        yield LogPane(max_lines=self.ctx.config.ui.log_lines * 20, id="merged-log")
        yield Footer(compact=True)

    @property
    def pane(self) -> LogPane:
        return self.query_one("#merged-log", LogPane)

    def on_mount(self) -> None:
        pane = self.pane
        pane.border_title = f"Merged log · {len(self.refs)} sources"
        pane.set_sources(
            {
                self.keys[r]: SourceStyle(self.labels[r], SOURCE_COLOURS[i % len(SOURCE_COLOURS)])
                for i, r in enumerate(self.refs)
            }
        )
        pane.following = True
        self._held = deque(maxlen=pane.max_lines)
        self._inbox = Inbox(self, pane.max_lines, self._arrived)
        pane.focus()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._update_header())
        self._update_header()
        self._tail = MergedTail(
            self.ctx.inventory, self.refs, lines=self.ctx.config.ui.log_lines, labels=self.labels
        )
        self.tail_worker(self._tail)

    def on_unmount(self) -> None:
        tail, self._tail = self._tail, None
        self._inbox.close()  # what the reader still puts is dropped
        for w in self.workers:
            w.cancel()
        if tail is not None:
            # never on the UI thread: closing a stream may run a backend command
            # (tmux pipe-pane), and a source may be stuck in its backend
            self.closer = threading.Thread(target=tail.close, name="merged close", daemon=True)
            self.closer.start()

    # -- reading (a thread worker; lines come back by call_from_thread) --------

    @work(thread=True, exclusive=True, group="merged", name="merged tail", exit_on_error=False)
    def tail_worker(self, tail: MergedTail) -> None:
        worker = get_current_worker()
        # ends when every source has ended (or the tail is closed): never
        # spins; the inbox never waits for the UI, which takes a batch per turn
        pump(tail, self._inbox.put, stop=lambda: worker.is_cancelled)

    @on(Inbox.Ready)
    def _lines_ready(self, event: Inbox.Ready) -> None:
        if event.inbox is self._inbox:
            self._inbox.ready()  # _arrived gets a batch now, or when its frame comes

    def _arrived(self, batch: list[MergedLine]) -> None:
        if self.paused:
            self._held.extend(batch)
            self.held_count += len(batch)
            self._update_header()
            return
        self._show(batch)

    def _show(self, batch: list[MergedLine] | deque[MergedLine]) -> None:
        keys = self.keys
        self.pane.add_sourced([(keys[m.source], m.line) for m in batch if m.source in keys])

    # -- header -----------------------------------------------------------------

    def _colour(self, variable: str) -> Style:
        return theme_style(cast("App[object]", self.app), variable, bold=True)

    def _update_header(self) -> None:
        bold = Style(bold=True)
        text = Text()
        if self.paused:
            text.append("paused", self._colour("warning"))
            text.append(f" · {self.held_count} new · space resumes")
        else:
            text.append("following", self._colour("success"))
            text.append(" · space pauses")
        keys = [self._key_display(k) for k in self._mute_keys()[: len(self.refs)]]
        if len(self.refs) > 1 and keys:
            text.append(f" · {keys[0]}-{keys[-1]} mute" if len(keys) > 1 else f" · {keys[0]} mutes")
        for i, ref in enumerate(self.refs):
            text.append("\n" if i == 0 else "   ")
            text.append(keys[i] if i < len(keys) else "·", bold)
            muted = self.keys[ref] in self.muted
            colour = self._colour(SOURCE_COLOURS[i % len(SOURCE_COLOURS)])
            text.append(" ● ", Style(dim=True) if muted else colour)
            text.append(self.labels[ref], Style(dim=True, strike=True) if muted else colour)
            if muted:
                text.append(" (muted)", Style(dim=True))
        self.query_one("#merged-header", Static).update(text)

    # -- actions ----------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.pane.following = not self.paused
        if not self.paused:
            held, self._held = self._held, deque(maxlen=self._held.maxlen)
            self.held_count = 0
            if held:
                self._show(held)
        self._update_header()

    def on_key(self, event: events.Key) -> None:
        # the mute action needs to know which of its keys was pressed; the
        # screen sees the key before the app runs the binding
        self._last_key = event.key

    def _mute_keys(self) -> list[str]:
        """The keys bound to ``merged.mute`` in force (after ``ui.keymap``), in
        order: the Nth mutes source N."""
        return keys_for(self, MUTE_ID)

    def _key_display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key, "mute"))

    def action_mute(self, number: int | None = None) -> None:
        """Mute or unmute source ``number`` (1-based; default: from the key pressed)."""
        if number is None:
            keys = self._mute_keys()
            if self._last_key not in keys:
                return
            number = keys.index(self._last_key) + 1
        if not 1 <= number <= len(self.refs):
            self.notify(f"No source {number}: there are {len(self.refs)}", timeout=2)
            return
        key = self.keys[self.refs[number - 1]]
        if key in self.muted:
            self.muted.discard(key)
        else:
            self.muted.add(key)
        self.pane.set_hidden_sources(self.muted)
        self._update_header()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self))

    def action_back(self) -> None:
        self.dismiss(None)
