"""libtmux's objects (``Server``, ``Session``, ``Pane``) over sesstui's runner.

The actions that target one known pane or one exact session go through
libtmux's object API (``Pane.send_keys``, ``Pane.copy_mode``,
``Pane.respawn``, ``Pane.pipe``, ``Server.kill_session``).  Every command
libtmux issues funnels through ``Server.cmd``; :class:`RunnerServer`
replaces that one method so the command runs through the backend's
:class:`core.tmux.command.TmuxRunner`: counted in ``spawns``, with the
backend's timeout, with ``-u`` and the server flags, and without ``$TMUX``
(libtmux's own ``tmux_cmd`` has no timeout and passes ``$TMUX`` on, which
would reach the server sesstui itself runs in).

What stays raw tmux, and why, is in ``docs/architecture-engines.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from core.tmux.command import Outcome, TmuxResult, TmuxRunner, classify

# libtmux reads sys.stdout.encoding when it is first imported
# (libtmux._compat), and Textual's stdout capture has none.  The registry
# imports this module before any UI starts; should the first import happen
# under the dashboard all the same, libtmux sees the real stdout for that
# moment instead of failing (and taking every tmux backend down with it).
_stdout = sys.stdout
if getattr(_stdout, "encoding", None) is None and sys.__stdout__ is not None:
    sys.stdout = sys.__stdout__
try:
    from libtmux import exc
    from libtmux.common import get_version, tmux_cmd
    from libtmux.pane import Pane
    from libtmux.server import Server
finally:
    sys.stdout = _stdout

__all__ = ["LibTmuxError", "Pane", "RunnerServer", "error_text", "get_version", "outcome_of"]

LibTmuxError = exc.LibTmuxException


class _Ran(tmux_cmd):
    """A runner's result in the shape libtmux reads: ``stdout`` and
    ``stderr`` as lists of lines, ``returncode``; ``result`` keeps it whole."""

    def __init__(self, argv: list[str], result: TmuxResult) -> None:
        # no super().__init__(): that would run tmux a second time, libtmux's way
        self.cmd = argv
        self.result = result
        self.returncode = result.returncode
        out = result.text.split("\n")
        while out and not out[-1]:
            out.pop()
        self.stdout = out
        self.stderr = [line for line in result.stderr.split("\n") if line]


class RunnerServer(Server):
    """A libtmux ``Server`` whose commands run through ``runner()`` (called
    for each command, so a backend's replaced runner is used at once)."""

    def __init__(self, runner: Callable[[], TmuxRunner]) -> None:
        super().__init__()  # no socket flags here: the runner adds its own
        self._runner = runner

    def cmd(self, cmd: str, *args: object, target: str | int | None = None) -> tmux_cmd:
        argv = [cmd, *(["-t", str(target)] if target is not None else []), *map(str, args)]
        return _Ran(argv, self._runner().run(*argv))

    def pane(self, pane_id: str) -> Pane:
        """The pane ``pane_id`` (``%N``, from a listing) without asking tmux."""
        return Pane(server=self, pane_id=pane_id)


def error_text(error: exc.LibTmuxException) -> str:
    """tmux's own error text out of a libtmux error, one line."""
    first = error.args[0] if error.args else ""
    text = " ".join(map(str, first)) if isinstance(first, list) else str(first)
    return " ".join(text.split()) or str(error)


def outcome_of(error: exc.LibTmuxException) -> Outcome:
    """What a failed libtmux call means (the session or pane is gone, ...)."""
    return classify(1, error_text(error))
