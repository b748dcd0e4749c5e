"""Which configuration file to read: ``--config`` > ``$SESSTUI_CONFIG`` >
``./sesstui.yml`` > ``~/.config/sesstui/config.yml``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from core import paths
from core.errors import ConfigError
from core.redaction import redact

CONFIG_ENV = "SESSTUI_CONFIG"
"""Environment variable naming the configuration file."""

LOCAL_CONFIG_NAME = "sesstui.yml"
"""A file of this name in the working directory is picked up automatically."""

USER_CONFIG_NAME = "config.yml"
"""The per-user file inside ``paths.config_dir()``."""


def expand_home(text: str, env: Mapping[str, str]) -> str:
    """``~`` and ``~/x`` against ``env``'s HOME; ``~user`` the usual way."""
    if text == "~" or text.startswith("~/"):
        return str(paths.home_dir(env)) + text[1:]
    if text.startswith("~"):
        return os.path.expanduser(text)  # noqa: PTH111 -- ~user has no pathlib form
    return text


def _existing_file(path: Path, named_by: str) -> Path:
    if path.is_dir():
        raise ConfigError(
            f"is a directory, not a YAML file (named by {named_by}); name the file itself",
            file=redact(str(path)),
        )
    if not path.exists():
        raise ConfigError(
            f"config file does not exist (named by {named_by}); fix the path, "
            f"or drop it to use the usual search",
            file=redact(str(path)),
        )
    return path


def discover_config(
    explicit: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Path | None:
    """The configuration file to read, or None when there is none.

    Order: ``explicit`` (the ``--config`` option) > ``$SESSTUI_CONFIG`` >
    ``./sesstui.yml`` > ``config_dir()/config.yml``.  A file named by
    ``explicit`` or ``$SESSTUI_CONFIG`` must exist (``ConfigError`` otherwise,
    never a silent fall-through); an empty ``$SESSTUI_CONFIG`` counts as unset.
    """
    environ = os.environ if env is None else env
    if explicit is not None:
        return _existing_file(Path(expand_home(str(explicit), environ)), "--config")
    from_env = environ.get(CONFIG_ENV, "")
    if from_env:
        return _existing_file(Path(expand_home(from_env, environ)), f"${CONFIG_ENV}")
    local = Path.cwd() / LOCAL_CONFIG_NAME
    if local.exists():
        return local
    user = paths.config_dir(environ) / USER_CONFIG_NAME
    if user.exists():
        return user
    return None
