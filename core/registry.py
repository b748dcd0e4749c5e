"""Builds backend objects from configuration.

Backend classes load lazily, by kind, so ``import core`` stays cheap and never
pulls in docker, redis or libtmux for a kind nobody configured.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.backend import Backend
from core.errors import ConfigError
from core.settings import AppConfig, BackendConfig, DirsBackendConfig

if TYPE_CHECKING:
    from core.kv.providers import MemoryStores

# kind -> "module:Class"; later issues add tmux, docker, kv and json here.
_FACTORIES: dict[str, str] = {
    "dirs": "core.dirs.backend:DirsBackend",
    "tmux": "core.tmux.backend:TmuxBackend",
    "docker": "core.docker.backend:DockerBackend",
    "kv": "core.kv.backend:KvBackend",
    "json": "core.jsonstore.backend:JsonBackend",
}


def known_kinds() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def factory_for(kind: str) -> Callable[[BackendConfig], Backend]:
    """The constructor for ``kind``; a ConfigError for an unknown kind."""
    target = _FACTORIES.get(kind)
    if target is None:
        raise ConfigError(f"unknown backend kind '{kind}'; known kinds: {', '.join(known_kinds())}")
    module_name, _, attr = target.partition(":")
    factory: Callable[[BackendConfig], Backend] = getattr(
        importlib.import_module(module_name), attr
    )
    return factory


def build_backend(
    config: BackendConfig, app: AppConfig | None = None, *, memory: MemoryStores | None = None
) -> Backend:
    """The backend for one entry; ``app`` gives the context some kinds need
    (a tmux backend makes session directories in the configured dirs
    backends); ``memory`` holds the stores of ``provider: memory`` KV
    backends (see :class:`core.kv.providers.MemoryStores`; none: each gets a
    new, empty store)."""
    if config.kind == "tmux" and app is not None:
        from core.tmux.backend import TmuxBackend

        dirs = {b.name: b for b in app.backends if isinstance(b, DirsBackendConfig)}
        return TmuxBackend(config, session_dirs=dirs)
    if config.kind == "docker" and app is not None:
        from core.docker.backend import DockerBackend

        specs = {n: s for n, s in app.sessions.items() if s.backend == config.name}
        return DockerBackend(config, specs=specs)
    if config.kind == "kv" and memory is not None:
        from core.kv.backend import KvBackend

        return KvBackend(config, stores=memory)
    return factory_for(config.kind)(config)


def build_backends(config: AppConfig, *, memory: MemoryStores | None = None) -> list[Backend]:
    """One backend per configured entry, in config order (``memory``: see
    :func:`build_backend`)."""
    return [build_backend(b, config, memory=memory) for b in config.backends]
