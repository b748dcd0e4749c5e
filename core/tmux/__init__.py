"""The ``tmux`` backend: the sessions of one tmux server as dashboard rows.

One backend per server: the default one, a named socket (``-L``) or a socket
path (``-S``).  :mod:`core.tmux.backend` holds the backend class, put
together from one class per concern:

* :mod:`core.tmux.base` -- state, the runner, health, the listing and the
  exact-name lookups;
* :mod:`core.tmux.launch` -- a start's checks (argv, working dir, env, the
  program on the pane's PATH, the tmux version) and its session-dir log plan;
* :mod:`core.tmux.actions` -- start, resume, stop, attach;
* :mod:`core.tmux.logs` -- pane scrollback, following, the session-dir log;
* :mod:`core.tmux.inspect` -- windows, panes and process trees, in sections;
* :mod:`core.tmux.stats` -- CPU and memory of the panes' process trees.

and the helpers, one module per concept:

* :mod:`core.tmux.syntax` -- session name rules and tmux argument escaping;
* :mod:`core.tmux.command` -- running the tmux client (counted, with timeouts);
* :mod:`core.tmux.listing` -- the one ``list-panes`` format, its parser, and
  the panes of a session as a :class:`core.model.Session`;
* :mod:`core.tmux.stream` -- pane output as a :class:`core.backend.LineStream`;
* :mod:`core.tmux.attach` -- the argv that attaches (or switches) a terminal;
* :mod:`core.tmux.objects` -- libtmux's ``Server`` and ``Pane`` objects,
  their commands run through the backend's runner.

The refresh path drives the tmux client directly: one counted process with a
timeout (libtmux's runner has none), whose exact bytes the listing parser
frames by length (libtmux decodes and splits output per line).  The actions
on one known pane or one exact session (stop, kill, resume, closing a
follow pipe) use libtmux's objects; the start, the follow start and the
inspect stay single raw tmux calls (see ``docs/architecture-engines.md``).
libtmux also reads and compares the tmux version before ``start``.
"""

from __future__ import annotations
