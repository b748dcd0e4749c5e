"""Themes from YAML files: the bundled ones and the user's own.

A theme file holds the fields of a Textual ``Theme`` plus ``variables``
(custom ones such as ``state-running`` included).  User themes live in
``<config dir>/themes/*.yml`` (``~/.config/sesstui/themes``); each needs a
name of its own: a user theme named like a bundled one, or two user files
with the same name, is a :class:`~core.errors.ConfigError` naming the file
and line.  Every error in a theme file names the file, the line and the key,
so a typo never surfaces later as a crash while the app draws.

:class:`ThemePicker` is the command palette's theme search, limited to these
themes (Textual's own lists every built-in theme too), with a live preview.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from textual import on
from textual.color import Color, ColorParseError
from textual.command import Command, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.theme import Theme
from textual.widgets import OptionList

from core.config.loader import Node, Wording, load_tree
from core.errors import ConfigError
from core.paths import config_dir

DEFAULT_THEME = "sesstui-dark"
BUNDLED = "bundled"  # the source of a bundled theme in ThemeSet.sources

# every custom variable the app's CSS uses, with a fallback so a user theme
# that omits some still loads
VARIABLE_DEFAULTS: dict[str, str] = {
    "state-active": "$success",
    "state-running": "$success",
    "state-idle": "$foreground-muted",
    "state-stopped": "$foreground-muted",
    "state-ended": "$foreground-muted",
    "state-terminated": "$foreground-muted",
    "state-invalidated": "$foreground-muted",
    "state-expired": "$warning",
    "state-corrupt": "$error",
    "state-unknown": "$foreground-muted",
    "chip-ok": "$success",
    "chip-degraded": "$warning",
    "chip-down": "$error",
    "log-notice": "$warning",
    "log-match": "$warning",  # search hits in the log pane (drawn reversed)
    "log-match-current": "$accent",  # the hit n/N went to
}

_COLOURS = (
    "primary", "secondary", "accent", "warning", "error", "success",
    "foreground", "background", "surface", "panel", "boost",
)  # fmt: skip
_FLAGS = ("dark", "ansi")
_NUMBERS = ("luminosity_spread", "text_alpha")
_FIELDS = {"name", *_COLOURS, *_FLAGS, *_NUMBERS, "variables"}


# the loader's words for the two problems theme files have always phrased this way
_WORDING = Wording(
    syntax="not valid YAML: {problem}",
    duplicate="duplicate key (first on line {first}); keep one",
)


def _mapping(node: Node, source: str, key: str | None) -> dict[str, Node]:
    """The entries of a mapping node by key (the loader refused duplicates)."""
    if not isinstance(node.value, dict):
        what = "must map variable names to values" if key else "a theme file must be a mapping"
        raise ConfigError(f"{what}, as in themes/sesstui-dark.yml", file=source,
                          line=node.line, key=key)  # fmt: skip
    for name, child in node.value.items():
        if not name:
            raise ConfigError("keys must be plain names", file=source, line=child.key_line, key=key)
    return node.value


def _scalar(node: Node, source: str, key: str) -> object:
    if isinstance(node.value, dict | list):
        raise ConfigError("must be a single value", file=source, line=node.line, key=key)
    return node.value  # the safe loader's own rules: true/false, numbers, null, strings


def _colour(value: object, node: Node, source: str, key: str) -> str:
    """A colour Textual can parse, or a ``$variable`` reference."""
    text = str(value) if isinstance(value, str | int) else ""
    if text.startswith("$") and len(text) > 1:
        return text
    try:
        Color.parse(text)
    except ColorParseError:
        what = "has no value" if value is None else f"{value!r} is not a colour"
        raise ConfigError(
            f"{what}; give a colour, e.g. \"#4EA1F3\", rgb(78,161,243), ansi_bright_blue or a "
            "$variable (quote hex colours: YAML reads # as a comment)",
            file=source, line=node.line, key=key,
        ) from None  # fmt: skip
    return text


def theme_from_yaml(text: str, source: str) -> tuple[Theme, int]:
    """Parse one theme file: the theme and the line of its ``name``.

    Errors name the file (``source``), the line and the key.
    """
    root = load_tree(text, source, _WORDING)
    if root is None:
        raise ConfigError("the file is empty; a theme needs at least name and primary", file=source)
    fields = _mapping(root, source, None)
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown theme key; allowed: {', '.join(sorted(_FIELDS))}",
            file=source, line=fields[unknown[0]].line, key=unknown[0],
        )  # fmt: skip
    for required in ("name", "primary"):
        if required not in fields:
            raise ConfigError(
                f"a theme needs `name` and `primary`; `{required}` is missing",
                file=source, line=root.line,
            )  # fmt: skip
    values: dict[str, object] = {}
    for key, node in fields.items():
        if key == "variables":
            continue
        value = _scalar(node, source, key)
        if value is None and key not in ("name", "primary"):
            continue  # an empty optional field: Textual's default
        if key == "name":
            if not isinstance(value, str) or not value.strip() or value != value.strip():
                raise ConfigError(
                    "the name must be a non-empty word, e.g. my-dark",
                    file=source, line=node.line, key=key,
                )  # fmt: skip
        elif key in _COLOURS:
            value = _colour(value, node, source, key)
        elif key in _FLAGS and not isinstance(value, bool):
            raise ConfigError("must be true or false", file=source, line=node.line, key=key)
        elif key in _NUMBERS and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError("must be a number", file=source, line=node.line, key=key)
        values[key] = value
    variables: dict[str, str] = {}
    block = fields.get("variables")
    if block is not None and block.value is not None:
        for name, node in _mapping(block, source, "variables").items():
            key = f"variables.{name}"
            value = _scalar(node, source, key)
            if name in VARIABLE_DEFAULTS:
                value = _colour(value, node, source, key)
            variables[name] = "" if value is None else str(value)
    theme = Theme(**values, variables=variables)  # type: ignore[arg-type]
    return theme, fields["name"].line


def _bundled_folder() -> Traversable:
    # the repo's themes/ folder, linked into the package as tui/bundled_themes
    return resources.files("tui.bundled_themes")


def bundled_themes() -> list[Theme]:
    """The themes shipped in ``themes/``, by file name."""
    folder = _bundled_folder()
    return [
        theme_from_yaml(f.read_text(encoding="utf-8"), f"themes/{f.name}")[0]
        for f in sorted(folder.iterdir(), key=lambda t: t.name)
        if f.name.endswith(".yml")
    ]


def user_theme_dir() -> Path:
    """Where user themes live: ``<config dir>/themes``."""
    return config_dir() / "themes"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"not UTF-8 text (byte {e.start}); save the file as UTF-8", file=str(path)
        ) from e
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", file=str(path)) from e


def _user_theme_files(folder: Path, reserved: Iterable[str]) -> list[tuple[Theme, Path]]:
    if not folder.is_dir():
        return []
    taken = dict.fromkeys(reserved, BUNDLED)
    out: list[tuple[Theme, Path]] = []
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    for path in paths:
        theme, line = theme_from_yaml(_read(path), str(path))
        if theme.name in taken:
            where = taken[theme.name]
            owner = "a bundled theme" if where == BUNDLED else f"the theme in {where}"
            raise ConfigError(
                f"the name {theme.name!r} is already {owner}; give this theme a name of its "
                f"own (e.g. my-{theme.name.removeprefix('sesstui-')})",
                file=str(path), line=line, key="name",
            )  # fmt: skip
        taken[theme.name] = str(path)
        out.append((theme, path))
    return out


def user_themes(folder: Path | None = None, *, reserved: Iterable[str] = ()) -> list[Theme]:
    """The user's themes from ``folder`` (default :func:`user_theme_dir`),
    ``*.yml`` and ``*.yaml`` in name order.

    A theme named like one in ``reserved`` (the bundled ones) or like an
    earlier user file is a :class:`ConfigError` naming the file and line.
    """
    folder = user_theme_dir() if folder is None else folder
    return [theme for theme, _ in _user_theme_files(folder, reserved)]


@dataclass(frozen=True, slots=True)
class ThemeSet:
    """The themes sesstui offers: bundled first, then the user's."""

    themes: tuple[Theme, ...]
    sources: Mapping[str, str]  # theme name -> BUNDLED or the user file's path

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.themes]


def load_themes(user_dir: Path | None = None) -> ThemeSet:
    """Bundled themes plus the user's (from ``user_dir``, default
    :func:`user_theme_dir`); an error in a user theme raises :class:`ConfigError`."""
    bundled = bundled_themes()
    sources = dict.fromkeys((t.name for t in bundled), BUNDLED)
    folder = user_theme_dir() if user_dir is None else user_dir
    user = _user_theme_files(folder, reserved=list(sources))
    for theme, path in user:
        sources[theme.name] = str(path)
    return ThemeSet((*bundled, *(t for t, _ in user)), sources)


def theme_provider(themes: ThemeSet, current: str | None = None) -> type[Provider]:
    """A command palette provider over ``themes`` only; choosing one applies
    it.  ``current`` (the theme in force) is listed first, so the cursor
    starts on it and opening the picker changes nothing."""
    names = sorted(themes.names, key=lambda n: n != current)  # stable: the rest keep order

    class SesstuiThemeProvider(Provider):
        def _commands(self) -> list[tuple[str, str]]:
            out = []
            for name in names:
                help_text = "bundled" if themes.sources[name] == BUNDLED else themes.sources[name]
                out.append((name, f"{help_text} · in use" if name == current else help_text))
            return out

        def _apply(self, name: str) -> None:
            self.app.theme = name

        async def discover(self) -> Hits:
            for name, help_text in self._commands():
                yield DiscoveryHit(name, partial(self._apply, name), text=name, help=help_text)

        async def search(self, query: str) -> Hits:
            matcher = self.matcher(query)
            for name, help_text in self._commands():
                score = matcher.match(name)
                if score > 0:
                    yield Hit(
                        score, matcher.highlight(name), partial(self._apply, name),
                        text=name, help=help_text,
                    )  # fmt: skip

    return SesstuiThemeProvider


class ThemePicker(CommandPalette):
    """The palette's theme search over sesstui's themes, with a live preview:
    the highlighted theme is applied at once; choosing one keeps it, ``esc``
    (or a click outside) puts back ``current``, the theme in force."""

    def __init__(self, themes: ThemeSet, current: str) -> None:
        super().__init__(
            providers=[theme_provider(themes, current)], placeholder="Search for themes…"
        )
        self._names = frozenset(themes.names)
        self._before = current
        self._chosen: str | None = None

    def on_unmount(self) -> None:
        # the theme before may be one of Textual's (ui.theme: nord): no preview check
        target = self._chosen or self._before
        if self.app.theme != target:
            self.app.theme = target

    @on(OptionList.OptionHighlighted)
    def _preview_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # runs before CommandPalette's own handler, which stops the event
        if isinstance(event.option, Command) and event.option.hit.text:
            self.preview(event.option.hit.text)

    @on(OptionList.OptionSelected)
    def _remember_choice(self, event: OptionList.OptionSelected) -> None:
        if isinstance(event.option, Command) and event.option.hit.text:
            self._chosen = event.option.hit.text

    def preview(self, name: str) -> None:
        """Apply ``name`` now, when it is one of this picker's themes."""
        if name in self._names and self.app.theme != name:
            self.app.theme = name
