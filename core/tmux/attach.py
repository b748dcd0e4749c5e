"""The argv that attaches a terminal to a tmux session.

From inside a pane of the same server, attaching would nest tmux in itself
(tmux refuses), so the client switches instead.  ``$TMUX`` holds the socket
of the server a process runs under (``socket,server pid,session index``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from core.tmux.syntax import session_target


def inside_server(env: Mapping[str, str], socket_file: Path) -> bool:
    """True when ``env`` belongs to a process running in a pane of the tmux
    server whose socket is ``socket_file`` (``$TMUX`` is ``socket,pid,index``)."""
    value = env.get("TMUX", "")
    if not value:
        return False
    # the socket path may itself hold commas; the last two fields are numbers
    path = value.rsplit(",", 2)[0] if value.count(",") >= 2 else value.split(",", 1)[0]
    return os.path.realpath(path) == os.path.realpath(socket_file)


def attach_command(
    tmux: str,
    server_args: list[str],
    socket_file: Path,
    name: str,
    env: Mapping[str, str],
) -> list[str]:
    """The argv that shows session ``name``: ``switch-client`` from inside a
    pane of the same server (attaching there would nest tmux in itself),
    ``attach-session`` otherwise."""
    if inside_server(env, socket_file):
        return [tmux, *server_args, "switch-client", "-t", session_target(name)]
    if not server_args and env.get("TMUX"):
        # inside another server, a flagless client would talk to that one
        server_args = ["-S", str(socket_file)]
    return [tmux, *server_args, "attach-session", "-t", session_target(name)]
