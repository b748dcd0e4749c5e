"""Session directories: the producer API and the dashboard backend.

``from core.dirs import SessionDir, SessionHandler, LogConfig, WorkDir`` gives
the producer API (loaded on first use, so importing the package stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.dirs.producer import LogConfig, SessionDir, SessionHandler, WorkDir

__all__ = ["LogConfig", "SessionDir", "SessionHandler", "WorkDir"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from core.dirs import producer

        return getattr(producer, name)
    raise AttributeError(f"module 'core.dirs' has no attribute {name!r}")
