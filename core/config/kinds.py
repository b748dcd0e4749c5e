"""The backend kinds: each one a package that declares itself in its ``schema`` module.

A kind's ``schema`` module defines its record (a ``BackendConfig`` subclass,
the declaration of its keys) and ``KIND = Kind(name, schema, build)``, where
``build(config, context)`` makes the backend from one entry and whatever else
it needs from the ``BuildContext``.  ``KIND_MODULES`` names those modules; a
kind's module is imported only when a configuration names the kind (or a
backend of it is built), so ``import core`` never loads any.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.records import AppConfig, BackendConfig, SessionSpec
    from core.kv.providers import MemoryStores

# kind name -> the module that declares it (in the order error messages list kinds)
KIND_MODULES: dict[str, str] = {
    "dirs": "core.dirs.schema",
    "tmux": "core.tmux.schema",
    "docker": "core.docker.schema",
    "kv": "core.kv.schema",
    "json": "core.jsonstore.schema",
}

KNOWN_KINDS: tuple[str, ...] = tuple(KIND_MODULES)
"""Backend kinds this version can configure."""


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a kind's ``build`` may use besides its own entry: the whole configuration."""

    backends: tuple[BackendConfig, ...] = ()
    sessions: Mapping[str, SessionSpec] = field(default_factory=dict)
    state_dir: Path | None = None  # None = the default (core.paths.state_dir())
    # the in-process stores of `provider: memory` KV backends, owned by the
    # caller (None: each such backend gets a new, empty store)
    memory: MemoryStores | None = None

    @classmethod
    def of(
        cls,
        app: AppConfig | None,
        state_dir: Path | None = None,
        *,
        memory: MemoryStores | None = None,
    ) -> BuildContext:
        if app is None:
            return cls(state_dir=state_dir, memory=memory)
        return cls(app.backends, app.sessions, state_dir, memory)

    def specs_for(self, backend: str) -> dict[str, SessionSpec]:
        """The session specs that run on the backend named ``backend``."""
        return {n: s for n, s in self.sessions.items() if s.backend == backend}


@dataclass(frozen=True, slots=True)
class Kind:
    """One backend kind: its name, its record (the schema) and its backend factory."""

    name: str
    schema: type[BackendConfig]
    build: Callable[[BackendConfig, BuildContext], Backend]


def kind(name: str) -> Kind:
    """The declaration of kind ``name``; a ConfigError for an unknown kind."""
    module = KIND_MODULES.get(name)
    if module is None:
        raise ConfigError(f"unknown backend kind '{name}'; known kinds: {', '.join(KNOWN_KINDS)}")
    declared = importlib.import_module(module).KIND
    assert isinstance(declared, Kind)  # noqa: S101 -- every schema module declares one
    return declared
