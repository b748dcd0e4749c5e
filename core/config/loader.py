"""The line-aware YAML loader shared by configuration and theme files.

``load_tree(text, file)`` parses one document with a safe loader into a tree of
``Node`` values that know their line and dotted key path, rejecting duplicate
keys, custom tags (``!!python/...``) and alias bombs.  ``expand_tree`` applies
``${VAR}`` / ``${VAR:-default}`` / ``$$`` to every string value (never to
keys).  ``read_text`` reads a file as UTF-8, naming the line of a bad byte.

Every problem is a ``ConfigError`` with the file, the line and the key path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.redaction import redact

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Aliases can multiply a small file into a huge tree ("billion laughs"); a
# configuration never needs anywhere near this many values.
_MAX_NODES = 100_000


class Expanded(str):
    """A string that ``${VAR}`` expansion produced.

    Number and boolean keys accept one (``timeout: ${T:-5}``), where a literal
    string (``timeout: "5"``) stays a type error.
    """

    __slots__ = ()


@dataclass(slots=True)
class Node:
    """One parsed value and where it sits.

    ``value`` is a ``dict[str, Node]``, a ``list[Node]`` or a scalar.
    ``line`` is the line of the value, ``key_line`` the line of the key (or
    list item) that holds it; ``text`` is the scalar as written in the file.
    """

    value: object
    line: int
    key_line: int
    path: str
    text: str | None = None

    def child(self, key: str) -> Node | None:
        """The value under ``key`` of a mapping node (None when absent or not a mapping)."""
        return self.value.get(key) if isinstance(self.value, dict) else None


@dataclass(frozen=True, slots=True)
class Wording:
    """How the loader phrases the two problems whose words differ between files
    (configuration files and theme files keep their established messages)."""

    syntax: str = (
        "YAML syntax error: {problem} (column {column}){context}; "
        "check indentation, colons and quoting"
    )
    duplicate: str = "duplicate key '{key}' (first at line {first}); keep only one"


CONFIG_WORDING = Wording()


def join_key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class LineLoader(yaml.SafeLoader):
    """A safe loader that builds ``Node`` trees and rejects duplicate keys.

    Scalars are constructed by the safe constructor (so only plain YAML types
    appear); mappings and sequences are walked here, which is where the key path
    and the line of every value are known.  Mapping keys are taken as written
    (``on:`` is the key "on", not True).  Merge keys (``<<: *anchor``) work;
    keys written in the mapping itself win over merged ones.
    """

    def __init__(self, text: str, file: str, wording: Wording = CONFIG_WORDING) -> None:
        super().__init__(text)
        self._file = file
        self._wording = wording
        self._open: set[int] = set()  # nodes being built, to catch self-referencing aliases
        self._count = 0

    def tree(self) -> Node | None:
        """The document as a ``Node`` tree; None for an empty document."""
        try:
            root = self.get_single_node()
        except yaml.YAMLError as e:
            raise yaml_error(e, self._file, self._wording) from None
        finally:
            self.dispose()
        if root is None:
            return None
        return self._build(root, "", root.start_mark.line + 1)

    def _fail(self, message: str, line: int, key: str) -> ConfigError:
        return ConfigError(redact(message), file=self._file, line=line, key=key or None)

    def _build(self, node: yaml.Node, path: str, key_line: int) -> Node:
        line = node.start_mark.line + 1
        self._count += 1
        if self._count > _MAX_NODES:
            raise self._fail(
                f"more than {_MAX_NODES} values (aliases expanding too far?); simplify the file",
                line,
                path,
            )
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.construct_object(node)
            except yaml.YAMLError as e:
                problem = getattr(e, "problem", None) or str(e)
                raise self._fail(
                    f"cannot read this value: {problem}; custom tags are not supported",
                    line,
                    path,
                ) from None
            return Node(value, line, key_line, path, node.value)
        if id(node) in self._open:
            raise self._fail("an alias refers to the value that contains it", line, path)
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                items = [
                    self._build(child, f"{path}[{i}]", child.start_mark.line + 1)
                    for i, child in enumerate(node.value)
                ]
                return Node(items, line, key_line, path)
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return Node(self._mapping(node, path), line, key_line, path)
        finally:
            self._open.discard(id(node))
        raise self._fail(f"unsupported tag {node.tag}; write plain YAML values", line, path)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Node]:
        entries: dict[str, Node] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(
                    "a key must be a plain name, not a list or mapping", key_line, path
                )
            key = str(key_node.value)
            child_path = join_key(path, key)
            first = entries.get(key)
            if first is not None:
                raise self._fail(
                    self._wording.duplicate.format(key=key, first=first.key_line),
                    key_line,
                    child_path,
                )
            entries[key] = self._build(value_node, child_path, key_line)
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for item in sources:
                line = item.start_mark.line + 1
                if not isinstance(item, yaml.MappingNode) or id(item) in self._open:
                    raise self._fail("'<<' must merge a mapping (<<: *anchor)", line, path)
                self._open.add(id(item))
                try:
                    for key, child in self._mapping(item, path).items():
                        entries.setdefault(key, child)
                finally:
                    self._open.discard(id(item))
        return entries


def yaml_error(error: yaml.YAMLError, file: str, wording: Wording = CONFIG_WORDING) -> ConfigError:
    """A parser error as a ConfigError at the line the parser names."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or "invalid YAML"
        context = ""
        if error.context:
            context = f" {error.context}"
            if error.context_mark is not None and error.context_mark.line != mark.line:
                context += f" (started at line {error.context_mark.line + 1})"
        return ConfigError(
            redact(wording.syntax.format(problem=problem, column=mark.column + 1, context=context)),
            file=file,
            line=mark.line + 1,
        )
    return ConfigError(redact(f"YAML error: {error}"), file=file)


# ---------------------------------------------------------------------------
# ${VAR} expansion
# ---------------------------------------------------------------------------

_REFERENCE_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)


def expand_text(text: str, env: Mapping[str, str], fail: Callable[[str], ConfigError]) -> str:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` in one string value.

    ``:-`` takes the default when the variable is unset or empty (as the shell
    does); the default is literal text.  A ``$`` followed by anything else is
    kept as it is.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    substituted = False
    i = 0
    while (j := text.find("$", i)) >= 0:
        out.append(text[i:j])
        after = text[j + 1 : j + 2]
        if after == "$":
            out.append("$")
            i = j + 2
            continue
        if after != "{":
            out.append("$")
            i = j + 1
            continue
        end = text.find("}", j + 2)
        if end < 0:
            raise fail("unterminated '${'; close it with '}', or write '$$' for a literal '$'")
        body = text[j + 2 : end]
        match = _REFERENCE_RE.fullmatch(body)
        if match is None:
            raise fail(
                f"bad variable reference '${{{body}}}'; write ${{NAME}} or ${{NAME:-default}}"
                f" (names: letters, digits, '_'), or '$$' for a literal '$'"
            )
        name, default = match["name"], match["default"]
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise fail(
                    f"environment variable {name} is not set; set it, or give a default "
                    f"in the file, e.g. ${{NAME:-fallback}}"
                )
            value = default
        out.append(value)
        substituted = True
        i = end + 1
    out.append(text[i:])
    result = "".join(out)
    return Expanded(result) if substituted else result


def expand_tree(node: Node, env: Mapping[str, str], file: str) -> None:
    """Expand ``${VAR}`` in every string value (never in keys) of the tree."""
    value = node.value
    if isinstance(value, dict):
        for child in value.values():
            expand_tree(child, env, file)
    elif isinstance(value, list):
        for child in value:
            expand_tree(child, env, file)
    elif isinstance(value, str):

        def fail(message: str) -> ConfigError:
            return ConfigError(redact(message), file=file, line=node.line, key=node.path or None)

        node.value = expand_text(value, env, fail)


def load_tree(text: str, file: str, wording: Wording = CONFIG_WORDING) -> Node | None:
    """One YAML document as a ``Node`` tree; None for an empty document."""
    return LineLoader(text, file, wording).tree()


def read_text(path: Path, file: str) -> str:
    """The file as text (UTF-8, a BOM allowed); a ConfigError naming ``file`` otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file does not exist; check the path", file=file) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a YAML file; name the file", file=file) from None
    except OSError as e:
        raise ConfigError(
            redact(f"cannot read the file ({e.strerror}); check its permissions"), file=file
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            "the file is not UTF-8 text; save it as UTF-8", file=file, line=line
        ) from None


def describe(value: object) -> str:
    """What a value is, for 'expected X, got Y' (never echoes text: it may be secret)."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date):
        return "a date (quote it to make it text)"
    return f"a {type(value).__name__}"
