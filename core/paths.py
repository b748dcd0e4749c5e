"""Where sesstui keeps its files, following the XDG base directory rules.

Each function reads the environment when called (never at import), so a test or
a caller that changes ``XDG_*`` or ``HOME`` sees the change at once.  Pass
``env`` to resolve against a mapping other than ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "sesstui"


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's home: ``$HOME`` from ``env`` when set, else the account's home."""
    environ = os.environ if env is None else env
    home = environ.get("HOME", "")
    return Path(home) if home else Path.home()


def _xdg(variable: str, fallback: str, env: Mapping[str, str] | None) -> Path:
    environ = os.environ if env is None else env
    value = environ.get(variable, "")
    # The XDG spec says a relative value is invalid and must be ignored, the
    # same as an empty one.
    if value and Path(value).is_absolute():
        return Path(value) / APP_NAME
    return home_dir(environ) / fallback / APP_NAME


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/sesstui``, default ``~/.config/sesstui``."""
    return _xdg("XDG_CONFIG_HOME", ".config", env)


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/sesstui``, default ``~/.local/state/sesstui``."""
    return _xdg("XDG_STATE_HOME", ".local/state", env)


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/sesstui``, default ``~/.local/share/sesstui``."""
    return _xdg("XDG_DATA_HOME", ".local/share", env)
