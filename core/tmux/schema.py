"""The ``tmux`` kind: its configuration keys and how its backend is built.

``backends: [{kind: tmux, socket_name: work}]`` -- one tmux server: the
default one, a named socket (``-L``) or a socket path (``-S``).  Adding a key:
declare it here with ``key()``, use it in :mod:`core.tmux.backend`, document it
in the README and ``config.example.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from core.config.fields import key
from core.config.kinds import BuildContext, Kind
from core.config.records import KIND_KEY, BackendConfig
from core.config.schema import Problem

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.loader import Node
    from core.config.reader import Context


def _socket_name(node: Node, ctx: Context) -> str:
    name = ctx.text(node, "work", allow_empty=False)
    if "/" in name:
        raise ctx.error("socket_name is a name, not a path; use socket_path for a path", node)
    return name


class TmuxBackendConfig(BackendConfig, frozen=True, kw_only=True):
    """One tmux server: the default one, a named socket (-L) or a socket path (-S)."""

    kind: Annotated[str, KIND_KEY] = "tmux"
    socket_name: (
        Annotated[str, key("a named server socket (tmux -L)", "work", read=_socket_name)] | None
    ) = None
    socket_path: Annotated[Path, key("a server socket path (tmux -S)", "/tmp/work.sock")] | None = (
        None
    )
    # the binary, found on PATH unless a path is given
    tmux: Annotated[str, key("the tmux binary", "/usr/bin/tmux", empty=False)] = "tmux"
    # where pipe-pane logs go for sessions whose spec names no session_dir;
    # None = <state dir>/tmux-logs/<backend name>
    log_dir: Annotated[Path, key("where session logs go without a session_dir", "~/tmux-logs")] | (
        None
    ) = None

    def validate(self) -> None:
        if self.socket_name is not None and self.socket_path is not None:
            raise Problem(
                "socket_path", "give socket_name (tmux -L) or socket_path (tmux -S), not both"
            )


def build(config: BackendConfig, context: BuildContext) -> Backend:
    """The backend; it makes session directories in the configured dirs backends."""
    from core.dirs.schema import DirsBackendConfig
    from core.tmux.backend import TmuxBackend

    dirs = {b.name: b for b in context.backends if isinstance(b, DirsBackendConfig)}
    return TmuxBackend(config, session_dirs=dirs)


KIND = Kind("tmux", TmuxBackendConfig, build)
