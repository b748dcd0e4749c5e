"""Themes from YAML files: the bundled ones and the user's own.

A theme file holds the fields of a Textual ``Theme`` plus ``variables``
(custom ones such as ``state-active`` included).  User themes live in
``<config dir>/themes/*.yml`` and may override bundled ones by name.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from textual.theme import Theme

from core.errors import ConfigError
from core.paths import config_dir

DEFAULT_THEME = "sesstui-dark"

# every custom variable the app's CSS uses, with a fallback so a user theme
# that omits some still loads
VARIABLE_DEFAULTS: dict[str, str] = {
    "state-active": "$success",
    "state-running": "$success",
    "state-idle": "$foreground-muted",
    "state-stopped": "$foreground-muted",
    "state-ended": "$foreground-muted",
    "state-expired": "$warning",
    "state-corrupt": "$error",
    "state-unknown": "$foreground-muted",
    "chip-ok": "$success",
    "chip-degraded": "$warning",
    "chip-down": "$error",
    "log-notice": "$warning",
}

_FIELDS = {
    "name", "dark", "ansi", "primary", "secondary", "accent", "warning", "error", "success",
    "foreground", "background", "surface", "panel", "boost", "luminosity_spread",
    "text_alpha", "variables",
}  # fmt: skip


def theme_from_yaml(text: str, source: str) -> Theme:
    """Parse one theme file; errors name the file and the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            f"not valid YAML: {getattr(e, 'problem', e)}", file=source, line=line
        ) from e
    if not isinstance(data, dict):
        raise ConfigError("a theme file must be a mapping of theme fields", file=source)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown theme keys {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}",
            file=source,
        )
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ConfigError("a theme needs a `name` and a `primary` colour", file=source)
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ConfigError("`variables` must be a mapping", file=source, key="variables")
    fields = {k: v for k, v in data.items() if k != "variables"}
    return Theme(**fields, variables={str(k): str(v) for k, v in variables.items()})


def _bundled_folder() -> Traversable:
    try:
        return resources.files("sesstui_themes")
    except ModuleNotFoundError:
        # running from a source checkout: the folder sits beside tui/
        return Path(__file__).resolve().parent.parent / "themes"


def bundled_themes() -> list[Theme]:
    folder = _bundled_folder()
    return [
        theme_from_yaml(f.read_text(encoding="utf-8"), f"themes/{f.name}")
        for f in sorted(folder.iterdir(), key=lambda t: t.name)
        if f.name.endswith(".yml")
    ]


def user_themes(folder: Path | None = None) -> list[Theme]:
    folder = folder or config_dir() / "themes"
    if not folder.is_dir():
        return []
    return [
        theme_from_yaml(p.read_text(encoding="utf-8"), str(p)) for p in sorted(folder.glob("*.yml"))
    ]
