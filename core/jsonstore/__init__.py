"""JSON-file session records (calute convention): the producer API and the dashboard backend.

``from core.jsonstore import SessionManager, FileSessionStore`` gives the
producer API (loaded on first use, so importing the package stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.jsonstore.manager import SessionManager
    from core.jsonstore.store import (
        CorruptRecord,
        FileSessionStore,
        InMemorySessionStore,
        InvalidSessionId,
        SessionExists,
        SessionRecord,
        SessionStore,
    )

__all__ = [
    "CorruptRecord",
    "FileSessionStore",
    "InMemorySessionStore",
    "InvalidSessionId",
    "SessionExists",
    "SessionManager",
    "SessionRecord",
    "SessionStore",
]


def __getattr__(name: str) -> object:
    if name == "SessionManager":
        from core.jsonstore import manager

        return manager.SessionManager
    if name in __all__:
        from core.jsonstore import store

        return getattr(store, name)
    raise AttributeError(f"module 'core.jsonstore' has no attribute {name!r}")
