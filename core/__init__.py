"""sesstui core: the headless library behind the console.

Import what you need from the submodules (``core.model``, ``core.inventory``,
``core.config``, ``core.dirs``) or the names re-exported here, which load on
first use so that ``import core`` stays cheap.  Nothing here imports Textual,
Rich, docker, redis or libtmux: backends load lazily, by kind.
"""

from __future__ import annotations

# not typing.TYPE_CHECKING: importing typing costs more than the rest of `import core` (its
# budget: 1.5x `python -c pass`); mypy and pyright treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from core.config import load_config
    from core.errors import (
        ActionFailed,
        ActionNotSupported,
        AmbiguousSession,
        BackendUnavailable,
        ConfigError,
        LockBusy,
        SessionNotFound,
        SesstuiError,
        UnsafeOperation,
        UsageError,
    )
    from core.inventory import Inventory, Snapshot
    from core.model import (
        BackendHealth,
        Capability,
        HealthStatus,
        LogLine,
        LogSource,
        PlanEntry,
        PrunePlan,
        PrunePolicy,
        PruneReason,
        PruneResult,
        Session,
        SessionRef,
        SizeInfo,
        State,
    )

_WHERE: dict[str, str] = {
    "load_config": "core.config",
    "Inventory": "core.inventory",
    "Snapshot": "core.inventory",
    "ActionFailed": "core.errors",
    "ActionNotSupported": "core.errors",
    "AmbiguousSession": "core.errors",
    "BackendUnavailable": "core.errors",
    "ConfigError": "core.errors",
    "LockBusy": "core.errors",
    "SessionNotFound": "core.errors",
    "SesstuiError": "core.errors",
    "UnsafeOperation": "core.errors",
    "UsageError": "core.errors",
    "BackendHealth": "core.model",
    "Capability": "core.model",
    "HealthStatus": "core.model",
    "LogLine": "core.model",
    "LogSource": "core.model",
    "PlanEntry": "core.model",
    "PrunePlan": "core.model",
    "PrunePolicy": "core.model",
    "PruneReason": "core.model",
    "PruneResult": "core.model",
    "Session": "core.model",
    "SessionRef": "core.model",
    "SizeInfo": "core.model",
    "State": "core.model",
}

__all__ = [
    "ActionFailed",
    "ActionNotSupported",
    "AmbiguousSession",
    "BackendHealth",
    "BackendUnavailable",
    "Capability",
    "ConfigError",
    "HealthStatus",
    "Inventory",
    "LockBusy",
    "LogLine",
    "LogSource",
    "PlanEntry",
    "PrunePlan",
    "PrunePolicy",
    "PruneReason",
    "PruneResult",
    "Session",
    "SessionNotFound",
    "SessionRef",
    "SesstuiError",
    "SizeInfo",
    "Snapshot",
    "State",
    "UnsafeOperation",
    "UsageError",
    "load_config",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
