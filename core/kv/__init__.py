"""Key-value sessions with TTLs (the chuk-sessions convention), memory or Redis.

The producer API is :class:`SessionManager` (async); the low-level provider API
is in :mod:`core.kv.providers`; the dashboard backend in :mod:`core.kv.backend`.
Importing this package never imports ``redis``.
"""

from __future__ import annotations

from core.kv.manager import (
    InvalidSessionId,
    SessionManager,
    SessionMetadata,
    check_id,
    sandbox_from_env,
)
from core.kv.providers import (
    KvProvider,
    MemoryProvider,
    MemoryStore,
    MemoryStores,
    ProviderSession,
    RedisProvider,
    factory_for_env,
    provider_from_env,
)

__all__ = [
    "InvalidSessionId",
    "KvProvider",
    "MemoryProvider",
    "MemoryStore",
    "MemoryStores",
    "ProviderSession",
    "RedisProvider",
    "SessionManager",
    "SessionMetadata",
    "check_id",
    "factory_for_env",
    "provider_from_env",
    "sandbox_from_env",
]
