"""Find, read and validate sesstui's YAML configuration.

``load_config()`` is the entry point: it finds the file (``--config`` >
``$SESSTUI_CONFIG`` > ``./sesstui.yml`` > ``~/.config/sesstui/config.yml``),
parses it with a safe, line-aware loader that rejects duplicate keys and
custom tags, expands ``${VAR}`` / ``${VAR:-default}`` in string values, and
validates the result strictly against the schemas: the records of
:mod:`core.config.records` and each backend kind's ``schema`` module
(``core.dirs.schema``, ``core.tmux.schema``, ...).  Without a file it returns
``default_config()``.

Every problem is a ``ConfigError`` naming the file, the line and the dotted key
path (``backends[0].retention.max_age_days``), with a message that says what to
write instead.  Secrets never reach a message: everything goes through
``redact()``.  ``config_to_dict()`` gives the effective configuration back as
plain data (what ``sesstui config show`` prints); its output is itself a valid
configuration file.

The modules:

* :mod:`core.config.discovery` -- which file;
* :mod:`core.config.loader` -- the line-aware YAML loader (themes use it too)
  and ``${VAR}`` expansion;
* :mod:`core.config.fields`, :mod:`core.config.schema` -- how a schema declares
  its keys, and reading, checking and writing records from those declarations;
* :mod:`core.config.records` -- the records every configuration has;
* :mod:`core.config.kinds` -- the backend kinds and how each is built;
* :mod:`core.config.sessions`, :mod:`core.config.ui`, :mod:`core.config.load`
  -- the sections, and the whole.

Names here load on first use: ``import core.config`` loads neither msgspec nor
any kind's schema; reading a configuration does.  Headless: no UI libraries.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: see core/__init__.py
if TYPE_CHECKING:
    from core.config.discovery import (
        CONFIG_ENV,
        LOCAL_CONFIG_NAME,
        USER_CONFIG_NAME,
        discover_config,
    )
    from core.config.kinds import KNOWN_KINDS
    from core.config.load import config_to_dict, default_config, load_config
    from core.config.records import AppConfig, BackendConfig, Origin, SessionSpec, UIConfig
    from core.redaction import is_secret_key, redact

__all__ = [
    "CONFIG_ENV",
    "KNOWN_KINDS",
    "LOCAL_CONFIG_NAME",
    "USER_CONFIG_NAME",
    "AppConfig",
    "BackendConfig",
    "Origin",
    "SessionSpec",
    "UIConfig",
    "config_to_dict",
    "default_config",
    "discover_config",
    "is_secret_key",
    "load_config",
    "redact",
]

_WHERE = {
    "CONFIG_ENV": "core.config.discovery",
    "LOCAL_CONFIG_NAME": "core.config.discovery",
    "USER_CONFIG_NAME": "core.config.discovery",
    "discover_config": "core.config.discovery",
    "KNOWN_KINDS": "core.config.kinds",
    "config_to_dict": "core.config.load",
    "default_config": "core.config.load",
    "load_config": "core.config.load",
    "AppConfig": "core.config.records",
    "BackendConfig": "core.config.records",
    "Origin": "core.config.records",
    "SessionSpec": "core.config.records",
    "UIConfig": "core.config.records",
    "is_secret_key": "core.redaction",
    "redact": "core.redaction",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
