"""Leaving when the terminal goes away.

A closed terminal window or a dropped SSH connection sends SIGHUP, and the
app must then exit, cleaning up what it made (the demo's sandbox).  Two ways
out were missing:

* a signal handler that raises ``SystemExit`` at whatever line the main
  thread is on can be swallowed (an ``except BaseException`` in a task), and
* a process that never gets the signal (it ignores SIGHUP, or is not in the
  terminal's foreground group) keeps running on a hung-up terminal.

In both cases Textual's input thread then loops on end-of-file (the dead
terminal is always "readable" and every read returns nothing): the orphan
burns half a core until someone kills it with SIGKILL.

:class:`HangupGuard` takes one way out for both.  SIGHUP and SIGTERM, or a
watchdog that sees the terminal is no longer a terminal (``isatty`` turns
false once it is hung up), ask the app to exit; if it has not returned from
``run()`` within ``grace`` seconds, the guard runs ``cleanup`` itself and
leaves with ``os._exit``, so nothing is left running.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from textual.app import App

_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class HangupGuard:
    """Used as ``with HangupGuard(app, cleanup=...): app.run()``.

    ``fd`` is the terminal to watch (default: standard input, when it is a
    terminal); ``interval`` how often the watchdog looks at it.  ``exit`` and
    ``isatty`` are there for tests; the real ones end the process and ask the
    kernel.
    """

    def __init__(
        self,
        app: App[Any],
        *,
        cleanup: Callable[[], object] | None = None,
        fd: int | None = None,
        interval: float = 1.0,
        grace: float = 5.0,
        signals: tuple[signal.Signals, ...] = _SIGNALS,
        exit: Callable[[int], object] = os._exit,  # noqa: A002 - the process's exit
        isatty: Callable[[int], bool] = os.isatty,
    ) -> None:
        self._app = app
        self._cleanup = cleanup
        self._fd = sys.__stdin__.fileno() if fd is None and sys.__stdin__ else fd
        self._interval = interval
        self._grace = grace
        self._signals = signals
        self._exit = exit
        self._isatty = isatty
        self._lock = threading.Lock()
        self._hung_up = threading.Event()
        self._returned = threading.Event()  # run() came back: the caller cleans up
        self._previous: dict[signal.Signals, object] = {}
        self.code: int | None = None  # the exit code once hung up (128 + signal)

    # -- the guarded run ----------------------------------------------------------

    def __enter__(self) -> HangupGuard:
        for sig in self._signals:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        fd = self._fd
        if fd is not None and self._isatty(fd):
            threading.Thread(
                target=self._watch, args=(fd,), name="sesstui-hangup-watch", daemon=True
            ).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._returned.set()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    @property
    def hung_up(self) -> bool:
        return self._hung_up.is_set()

    # -- the ways in --------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.hang_up(128 + signum)

    def _watch(self, fd: int) -> None:
        while not self._returned.wait(self._interval):
            if not self._isatty(fd):
                self.hang_up(128 + signal.SIGHUP)
                return

    # -- the way out --------------------------------------------------------------

    def hang_up(self, code: int) -> None:
        """Ask the app to exit with ``code``; make sure the process ends even if
        it does not.  Safe from a signal handler and from any thread; only the
        first call counts."""
        with self._lock:
            if self._hung_up.is_set():
                return
            self.code = code
            self._hung_up.set()
        # threads, not work here: a signal handler may interrupt the event loop
        threading.Thread(target=self._ask, name="sesstui-hangup-ask", daemon=True).start()
        threading.Thread(target=self._deadline, name="sesstui-hangup-end", daemon=True).start()

    def _ask(self) -> None:
        app = self._app
        try:
            app.call_from_thread(app.exit, None, self.code or 0)
        except Exception:  # noqa: BLE001, S110 - not running (yet, or any more): the deadline ends it
            pass

    def _deadline(self) -> None:
        if self._returned.wait(self._grace):
            return  # run() returned: the caller's own cleanup runs
        try:
            if self._cleanup is not None:
                self._cleanup()
        finally:
            self._exit(self.code or 128 + signal.SIGHUP)
