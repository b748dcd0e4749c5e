"""Session directories: the producer API and the dashboard backend.

``from core.dirs import SessionDir, SessionHandler, LogConfig, WorkDir`` gives
the producer API (loaded on first use, so importing the package stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.dirs.logconfig import LogConfig
    from core.dirs.producer import SessionHandler, WorkDir
    from core.dirs.sessiondir import SessionDir

__all__ = ["LogConfig", "SessionDir", "SessionHandler", "WorkDir"]


# Where each producer name lives (imported on first use).
_HOMES = {
    "LogConfig": "core.dirs.logconfig",
    "SessionDir": "core.dirs.sessiondir",
    "SessionHandler": "core.dirs.producer",
    "WorkDir": "core.dirs.producer",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is not None:
        import importlib

        return getattr(importlib.import_module(home), name)
    raise AttributeError(f"module 'core.dirs' has no attribute {name!r}")
