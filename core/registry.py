"""Builds backend objects from configuration.

Every kind is built the same way: its ``schema`` module declares a
``build(config, context)`` (:mod:`core.config.kinds`) that takes what it needs
from the ``BuildContext`` (the tmux kind the dirs backends, the docker kind its
session specs).  Kinds load lazily, so ``import core`` stays cheap and never
pulls in docker, redis or libtmux for a kind nobody configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.config.kinds import KNOWN_KINDS, BuildContext, kind

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.records import AppConfig, BackendConfig
    from core.kv.providers import MemoryStores


def known_kinds() -> tuple[str, ...]:
    return tuple(sorted(KNOWN_KINDS))


def build_backend(
    config: BackendConfig,
    app: AppConfig | None = None,
    *,
    state_dir: Path | None = None,
    memory: MemoryStores | None = None,
) -> Backend:
    """The backend for one entry; ``app`` is the context some kinds need
    (a tmux backend makes session directories in the configured dirs
    backends); ``memory`` holds the stores of ``provider: memory`` KV
    backends (see :class:`core.kv.providers.MemoryStores`; none: each gets a
    new, empty store)."""
    return kind(config.kind).build(config, BuildContext.of(app, state_dir, memory=memory))


def build_backends(
    config: AppConfig, *, state_dir: Path | None = None, memory: MemoryStores | None = None
) -> list[Backend]:
    """One backend per configured entry, in config order (``memory``: see
    :func:`build_backend`)."""
    context = BuildContext.of(config, state_dir, memory=memory)
    return [kind(b.kind).build(b, context) for b in config.backends]
