"""Find, read and validate sesstui's YAML configuration.

``load_config()`` is the entry point: it finds the file (``--config`` >
``$SESSTUI_CONFIG`` > ``./sesstui.yml`` > ``~/.config/sesstui/config.yml``),
parses it with a safe loader that rejects duplicate keys, expands
``${VAR}`` / ``${VAR:-default}`` in parsed string values, and validates the
result strictly into the records of ``core.settings``.  Without a file it
returns ``default_config()``.

Every problem is a ``ConfigError`` naming the file, the line and the dotted key
path (``backends[0].retention.max_age_days``), with a message that says what to
write instead.  Secrets never reach a message: everything goes through
``redact()``.  ``config_to_dict()`` gives the effective configuration back as
plain data (what ``sesstui config show`` prints); its output is itself a valid
configuration file.

This module is headless: it imports ``yaml`` and the standard library only.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import yaml

from core import paths
from core.dirs.safety import unsafe_base
from core.errors import ConfigError
from core.model import PrunePolicy
from core.redaction import MASK as _MASK
from core.redaction import is_secret_key, redact, url_userinfo_problem
from core.settings import (
    AppConfig,
    BackendConfig,
    DirsBackendConfig,
    DockerBackendConfig,
    JsonBackendConfig,
    KvBackendConfig,
    Origin,
    SessionSpec,
    TmuxBackendConfig,
    UIConfig,
)

__all__ = [
    "CONFIG_ENV",
    "KNOWN_KINDS",
    "LOCAL_CONFIG_NAME",
    "USER_CONFIG_NAME",
    "config_to_dict",
    "default_config",
    "discover_config",
    "is_secret_key",
    "load_config",
    "redact",
]

CONFIG_ENV = "SESSTUI_CONFIG"
"""Environment variable naming the configuration file."""

LOCAL_CONFIG_NAME = "sesstui.yml"
"""A file of this name in the working directory is picked up automatically."""

USER_CONFIG_NAME = "config.yml"
"""The per-user file inside ``paths.config_dir()``."""

# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------


def _expand_home(text: str, env: Mapping[str, str]) -> str:
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
        return _existing_file(Path(_expand_home(str(explicit), environ)), "--config")
    from_env = environ.get(CONFIG_ENV, "")
    if from_env:
        return _existing_file(Path(_expand_home(from_env, environ)), f"${CONFIG_ENV}")
    local = Path.cwd() / LOCAL_CONFIG_NAME
    if local.exists():
        return local
    user = paths.config_dir(environ) / USER_CONFIG_NAME
    if user.exists():
        return user
    return None


# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------

# Template records: the defaults live once, in core.settings / core.model.
_BACKEND_DEFAULTS = BackendConfig(name="", kind="")
_DIRS_DEFAULTS = DirsBackendConfig(name="", kind="dirs")
_TMUX_DEFAULTS = TmuxBackendConfig(name="", kind="tmux")
_SPEC_DEFAULTS = SessionSpec(name="", backend="")
_DOCKER_DEFAULTS = DockerBackendConfig(name="", kind="docker")
_KV_DEFAULTS = KvBackendConfig(name="", kind="kv")
_JSON_DEFAULTS = JsonBackendConfig(name="", kind="json")
_UI_DEFAULTS = UIConfig()
_POLICY_DEFAULTS = PrunePolicy()


def _default_backends(env: Mapping[str, str]) -> tuple[BackendConfig, ...]:
    """The backends served when the configuration lists none.

    One entry per kind that works without any setup.  Later kinds add theirs
    here (the default tmux server, Docker from the environment when reachable, a
    JSON store under ``data_dir()``, an in-memory KV store).  Keep the names
    stable: they appear in session refs such as ``runs:<id>``.
    """
    return (
        DirsBackendConfig(
            name="runs",
            kind="dirs",
            origin=Origin(key="backends[0]"),
            base=paths.data_dir(env) / "runs",
            create_base=True,
        ),
        # the default tmux server; with no tmux or no server it shows as such
        TmuxBackendConfig(name="tmux", kind="tmux", origin=Origin(key="backends[1]")),
        *_default_docker(env),
    )


def _default_docker(env: Mapping[str, str]) -> tuple[BackendConfig, ...]:
    """Docker from the environment, when there is one to reach: DOCKER_HOST set,
    or the standard socket present (checked without connecting, so loading the
    configuration stays instant)."""
    if env.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists():
        return (
            DockerBackendConfig(name="docker", kind="docker", origin=Origin(key="backends[2]")),
        )
    return ()


def default_config(env: Mapping[str, str] | None = None) -> AppConfig:
    """The embedded configuration used when no file is found (``source`` is None)."""
    return AppConfig(backends=_default_backends(os.environ if env is None else env))


# ---------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Aliases can multiply a small file into a huge tree ("billion laughs"); a
# configuration never needs anywhere near this many values.
_MAX_NODES = 100_000


class _Expanded(str):
    """A string that ``${VAR}`` expansion produced.

    Number and boolean keys accept one (``timeout: ${T:-5}``), where a literal
    string (``timeout: "5"``) stays a type error.
    """

    __slots__ = ()


@dataclass(slots=True)
class _Node:
    """One parsed value and where it sits.

    ``value`` is a ``dict[str, _Node]``, a ``list[_Node]`` or a scalar.
    ``line`` is the line of the value, ``key_line`` the line of the key (or
    list item) that holds it; ``text`` is the scalar as written in the file.
    """

    value: object
    line: int
    key_line: int
    path: str
    text: str | None = None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _LineLoader(yaml.SafeLoader):
    """A safe loader that builds ``_Node`` trees and rejects duplicate keys.

    Scalars are constructed by the safe constructor (so only plain YAML types
    appear); mappings and sequences are walked here, which is where the key path
    and the line of every value are known.  Mapping keys are taken as written
    (``on:`` is the key "on", not True).  Merge keys (``<<: *anchor``) work;
    keys written in the mapping itself win over merged ones.
    """

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self._file = file
        self._open: set[int] = set()  # nodes being built, to catch self-referencing aliases
        self._count = 0

    def tree(self) -> _Node | None:
        """The document as a ``_Node`` tree; None for an empty document."""
        try:
            root = self.get_single_node()
        except yaml.YAMLError as e:
            raise _yaml_error(e, self._file) from None
        finally:
            self.dispose()
        if root is None:
            return None
        return self._build(root, "", root.start_mark.line + 1)

    def _fail(self, message: str, line: int, key: str) -> ConfigError:
        return ConfigError(redact(message), file=self._file, line=line, key=key or None)

    def _build(self, node: yaml.Node, path: str, key_line: int) -> _Node:
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
            return _Node(value, line, key_line, path, node.value)
        if id(node) in self._open:
            raise self._fail("an alias refers to the value that contains it", line, path)
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                items = [
                    self._build(child, f"{path}[{i}]", child.start_mark.line + 1)
                    for i, child in enumerate(node.value)
                ]
                return _Node(items, line, key_line, path)
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return _Node(self._mapping(node, path), line, key_line, path)
        finally:
            self._open.discard(id(node))
        raise self._fail(f"unsupported tag {node.tag}; write plain YAML values", line, path)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, _Node]:
        entries: dict[str, _Node] = {}
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
            child_path = _join(path, key)
            first = entries.get(key)
            if first is not None:
                raise self._fail(
                    f"duplicate key '{key}' (first at line {first.key_line}); keep only one",
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


def _yaml_error(error: yaml.YAMLError, file: str) -> ConfigError:
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
            redact(
                f"YAML syntax error: {problem} (column {mark.column + 1}){context}; "
                f"check indentation, colons and quoting"
            ),
            file=file,
            line=mark.line + 1,
        )
    return ConfigError(redact(f"YAML error: {error}"), file=file)


# ---------------------------------------------------------------------------
# ${VAR} expansion
# ---------------------------------------------------------------------------

_REFERENCE_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)


def _expand_text(text: str, env: Mapping[str, str], fail: Callable[[str], ConfigError]) -> str:
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
    return _Expanded(result) if substituted else result


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Session names become tmux session and container names: tmux reads '.' and ':'
# in a target as window/pane separators, so they are left out here.
_SESSION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})


def _describe(value: object) -> str:
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


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {hint}allowed: {', '.join(allowed)}"


@dataclass(frozen=True, slots=True)
class _Context:
    """What validation needs besides the tree: file name, config dir, environment."""

    file: str
    base_dir: Path
    env: Mapping[str, str]

    def error(self, message: str, node: _Node, *, at_key: bool = False) -> ConfigError:
        line = node.key_line if at_key else node.line
        return ConfigError(redact(message), file=self.file, line=line, key=node.path or None)

    def origin(self, node: _Node) -> Origin:
        return Origin(self.file, node.key_line, node.path)

    # -- converters: one node -> one typed value, or a ConfigError ------------

    def text(self, node: _Node, example: str, *, allow_empty: bool = True) -> str:
        if not isinstance(node.value, str):
            raise self.error(f"expected text, e.g. {example}; got {_describe(node.value)}", node)
        if not allow_empty and not node.value:
            raise self.error(f"must not be empty; e.g. {example}", node)
        return str(node.value)  # a plain str, also for _Expanded

    def scalar_text(self, node: _Node, example: str) -> str:
        """Text, or a number/boolean/date taken exactly as written (``1.10`` stays "1.10")."""
        if isinstance(node.value, str):
            return str(node.value)
        if node.value is None or isinstance(node.value, dict | list) or node.text is None:
            raise self.error(f"expected text, e.g. {example}; got {_describe(node.value)}", node)
        return node.text

    def flag(self, node: _Node) -> bool:
        value = node.value
        if isinstance(value, bool):
            return value
        if isinstance(value, _Expanded):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise self.error(f"expected true or false; got {_describe(value)}", node)

    def integer(self, node: _Node, example: str, *, minimum: int, unlimited: bool = False) -> int:
        value = node.value
        if isinstance(value, _Expanded) and re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"expected an integer, e.g. {example}; got {_describe(value)}", node)
        if value < minimum and not (unlimited and value == -1):
            limit = f"{minimum} or more" + (", or -1 for no limit" if unlimited else "")
            raise self.error(f"expected {limit}, e.g. {example}; got {value}", node)
        return value

    def number(
        self,
        node: _Node,
        example: str,
        *,
        minimum: float,
        exclusive: bool = False,
        unlimited: bool = False,
    ) -> float:
        value = node.value
        if isinstance(value, _Expanded):
            try:
                value = float(value)
            except ValueError:
                pass
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.error(f"expected a number, e.g. {example}; got {_describe(value)}", node)
        too_small = value <= minimum if exclusive else value < minimum
        if too_small and not (unlimited and value == -1):
            limit = f"more than {minimum:g}" if exclusive else f"{minimum:g} or more"
            if unlimited:
                limit += ", or -1 for no limit"
            raise self.error(f"expected {limit}, e.g. {example}; got {value:g}", node)
        return float(value)

    def path(self, node: _Node, example: str) -> Path:
        """A path: ``~`` expanded, relative to the configuration file's folder."""
        text = self.text(node, example, allow_empty=False)
        if "\0" in text:
            raise self.error("a path cannot contain a NUL character", node)
        path = Path(_expand_home(text, self.env))
        return path if path.is_absolute() else self.base_dir / path

    def base_path(self, node: _Node, example: str) -> Path:
        """A base folder that prune deletes in: a path, refused when it is ``/``,
        the home directory or an ancestor of it (compared as real paths)."""
        path = self.path(node, example)
        why = unsafe_base(path, self.env)
        if why:
            raise self.error(f"refusing base directory: {why}", node, at_key=True)
        return path

    def string_map(self, node: _Node, what: str, example: str) -> dict[str, str]:
        """A mapping of names to text (numbers and booleans kept as written)."""
        if not isinstance(node.value, dict):
            raise self.error(
                f"expected a mapping of {what}, e.g. {example}; got {_describe(node.value)}", node
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


class _Section:
    """A mapping node read key by key; absent and empty (null) keys mean "default"."""

    def __init__(self, node: _Node, ctx: _Context, what: str, example: str) -> None:
        if not isinstance(node.value, dict):
            raise ctx.error(
                f"expected a mapping ({what}), e.g. {example}; got {_describe(node.value)}", node
            )
        self.node = node
        self.entries: dict[str, _Node] = node.value
        self.ctx = ctx

    def check_keys(self, allowed: Sequence[str]) -> None:
        for key, child in self.entries.items():
            if key not in allowed:
                raise self.ctx.error(_unknown_key(key, allowed), child, at_key=True)

    def get(self, key: str) -> _Node | None:
        node = self.entries.get(key)
        return None if node is None or node.value is None else node

    def need(self, key: str, hint: str) -> _Node:
        node = self.get(key)
        if node is not None:
            return node
        present = self.entries.get(key)
        if present is not None:
            raise self.ctx.error(f"'{key}' needs a value: {hint}", present, at_key=True)
        missing = _Node(None, self.node.line, self.node.key_line, _join(self.node.path, key))
        raise self.ctx.error(f"missing required key '{key}': {hint}", missing)

    def text(self, key: str, default: str, example: str, *, allow_empty: bool = True) -> str:
        node = self.get(key)
        return default if node is None else self.ctx.text(node, example, allow_empty=allow_empty)

    def flag(self, key: str, default: bool) -> bool:
        node = self.get(key)
        return default if node is None else self.ctx.flag(node)

    def integer(
        self, key: str, default: int, example: str, *, minimum: int, unlimited: bool = False
    ) -> int:
        node = self.get(key)
        if node is None:
            return default
        return self.ctx.integer(node, example, minimum=minimum, unlimited=unlimited)

    def number(
        self,
        key: str,
        default: float,
        example: str,
        *,
        minimum: float,
        exclusive: bool = False,
        unlimited: bool = False,
    ) -> float:
        node = self.get(key)
        if node is None:
            return default
        return self.ctx.number(
            node, example, minimum=minimum, exclusive=exclusive, unlimited=unlimited
        )

    def section(self, key: str, what: str, example: str) -> _Section | None:
        node = self.get(key)
        return None if node is None else _Section(node, self.ctx, what, example)


# ---------------------------------------------------------------------------
# Backends: common keys + one table entry per kind
# ---------------------------------------------------------------------------


class _CommonFields(TypedDict):
    name: str
    kind: str
    origin: Origin
    protected: bool
    timeout: float


@dataclass(frozen=True, slots=True)
class _Common:
    """The keys every backend has, already validated."""

    name: str
    kind: str
    origin: Origin
    protected: bool
    timeout: float

    def fields(self) -> _CommonFields:
        """The common keyword arguments of every ``*BackendConfig``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "protected": self.protected,
            "timeout": self.timeout,
        }


@dataclass(frozen=True, slots=True)
class _KindSpec:
    """How one backend kind is read from and written back to configuration.

    ``keys`` are the kind's own keys (besides the common ones) in the order
    error messages and ``config_to_dict`` list them.  To add a kind: write a
    ``parse`` and a ``dump`` function and add an entry to ``_KINDS``.
    """

    keys: tuple[str, ...]
    parse: Callable[[_Section, _Common], BackendConfig]
    dump: Callable[[BackendConfig], dict[str, object]]


_COMMON_KEYS = ("name", "kind", "protected", "timeout")


def _days(age: timedelta | None) -> float:
    if age is None:
        return -1
    days = age / timedelta(days=1)
    return int(days) if days.is_integer() else days


def _parse_dirs(sec: _Section, common: _Common) -> BackendConfig:
    ctx = sec.ctx
    d = _DIRS_DEFAULTS
    base = ctx.base_path(
        sec.need("base", "the folder that holds the session dirs, e.g. ~/runs"), "~/runs"
    )
    prefix = sec.text("prefix", d.prefix, "session_")
    if "/" in prefix or "\0" in prefix:
        node = sec.need("prefix", "")
        raise ctx.error("a prefix cannot contain '/'; it starts a directory name", node)
    timestamp_format = sec.text(
        "timestamp_format", d.timestamp_format, "'%Y-%m-%d-%H-%M-%S'", allow_empty=False
    )
    if "/" in datetime(2001, 2, 3, 4, 5, 6).strftime(timestamp_format):
        node = sec.need("timestamp_format", "")
        raise ctx.error(
            "this format puts a '/' in directory names (e.g. %D); use '-' instead", node
        )
    policy = _POLICY_DEFAULTS
    max_sessions, max_age_days = policy.max_sessions, _days(policy.max_age)
    retention = sec.section("retention", "the retention rules", "{max_sessions: 20}")
    if retention is not None:
        retention.check_keys(("max_sessions", "max_age_days"))
        max_sessions = retention.integer(
            "max_sessions", max_sessions, "20", minimum=0, unlimited=True
        )
        max_age_days = retention.number(
            "max_age_days", max_age_days, "10", minimum=0, unlimited=True
        )
    return DirsBackendConfig(
        **common.fields(),
        base=base,
        prefix=prefix,
        timestamp_format=timestamp_format,
        retention=PrunePolicy(
            max_sessions=max_sessions,
            max_age=None if max_age_days == -1 else timedelta(days=max_age_days),
        ),
        log_glob=sec.text("log_glob", d.log_glob, "'*.log'", allow_empty=False),
        create_base=sec.flag("create_base", d.create_base),
    )


def _dump_dirs(cfg: BackendConfig) -> dict[str, object]:
    if not isinstance(cfg, DirsBackendConfig):
        return {}
    return {
        "base": str(cfg.base),
        "prefix": cfg.prefix,
        "timestamp_format": cfg.timestamp_format,
        "retention": {
            "max_sessions": cfg.retention.max_sessions,
            "max_age_days": _days(cfg.retention.max_age),
        },
        "log_glob": cfg.log_glob,
        "create_base": cfg.create_base,
    }


def _parse_tmux(sec: _Section, common: _Common) -> BackendConfig:
    ctx = sec.ctx
    d = _TMUX_DEFAULTS
    name_node, path_node = sec.get("socket_name"), sec.get("socket_path")
    if name_node is not None and path_node is not None:
        raise ctx.error("give socket_name (tmux -L) or socket_path (tmux -S), not both", path_node)
    socket_name = None
    if name_node is not None:
        socket_name = ctx.text(name_node, "work", allow_empty=False)
        if "/" in socket_name:
            raise ctx.error(
                "socket_name is a name, not a path; use socket_path for a path", name_node
            )
    log_dir_node = sec.get("log_dir")
    return TmuxBackendConfig(
        **common.fields(),
        socket_name=socket_name,
        socket_path=None if path_node is None else ctx.path(path_node, "/tmp/work.sock"),
        tmux=sec.text("tmux", d.tmux, "/usr/bin/tmux", allow_empty=False),
        log_dir=None if log_dir_node is None else ctx.path(log_dir_node, "~/tmux-logs"),
    )


def _dump_tmux(cfg: BackendConfig) -> dict[str, object]:
    if not isinstance(cfg, TmuxBackendConfig):
        return {}
    out: dict[str, object] = {"tmux": cfg.tmux}
    if cfg.socket_name is not None:
        out["socket_name"] = cfg.socket_name
    if cfg.socket_path is not None:
        out["socket_path"] = str(cfg.socket_path)
    if cfg.log_dir is not None:
        out["log_dir"] = str(cfg.log_dir)
    return out


# the labels core.docker.specs puts on each container (not imported: this
# module stays yaml + the standard library)
_DOCKER_OWN_LABELS = ("sesstui.session", "sesstui.managed")


def _parse_docker(sec: _Section, common: _Common) -> BackendConfig:
    ctx = sec.ctx
    d = _DOCKER_DEFAULTS
    url_node, context_node = sec.get("base_url"), sec.get("context")
    if url_node is not None and context_node is not None:
        raise ctx.error("give base_url or context, not both", context_node)
    scope = sec.text("scope", d.scope, "labeled", allow_empty=False)
    if scope not in ("labeled", "all"):
        raise ctx.error(
            f"scope must be 'labeled' (containers sesstui labels) or 'all'; got {scope!r}",
            sec.need("scope", ""),
        )
    tls_node, cert_node = sec.get("tls_verify"), sec.get("cert_path")
    labels_node = sec.get("match_labels")
    match_labels: dict[str, str] = {}
    if labels_node is not None:
        match_labels = ctx.string_map(labels_node, "labels to values", "{team: data}")
        assert isinstance(labels_node.value, dict)  # noqa: S101 -- string_map checked it
        for key in _DOCKER_OWN_LABELS:
            if key in match_labels:
                raise ctx.error(
                    f"match_labels cannot name {key}: sesstui sets it on each container it "
                    "starts (scope: labeled filters on sesstui.session already)",
                    labels_node.value[key],
                    at_key=True,
                )
    return DockerBackendConfig(
        **common.fields(),
        base_url=None
        if url_node is None
        else ctx.text(url_node, "unix:///run/docker.sock", allow_empty=False),
        context=None
        if context_node is None
        else ctx.text(context_node, "remote", allow_empty=False),
        tls_verify=None if tls_node is None else ctx.flag(tls_node),
        cert_path=None if cert_node is None else ctx.path(cert_node, "~/.docker"),
        scope=scope,
        shell=sec.text("shell", d.shell, "sh", allow_empty=False),
        docker=sec.text("docker", d.docker, "/usr/bin/docker", allow_empty=False),
        prune_after_days=sec.number(
            "prune_after_days", d.prune_after_days, "1", minimum=0, exclusive=False
        ),
        match_labels=match_labels,
    )


def _dump_docker(cfg: BackendConfig) -> dict[str, object]:
    if not isinstance(cfg, DockerBackendConfig):
        return {}
    out: dict[str, object] = {}
    if cfg.base_url is not None:
        out["base_url"] = cfg.base_url
    if cfg.context is not None:
        out["context"] = cfg.context
    if cfg.tls_verify is not None:
        out["tls_verify"] = cfg.tls_verify
    if cfg.cert_path is not None:
        out["cert_path"] = str(cfg.cert_path)
    out.update(
        scope=cfg.scope, shell=cfg.shell, docker=cfg.docker, prune_after_days=cfg.prune_after_days
    )
    if cfg.match_labels:
        out["match_labels"] = dict(cfg.match_labels)
    return out


_KV_PROVIDERS = {"memory": "memory", "mem": "memory", "inmemory": "memory", "redis": "redis",
                 "redis_store": "redis"}  # fmt: skip


def _parse_kv(sec: _Section, common: _Common) -> BackendConfig:
    ctx = sec.ctx
    d = _KV_DEFAULTS
    provider_text = sec.text("provider", d.provider, "redis", allow_empty=False)
    provider = _KV_PROVIDERS.get(provider_text.lower())
    if provider is None:
        raise ctx.error(
            f"unknown provider {provider_text!r}; "
            "use memory (mem, inmemory) or redis (redis_store)",
            sec.need("provider", ""),
        )
    url_node = sec.get("url")
    url = None
    if url_node is not None:
        url = ctx.text(url_node, "redis://localhost:6379/0")
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ctx.error(
                "url must start with redis://, rediss:// (TLS) or unix:// (a socket)", url_node
            )
        problem = url_userinfo_problem(url)
        if problem:
            raise ctx.error(f"this Redis URL cannot be used as written: {problem}", url_node)
    sandbox_node = sec.get("sandbox")
    return KvBackendConfig(
        **common.fields(),
        provider=provider,
        url=url or None,
        sandbox=None
        if sandbox_node is None
        else ctx.text(sandbox_node, "app-1", allow_empty=False),
        key_prefix=sec.text("key_prefix", d.key_prefix, "session:", allow_empty=False),
        connect_timeout=sec.number(
            "connect_timeout", d.connect_timeout, "2", minimum=0, exclusive=True
        ),
        socket_timeout=sec.number(
            "socket_timeout", d.socket_timeout, "2", minimum=0, exclusive=True
        ),
    )


def _dump_kv(cfg: BackendConfig) -> dict[str, object]:
    if not isinstance(cfg, KvBackendConfig):
        return {}
    out: dict[str, object] = {"provider": cfg.provider}
    if cfg.url is not None:
        out["url"] = cfg.url
    if cfg.sandbox is not None:
        out["sandbox"] = cfg.sandbox
    out.update(
        key_prefix=cfg.key_prefix,
        connect_timeout=cfg.connect_timeout,
        socket_timeout=cfg.socket_timeout,
    )
    return out


def _parse_json(sec: _Section, common: _Common) -> BackendConfig:
    ctx = sec.ctx
    d = _JSON_DEFAULTS
    base = ctx.base_path(
        sec.need("base", "the folder of the JSON session files"), "~/agent-sessions"
    )
    return JsonBackendConfig(
        **common.fields(),
        base=base,
        create_base=sec.flag("create_base", d.create_base),
        prune_after_days=sec.number(
            "prune_after_days", d.prune_after_days, "30", minimum=0, exclusive=False
        ),
    )


def _dump_json(cfg: BackendConfig) -> dict[str, object]:
    if not isinstance(cfg, JsonBackendConfig):
        return {}
    return {
        "base": str(cfg.base),
        "create_base": cfg.create_base,
        "prune_after_days": cfg.prune_after_days,
    }


_KINDS: dict[str, _KindSpec] = {
    "dirs": _KindSpec(
        keys=("base", "prefix", "timestamp_format", "retention", "log_glob", "create_base"),
        parse=_parse_dirs,
        dump=_dump_dirs,
    ),
    "tmux": _KindSpec(
        keys=("socket_name", "socket_path", "tmux", "log_dir"),
        parse=_parse_tmux,
        dump=_dump_tmux,
    ),
    "docker": _KindSpec(
        keys=(
            "base_url",
            "context",
            "tls_verify",
            "cert_path",
            "scope",
            "shell",
            "docker",
            "prune_after_days",
            "match_labels",
        ),
        parse=_parse_docker,
        dump=_dump_docker,
    ),
    "kv": _KindSpec(
        keys=("provider", "url", "sandbox", "key_prefix", "connect_timeout", "socket_timeout"),
        parse=_parse_kv,
        dump=_dump_kv,
    ),
    "json": _KindSpec(
        keys=("base", "create_base", "prune_after_days"),
        parse=_parse_json,
        dump=_dump_json,
    ),
}

_PLANNED_KINDS: tuple[str, ...] = ()

KNOWN_KINDS: tuple[str, ...] = tuple(_KINDS)
"""Backend kinds this version can configure."""


def _parse_backend(node: _Node, ctx: _Context) -> BackendConfig:
    example = "- {name: runs, kind: dirs, base: ~/runs}"
    sec = _Section(node, ctx, "one backend", example)
    known = ", ".join(_KINDS)
    kind_node = sec.need("kind", f"one of {known}")
    kind = ctx.text(kind_node, "dirs")
    spec = _KINDS.get(kind)
    if spec is None:
        if kind in _PLANNED_KINDS:
            message = f"kind '{kind}' is not available in this version yet; known kinds: {known}"
        else:
            message = f"unknown kind '{kind}'; known kinds: {known}"
        raise ctx.error(message, kind_node)
    sec.check_keys(_COMMON_KEYS + spec.keys)
    name_node = sec.need("name", "a short name used in refs, e.g. runs")
    name = ctx.text(name_node, "runs")
    if not _NAME_RE.fullmatch(name):
        raise ctx.error(
            f"invalid backend name '{name}'; use 1-64 letters, digits, '_', '.' or '-', "
            f"starting with a letter or digit (it appears in refs like {{name}}:<id>)",
            name_node,
        )
    common = _Common(
        name=name,
        kind=kind,
        origin=ctx.origin(node),
        protected=sec.flag("protected", _BACKEND_DEFAULTS.protected),
        timeout=sec.number("timeout", _BACKEND_DEFAULTS.timeout, "5", minimum=0, exclusive=True),
    )
    return spec.parse(sec, common)


def _parse_backends(node: _Node, ctx: _Context) -> tuple[BackendConfig, ...]:
    if not isinstance(node.value, list):
        raise ctx.error(
            f"expected a list of backends, e.g. - {{name: runs, kind: dirs, base: ~/runs}}; "
            f"got {_describe(node.value)}",
            node,
        )
    if not node.value:
        raise ctx.error(
            "no backends listed; add one, or remove 'backends' to use the built-in defaults",
            node,
        )
    seen: dict[str, _Node] = {}
    backends: list[BackendConfig] = []
    for item in node.value:
        backend = _parse_backend(item, ctx)
        # _parse_backend accepted the item, so it is a mapping with a name.
        name_node = item.value["name"] if isinstance(item.value, dict) else item
        first = seen.get(backend.name)
        if first is not None:
            raise ctx.error(
                f"duplicate backend name '{backend.name}' (first at line {first.line}); "
                f"give each backend its own name",
                name_node,
            )
        seen[backend.name] = name_node
        backends.append(backend)
    return tuple(backends)


# ---------------------------------------------------------------------------
# Sessions and UI
# ---------------------------------------------------------------------------

# Keys every session spec may have.  The tmux and docker issues add their
# kind-specific keys (socket_name, image, volumes, ports ...) next to these.
_SESSION_KEYS = (
    "backend",
    "command",
    "shell",
    "working_dir",
    "env",
    "window_name",
    "session_dir",
    "stop_timeout",
    "image",
    "volumes",
    "ports",
    "network",
    "attach",
    # kstlib.ops spellings
    "socket_name",
    "log_volume",
    "runtime",
)
_DOCKER_SESSION_KEYS = ("image", "volumes", "ports", "network", "attach", "log_volume", "runtime")
_TMUX_SESSION_KEYS = ("window_name", "session_dir", "socket_name")
_COMMAND_EXAMPLE = "[python, -m, bot]"
# kstlib.ops names a backend by its kind; "container" is its word for docker/podman
_BACKEND_KINDS = {"tmux": "tmux", "container": "docker", "docker": "docker", "podman": "docker"}


def _parse_command(node: _Node | None, shell: bool, ctx: _Context) -> tuple[str, ...]:
    if node is None:
        return ()
    if isinstance(node.value, str):
        if not node.value.strip():
            raise ctx.error("the command is empty; write what to run, e.g. 'make run'", node)
        if shell:
            return (node.value,)
        # kstlib.ops style: one string, split into words without a shell
        from core.cmdline import split_command

        try:
            return tuple(split_command(node.value))
        except ValueError as e:
            raise ctx.error(str(e), node) from None
    if not isinstance(node.value, list):
        raise ctx.error(
            f"expected a list of arguments, e.g. {_COMMAND_EXAMPLE}; got {_describe(node.value)}",
            node,
        )
    return tuple(ctx.scalar_text(item, "python") for item in node.value)


def _parse_session(
    name: str, node: _Node, ctx: _Context, backends: Sequence[BackendConfig]
) -> SessionSpec:
    backend_names = [b.name for b in backends]
    if not _SESSION_NAME_RE.fullmatch(name):
        raise ctx.error(
            f"invalid session name '{name}'; use 1-64 letters, digits, '_' or '-', "
            f"starting with a letter or digit (it becomes a tmux or container name)",
            node,
            at_key=True,
        )
    sec = _Section(node, ctx, "one session", "{backend: work, command: [python, -m, bot]}")
    sec.check_keys(_SESSION_KEYS)
    backend_node = sec.get("backend")
    socket_node = sec.get("socket_name")
    socket_name = None if socket_node is None else ctx.text(socket_node, "bots", allow_empty=False)
    if backend_node is None:
        # kstlib.ops: no backend means its default, tmux
        backend = _backend_of_kind(
            "tmux", "tmux", socket_name=socket_name, backends=backends, ctx=ctx, node=node
        )
    else:
        backend = ctx.text(backend_node, backend_names[0])
        if backend not in backend_names:
            if backend not in _BACKEND_KINDS:
                raise ctx.error(
                    f"unknown backend '{backend}'; configured backends: "
                    f"{', '.join(backend_names)} (or a kind: tmux, container)",
                    backend_node,
                )
            backend = _backend_of_kind(
                backend,
                _BACKEND_KINDS[backend],
                socket_name=socket_name,
                backends=backends,
                ctx=ctx,
                node=backend_node,
            )
    chosen = next(b for b in backends if b.name == backend)
    if (
        socket_node is not None
        and isinstance(chosen, TmuxBackendConfig)
        and chosen.socket_name != socket_name
    ):
        raise ctx.error(
            f"socket_name '{socket_name}' is not the socket of backend '{backend}' "
            f"({chosen.socket_name or 'the default server'}); name the tmux backend "
            "with that socket_name, or drop the key",
            socket_node,
        )
    shell = sec.flag("shell", False)
    working_dir_node = sec.get("working_dir")
    env_node = sec.get("env")
    session_dir = None
    session_dir_node = sec.get("session_dir")
    if session_dir_node is not None:
        session_dir = ctx.text(session_dir_node, "runs", allow_empty=False)
        dirs = [b.name for b in backends if b.kind == "dirs"]
        if session_dir not in dirs:
            raise ctx.error(
                f"session_dir must name a dirs backend (its logs go there); "
                f"dirs backends: {', '.join(dirs) or 'none configured'}",
                session_dir_node,
            )
    window_node = sec.get("window_name")
    kind = chosen.kind
    runtime_node = sec.get("runtime")
    if runtime_node is not None and ctx.text(runtime_node, "docker") not in ("docker", "podman"):
        raise ctx.error(
            "runtime must be 'docker' or 'podman' (the backend's engine runs it: "
            "podman through its Docker-compatible socket)",
            runtime_node,
        )
    log_volume_node = sec.get("log_volume")
    log_volume = (
        ()
        if log_volume_node is None
        else (ctx.text(log_volume_node, "./logs:/app/logs", allow_empty=False),)
    )
    wrong = _TMUX_SESSION_KEYS if kind == "docker" else _DOCKER_SESSION_KEYS
    for key in wrong:
        bad = sec.get(key)
        if bad is not None:
            raise ctx.error(
                f"'{key}' does not apply to a {kind} backend ('{backend}')", bad, at_key=True
            )
    image_node = sec.get("image")
    if kind == "docker" and image_node is None:
        sec.need("image", "the image to run, e.g. busybox:latest")
    attach_node = sec.get("attach")
    attach = "exec" if attach_node is None else ctx.text(attach_node, "exec")
    if attach not in ("exec", "attach"):
        raise ctx.error(
            f"attach must be 'exec' (a shell in the container) or 'attach' (its own "
            f"terminal); got {attach!r}",
            attach_node or node,
        )
    network_node = sec.get("network")
    return SessionSpec(
        name=name,
        backend=backend,
        command=_parse_command(sec.get("command"), shell, ctx),
        shell=shell,
        working_dir=None if working_dir_node is None else ctx.path(working_dir_node, "~/bot"),
        env={}
        if env_node is None
        else ctx.string_map(env_node, "variable names to values", "{LOG_LEVEL: info}"),
        origin=ctx.origin(node),
        window_name=None
        if window_node is None
        else ctx.text(window_node, "main", allow_empty=False),
        session_dir=session_dir,
        stop_timeout=sec.number(
            "stop_timeout", _SPEC_DEFAULTS.stop_timeout, "10", minimum=0, exclusive=True
        ),
        image=None
        if image_node is None
        else ctx.text(image_node, "busybox:latest", allow_empty=False),
        volumes=_text_list(sec.get("volumes"), ctx, "[/srv/data:/data:ro]") + log_volume,
        ports=_text_list(sec.get("ports"), ctx, "['8080:80']"),
        network=None if network_node is None else ctx.text(network_node, "none", allow_empty=False),
        attach=attach,
    )


def _backend_of_kind(
    word: str,
    kind: str,
    *,
    socket_name: str | None,
    backends: Sequence[BackendConfig],
    ctx: _Context,
    node: _Node,
) -> str:
    """The one configured backend of ``kind`` a kstlib-style ``backend: tmux``
    (or ``container``) means; with ``socket_name``, the tmux backend on it."""
    found = [b for b in backends if b.kind == kind]
    if socket_name is not None:
        found = [
            b for b in found if isinstance(b, TmuxBackendConfig) and b.socket_name == socket_name
        ]
    what = f"{kind} backend" + (f" with socket_name '{socket_name}'" if socket_name else "")
    if not found:
        example = (
            f"{{name: {socket_name or 'work'}, kind: tmux"
            + (f", socket_name: {socket_name}}}" if socket_name else "}")
            if kind == "tmux"
            else "{name: local-docker, kind: docker}"
        )
        raise ctx.error(
            f"backend '{word}' means the {kind} backend, but no {what} is configured; "
            f"add one under backends:, e.g. {example}",
            node,
        )
    if len(found) > 1:
        names = ", ".join(b.name for b in found)
        raise ctx.error(
            f"backend '{word}' is ambiguous: several {kind} backends are configured "
            f"({names}); name one of them",
            node,
        )
    return found[0].name


def _text_list(node: _Node | None, ctx: _Context, example: str) -> tuple[str, ...]:
    if node is None:
        return ()
    if not isinstance(node.value, list):
        raise ctx.error(f"expected a list, e.g. {example}; got {_describe(node.value)}", node)
    return tuple(ctx.scalar_text(item, example) for item in node.value)


def _parse_sessions(
    node: _Node, ctx: _Context, backends: tuple[BackendConfig, ...]
) -> dict[str, SessionSpec]:
    sec = _Section(node, ctx, "session names to specs", "{bot: {backend: work, command: [bot]}}")
    return {name: _parse_session(name, child, ctx, backends) for name, child in sec.entries.items()}


_UI_KEYS = ("theme", "refresh_seconds", "log_lines", "keymap", "grow_notice")


def _size(sec: _Section, key: str, default: int, example: str) -> int:
    """A byte count written as ``100M``, ``1.5G`` or a plain number."""
    from core.errors import UsageError
    from core.sizes import parse_size

    node = sec.get(key)
    if node is None:
        return default
    try:
        return parse_size(sec.ctx.scalar_text(node, example))
    except UsageError as e:
        raise sec.ctx.error(e.message, node) from None


def _parse_ui(node: _Node, ctx: _Context) -> UIConfig:
    sec = _Section(node, ctx, "display settings", "{theme: sesstui-dark}")
    sec.check_keys(_UI_KEYS)
    d = _UI_DEFAULTS
    keymap_node = sec.get("keymap")
    theme_node = sec.get("theme")
    return UIConfig(
        theme_origin=ctx.origin(theme_node) if theme_node is not None else Origin(ctx.file),
        theme=sec.text("theme", d.theme, "sesstui-dark", allow_empty=False),
        refresh_seconds=sec.number(
            "refresh_seconds", d.refresh_seconds, "2", minimum=0, exclusive=True
        ),
        log_lines=sec.integer("log_lines", d.log_lines, "200", minimum=1),
        grow_notice=_size(sec, "grow_notice", d.grow_notice, "100M"),
        keymap={} if keymap_node is None else _parse_keymap(keymap_node, ctx),
    )


def _parse_keymap(node: _Node, ctx: _Context) -> dict[str, str]:
    """``ui.keymap``: known ids, real key names, no two ids sharing a key in one
    scope (``core.keys``); keys come back in Textual's spelling (``/`` -> slash)."""
    from core.keys import normalize_keys, validate_keymap

    keymap = ctx.string_map(node, "action ids to keys", "{sessions.prune: P}")
    problems = validate_keymap(keymap)
    if problems:
        first = problems[0]
        assert isinstance(node.value, dict)  # noqa: S101 -- string_map checked it
        entry: _Node = node.value[first.id]
        raise ctx.error(first.message, entry, at_key=first.kind == "unknown-id")
    return {ident: normalize_keys(key) for ident, key in keymap.items()}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

_TOP_KEYS = ("backends", "sessions", "ui", "views")


def _parse_views(node: _Node, ctx: _Context) -> dict[str, str]:
    """``views``: name -> filter query (``core.query``), each parsed here so a
    mistake names its line and column now rather than when the view is used."""
    from core.query import QueryError, parse_query

    example = '"backend:runs age>7d"'
    sec = _Section(node, ctx, "view names to filter queries", f"{{stale: {example}}}")
    views: dict[str, str] = {}
    for name, child in sec.entries.items():
        if not _NAME_RE.fullmatch(name):
            raise ctx.error(
                f"'{name}' cannot be a view name; use letters, digits, '_', '.' and '-'",
                child,
                at_key=True,
            )
        text = "" if child.value is None else ctx.scalar_text(child, example)
        try:
            parse_query(text)
        except QueryError as e:
            raise ctx.error(
                f"bad query at column {e.position + 1}: {e.message}\n"
                f"{e.caret_line(indent='    ', with_message=False)}",
                child,
            ) from None
        views[name] = text
    return views


def _expand_tree(node: _Node, ctx: _Context) -> None:
    """Expand ``${VAR}`` in every string value (never in keys) of the tree."""
    value = node.value
    if isinstance(value, dict):
        for child in value.values():
            _expand_tree(child, ctx)
    elif isinstance(value, list):
        for child in value:
            _expand_tree(child, ctx)
    elif isinstance(value, str):
        node.value = _expand_text(value, ctx.env, lambda message: ctx.error(message, node))


def _read_text(path: Path, file: str) -> str:
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


def _load_file(path: Path, env: Mapping[str, str]) -> AppConfig:
    file = redact(str(path))
    source = path.absolute()
    ctx = _Context(file=file, base_dir=source.parent, env=env)
    root = _LineLoader(_read_text(path, file), file).tree()
    if root is None or root.value is None:
        # An empty file (or one with only comments) is a valid, empty configuration.
        root = _Node({}, 1, 1, "")
    if not isinstance(root.value, dict):
        raise ctx.error(
            f"the top level must be a mapping with the keys {', '.join(_TOP_KEYS)}; "
            f"got {_describe(root.value)}",
            root,
        )
    top = _Section(root, ctx, "the configuration", "backends: [...]")
    top.check_keys(_TOP_KEYS)
    _expand_tree(root, ctx)
    backends_node = top.get("backends")
    backends = (
        _default_backends(env) if backends_node is None else _parse_backends(backends_node, ctx)
    )
    sessions_node = top.get("sessions")
    ui_node = top.get("ui")
    views_node = top.get("views")
    return AppConfig(
        backends=backends,
        sessions={} if sessions_node is None else _parse_sessions(sessions_node, ctx, backends),
        ui=UIConfig() if ui_node is None else _parse_ui(ui_node, ctx),
        source=source,
        views={} if views_node is None else _parse_views(views_node, ctx),
    )


def load_config(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> AppConfig:
    """Read and validate the configuration.

    ``path`` is the ``--config`` value; without it the file is discovered (see
    ``discover_config``), and without any file the result is
    ``default_config()``.  ``env`` (default ``os.environ``) feeds ``${VAR}``
    expansion, ``~``, ``$SESSTUI_CONFIG`` and the XDG directories.  A file with
    no ``backends`` key gets the default backends.  Relative paths in the file
    are relative to the file's folder.

    Raises ``ConfigError`` (file, line, key path, what to do) for anything wrong.
    """
    environ = os.environ if env is None else env
    found = discover_config(path, environ)
    if found is None:
        return default_config(environ)
    return _load_file(found, environ)


# ---------------------------------------------------------------------------
# Back to plain data
# ---------------------------------------------------------------------------


def _redact_tree(value: object, key: str = "") -> object:
    if isinstance(value, dict):
        return {k: _redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, key) for v in value]
    if isinstance(value, str):
        return _MASK if value and is_secret_key(key) else redact(value)
    return value


def config_to_dict(cfg: AppConfig, *, redact: bool = True) -> dict[str, object]:
    """The effective configuration as plain JSON-able data, in the file's shape.

    Every value is filled in (defaults included), paths are absolute strings.
    The result is a valid configuration file when written as YAML (``source``
    is not part of it; it is ``cfg.source``).  With ``redact`` (the default),
    values of secret-named keys become ``***`` and URL passwords are hidden:
    use that for anything shown or logged.
    """
    backends: list[object] = []
    for b in cfg.backends:
        entry: dict[str, object] = {
            "name": b.name,
            "kind": b.kind,
            "protected": b.protected,
            "timeout": b.timeout,
        }
        spec = _KINDS.get(b.kind)
        if spec is not None:
            entry.update(spec.dump(b))
        backends.append(entry)
    sessions: dict[str, object] = {
        name: {
            "backend": s.backend,
            "command": list(s.command),
            "shell": s.shell,
            "working_dir": None if s.working_dir is None else str(s.working_dir),
            "env": dict(s.env),
            **({"window_name": s.window_name} if s.window_name else {}),
            **({"session_dir": s.session_dir} if s.session_dir else {}),
            "stop_timeout": s.stop_timeout,
            **({"image": s.image} if s.image else {}),
            **({"volumes": list(s.volumes)} if s.volumes else {}),
            **({"ports": list(s.ports)} if s.ports else {}),
            **({"network": s.network} if s.network else {}),
            **({"attach": s.attach} if s.attach != "exec" else {}),
        }
        for name, s in cfg.sessions.items()
    }
    ui = cfg.ui
    data: dict[str, object] = {
        "backends": backends,
        "sessions": sessions,
        "ui": {
            "theme": ui.theme,
            "refresh_seconds": ui.refresh_seconds,
            "log_lines": ui.log_lines,
            "keymap": dict(ui.keymap),
            "grow_notice": ui.grow_notice,
        },
        "views": dict(cfg.views),
    }
    if not redact:
        return data
    redacted = _redact_tree(data)
    assert isinstance(redacted, dict)  # noqa: S101 -- _redact_tree keeps the shape
    return redacted
