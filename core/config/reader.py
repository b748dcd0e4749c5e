"""Reading parsed YAML into typed values, with errors at the right line.

``Context`` knows the file, its folder and the environment, and turns one
``Node`` into a typed value (text, flag, number, path, a map of strings) or a
``ConfigError`` that names the file, the line, the key path and what to write.
``Section`` reads a mapping key by key (absent and null keys mean "default").
The schema reader (:mod:`core.config.schema`) and the hand-written parts (the
session specs, views) both use them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.config.discovery import expand_home
from core.config.loader import Expanded, Node, describe, join_key
from core.config.records import Origin
from core.errors import ConfigError
from core.redaction import redact

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Session names become tmux session and container names: tmux reads '.' and ':'
# in a target as window/pane separators, so they are left out here.
SESSION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
TRUE_WORDS = frozenset({"true", "yes", "on"})
FALSE_WORDS = frozenset({"false", "no", "off"})


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {hint}allowed: {', '.join(allowed)}"


@dataclass(frozen=True, slots=True)
class Context:
    """What validation needs besides the tree: file name, config dir, environment."""

    file: str
    base_dir: Path
    env: Mapping[str, str]

    def error(self, message: str, node: Node, *, at_key: bool = False) -> ConfigError:
        line = node.key_line if at_key else node.line
        return ConfigError(redact(message), file=self.file, line=line, key=node.path or None)

    def origin(self, node: Node) -> Origin:
        return Origin(self.file, node.key_line, node.path)

    # -- converters: one node -> one typed value, or a ConfigError ------------

    def text(self, node: Node, example: str, *, allow_empty: bool = True) -> str:
        if not isinstance(node.value, str):
            raise self.error(f"expected text, e.g. {example}; got {describe(node.value)}", node)
        if not allow_empty and not node.value:
            raise self.error(f"must not be empty; e.g. {example}", node)
        return str(node.value)  # a plain str, also for Expanded

    def scalar_text(self, node: Node, example: str) -> str:
        """Text, or a number/boolean/date taken exactly as written (``1.10`` stays "1.10")."""
        if isinstance(node.value, str):
            return str(node.value)
        if node.value is None or isinstance(node.value, dict | list) or node.text is None:
            raise self.error(f"expected text, e.g. {example}; got {describe(node.value)}", node)
        return node.text

    def flag(self, node: Node) -> bool:
        value = node.value
        if isinstance(value, bool):
            return value
        if isinstance(value, Expanded):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        raise self.error(f"expected true or false; got {describe(value)}", node)

    def resolve(self, text: str) -> Path:
        """``text`` as a path: ``~`` expanded, relative to the file's folder."""
        if not text:  # in msgspec's words: the reader adds the example
            raise ValueError("Expected `str` of length >= 1")
        if "\0" in text:
            raise ValueError("a path cannot contain a NUL character")
        path = Path(expand_home(text, self.env))
        return path if path.is_absolute() else self.base_dir / path

    def dec_hook(self, type_: type, obj: object) -> object:
        """msgspec's hook for the types it does not know: paths."""
        if type_ is Path and isinstance(obj, str):
            return self.resolve(obj)
        # in msgspec's words, so the reader rewrites it like its own type errors
        raise TypeError(f"Expected `{type_.__name__}`, got `{type(obj).__name__}`")

    def string_map(self, node: Node, what: str, example: str) -> dict[str, str]:
        """A mapping of names to text (numbers and booleans kept as written)."""
        if not isinstance(node.value, dict):
            raise self.error(
                f"expected a mapping of {what}, e.g. {example}; got {describe(node.value)}", node
            )
        result: dict[str, str] = {}
        for key, child in node.value.items():
            if not key or "=" in key or "\0" in key:
                raise self.error(
                    f"'{key}' cannot be used as a name here; use letters, digits and '_'",
                    child,
                    at_key=True,
                )
            result[key] = self.scalar_text(child, example)
        return result


class Section:
    """A mapping node read key by key; absent and empty (null) keys mean "default"."""

    def __init__(self, node: Node, ctx: Context, what: str, example: str) -> None:
        if not isinstance(node.value, dict):
            raise ctx.error(
                f"expected a mapping ({what}), e.g. {example}; got {describe(node.value)}", node
            )
        self.node = node
        self.entries: dict[str, Node] = node.value
        self.ctx = ctx

    def check_keys(self, allowed: Sequence[str]) -> None:
        for key, child in self.entries.items():
            if key not in allowed:
                raise self.ctx.error(unknown_key(key, allowed), child, at_key=True)

    def get(self, key: str) -> Node | None:
        node = self.entries.get(key)
        return None if node is None or node.value is None else node

    def need(self, key: str, hint: str) -> Node:
        node = self.get(key)
        if node is not None:
            return node
        present = self.entries.get(key)
        if present is not None:
            raise self.ctx.error(f"'{key}' needs a value: {hint}", present, at_key=True)
        missing = Node(None, self.node.line, self.node.key_line, join_key(self.node.path, key))
        raise self.ctx.error(f"missing required key '{key}': {hint}", missing)

    def flag(self, key: str, default: bool) -> bool:
        node = self.get(key)
        return default if node is None else self.ctx.flag(node)
