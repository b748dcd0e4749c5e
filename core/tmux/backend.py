"""The ``tmux`` backend: the sessions of one tmux server.

Listing costs exactly one tmux process (``list-panes -a``, see
:mod:`core.tmux.listing`); :attr:`TmuxBackend.spawns` counts every tmux
process the backend starts.  Sessions are always targeted by exact name
(``=NAME``), so ``foo`` never reaches ``foo-10``.

Health: a missing tmux binary makes the backend UNAVAILABLE with a message
saying what to install or configure; a server that is not running is OK with
no sessions ("no server running"); a server that dies while answering is
DEGRADED for that refresh.

Starting a session (:meth:`TmuxBackend.start`):

* ``shell: false`` (the default) never involves a shell: tmux executes a
  command of two or more arguments directly, and a one-argument command is
  run as ``/bin/sh -c 'exec "$0"' ARG``, which passes ``ARG`` untouched (tmux
  itself would hand a single argument to the shell for parsing).
  ``shell: true`` hands the one command string to the user's shell.
* The program is looked up first on the PATH the pane will get (the spec's
  ``PATH``, else the tmux server's global one), so a missing program is
  reported before anything starts.  Then the window keeps its pane when the
  program exits (``remain-on-exit``, set in the same tmux call, before the
  program can have exited) for ``start_check`` seconds: a pane that died by
  then is reported with its exit status and last output, and the session is
  removed.
* ``session_dir`` names a dirs backend (``session_dirs`` maps names to bases):
  the pane's output is piped (``pipe-pane``) from its first byte into
  ``<base>/<session dir named after the pane pid>/logs/tmux.log``, so it
  outlives the session; the path is kept in the session option
  ``@sesstui_log``.

Logs: ``pane`` is the pane's scrollback and, when following, its output from
then on (piped into ``<log_dir>/<session>.log`` only while someone follows);
``pipe`` is the session-dir log, when there is one.  Followed output is raw
terminal output cleaned of escape sequences (see :mod:`core.tmux.stream`).
"""

from __future__ import annotations

from core.model import Capability
from core.tmux.actions import ActionsMixin, tmux_stop_description
from core.tmux.base import TmuxBase
from core.tmux.inspect import InspectMixin
from core.tmux.launch import MIN_START_VERSION
from core.tmux.logs import PANE_SOURCE, PIPE_SOURCE, LogsMixin
from core.tmux.stats import StatsMixin

__all__ = [
    "MIN_START_VERSION",
    "PANE_SOURCE",
    "PIPE_SOURCE",
    "TmuxBackend",
    "TmuxBase",
    "tmux_stop_description",
]


class TmuxBackend(ActionsMixin, LogsMixin, InspectMixin, StatsMixin):
    """The sessions of one tmux server.

    ``session_dirs`` maps dirs-backend names to their base (a path, or the
    backend's :class:`DirsBackendConfig` to follow its prefix and timestamp
    format) for specs that name a ``session_dir``.  ``start_check`` is how long
    :meth:`start` watches a new session for a program that exits at once.
    """

    kind = "tmux"
    capabilities = (
        Capability.LIST | Capability.LOGS | Capability.START | Capability.STOP | Capability.ATTACH
    )
