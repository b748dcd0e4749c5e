"""Schemas to records and back: one ``msgspec.Struct`` declares a section.

``read_struct(node, cls, ctx)`` reads one mapping of the file into the record
``cls`` declares:

1. the keys are checked against the declared ones (``unknown key 'x'; did you
   mean ...; allowed: ...``) and keys the file must give are required;
2. each value is prepared from its ``Node`` (a null means "the default", a
   ``${VAR}`` result may stand for a number or a flag, maps and lists of text
   keep numbers as written, ``key(read=...)`` hooks and nested shapes run);
3. ``msgspec.convert`` builds the record: types, bounds (``gt``, ``ge``,
   ``min_length``) and paths (its ``dec_hook``).  Its error path
   (``$.retention``, ``$.ports[1]``) is walked down the node tree to the line,
   and the message is rebuilt from the declaration: what to write, an example,
   and what the file has;
4. the record's ``validate()``, when it has one, checks keys against each
   other and raises ``Problem(key, message)``.

``dump_struct`` writes a record back in the file's shape, ``key_docs`` lists
the declared keys with their types, defaults and documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import msgspec
import msgspec.inspect as mi

from core.config.loader import Expanded, Node, describe
from core.config.reader import FALSE_WORDS, TRUE_WORDS, Context, Section
from core.dirs.safety import unsafe_base
from core.errors import ConfigError

__all__ = [
    "KeyDoc", "Problem", "dump_struct", "file_keys", "key_docs", "kinds_of", "read_struct",
]  # fmt: skip

S = TypeVar("S", bound=msgspec.Struct)

_INT = re.compile(r"\s*[-+]?[0-9]+\s*")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\.\.\.\]")


class Problem(ValueError):
    """What a record's ``validate()`` found wrong with one key.

    ``key`` is the path below the record, a name or a tuple of names (a label
    named ``sesstui.session`` under ``match_labels`` is
    ``("match_labels", "sesstui.session")``); ``at_key`` points the error at the
    line of the key rather than its value.
    """

    def __init__(self, key: str | tuple[str, ...], message: str, *, at_key: bool = False) -> None:
        super().__init__(message)
        self.key = (key,) if isinstance(key, str) else key
        self.message = message
        self.at_key = at_key


class _Shape(Protocol):
    """A struct the file writes in place of a record's type (``key(shape=...)``)."""

    def record(self) -> object: ...

    @classmethod
    def from_record(cls, record: Any) -> msgspec.Struct: ...


@dataclass(frozen=True, slots=True)
class _Field:
    """One declared key: its name, its type (msgspec's view) and its ``key()`` extras."""

    name: str
    type: mi.Type  # the type without Optional and Metadata
    optional: bool
    extra: Mapping[str, Any]
    doc: str
    default: object  # msgspec.NODEFAULT when required

    @property
    def example(self) -> str:
        return str(self.extra.get("example") or "")

    @property
    def required(self) -> bool:
        """Whether the file must give this key."""
        declared = self.extra.get("required")
        return self.default is msgspec.NODEFAULT if declared is None else bool(declared)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.extra.get("kinds") or ())


def _unwrap(t: mi.Type) -> tuple[mi.Type, bool, Mapping[str, Any], str]:
    """The core type of a field, whether None is allowed, its extras and its doc."""
    optional = False
    extra: Mapping[str, Any] = {}
    doc = ""
    if isinstance(t, mi.UnionType):
        others = [u for u in t.types if not isinstance(u, mi.NoneType)]
        optional = len(others) < len(t.types)
        t = others[0] if len(others) == 1 else t
    if isinstance(t, mi.Metadata):
        extra = t.extra or {}
        doc = str((t.extra_json_schema or {}).get("description", ""))
        t = t.type
    return t, optional, extra, doc


@cache
def _fields(cls: type[msgspec.Struct]) -> tuple[_Field, ...]:
    """The keys of ``cls`` a file may write, in declaration order."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)  # noqa: S101 -- cls is a Struct
    derived = set(getattr(cls, "derived", ()))
    out: list[_Field] = []
    for f in info.fields:
        t, optional, extra, doc = _unwrap(f.type)
        if f.name in derived or not extra:
            continue
        default: object = f.default
        if f.default_factory is not msgspec.NODEFAULT:
            default = f.default_factory()
        out.append(_Field(f.name, t, optional, extra, doc, default))
    return tuple(out)


def file_keys(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """The keys of ``cls`` a file may write, in declaration order."""
    return tuple(f.name for f in _fields(cls))


def kinds_of(cls: type[msgspec.Struct]) -> dict[str, tuple[str, ...]]:
    """The keys of ``cls`` declared for some backend kinds only, with those kinds."""
    return {f.name: f.kinds for f in _fields(cls) if f.kinds}


def read_struct(
    node: Node,
    cls: type[S],
    ctx: Context,
    *,
    given: Mapping[str, object] | None = None,
    extra_keys: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> S:
    """The record ``cls`` read from the mapping ``node`` (see the module docs).

    ``given`` are values the caller sets (``origin``); ``extra_keys`` are
    further keys the caller reads itself, allowed in the mapping; ``skip`` are
    declared keys the caller has read into ``given``.
    """
    sec = Section(node, ctx, str(getattr(cls, "what", "settings")),
                  str(getattr(cls, "example", "{}")))  # fmt: skip
    fields = _fields(cls)
    sec.check_keys(tuple(f.name for f in fields) + extra_keys)
    data: dict[str, object] = dict(given or {})
    for f in fields:
        child = None if f.name in skip else sec.get(f.name)
        if child is None:
            if f.name in skip:
                continue
            if f.required:
                sec.need(f.name, f.doc + (f", e.g. {f.example}" if f.example else ""))
            continue
        data[f.name] = _prepare(child, f, ctx)
    try:
        record = msgspec.convert(data, cls, dec_hook=ctx.dec_hook)
    except msgspec.ValidationError as e:
        raise _mapped(e, node, fields, ctx) from None
    for f in fields:
        if f.extra.get("safe_base") and (child := sec.get(f.name)) is not None:
            why = unsafe_base(getattr(record, f.name), ctx.env)
            if why:
                raise ctx.error(f"refusing base directory: {why}", child, at_key=True)
    validate = getattr(record, "validate", None)
    if validate is not None:
        try:
            validate()
        except Problem as p:
            raise ctx.error(p.message, _walk(node, p.key), at_key=p.at_key) from None
    return record


def _prepare(node: Node, f: _Field, ctx: Context) -> object:
    """The plain value msgspec converts, from one node of the file."""
    read = f.extra.get("read")
    if read is not None:
        return read(node, ctx)
    shape = f.extra.get("shape")
    if shape is not None:
        return cast(_Shape, read_struct(node, shape, ctx)).record()
    value, t = node.value, f.type
    if isinstance(t, mi.DictType):
        return ctx.string_map(node, str(f.extra.get("entries")), f.example)
    if isinstance(t, mi.VarTupleType | mi.ListType):
        if not isinstance(value, list):
            raise ctx.error(f"expected a list, e.g. {f.example}; got {describe(value)}", node)
        return [ctx.scalar_text(item, f.example) for item in value]
    if isinstance(value, Expanded):  # a ${VAR} result may stand for a number or a flag
        value = _coerce(str(value), t)
    if f.extra.get("unlimited"):
        _check_unlimited(node, value, f, ctx)
    return value


def _coerce(text: str, t: mi.Type) -> object:
    word = text.strip().lower()
    if isinstance(t, mi.BoolType):
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    if isinstance(t, mi.IntType):
        return int(text) if _INT.fullmatch(text) else text
    if isinstance(t, mi.FloatType):
        try:
            return float(text)
        except ValueError:
            return text
    return text  # a plain str, never the Expanded subclass


def _bound(f: _Field) -> str:
    minimum = f.extra.get("min")
    if minimum is None:
        return ""
    limit = f"more than {minimum:g}" if f.extra.get("exclusive") else f"{minimum:g} or more"
    return limit + (", or -1 for no limit" if f.extra.get("unlimited") else "")


def _check_unlimited(node: Node, value: object, f: _Field, ctx: Context) -> None:
    """The bound of a key where -1 means "no limit" (msgspec cannot say "or -1")."""
    minimum = f.extra.get("min")
    if isinstance(value, bool) or not isinstance(value, int | float) or minimum is None:
        return  # a wrong type: msgspec says so
    too_small = value <= minimum if f.extra.get("exclusive") else value < minimum
    if too_small and value != -1:
        raise ctx.error(f"expected {_bound(f)}, e.g. {f.example}; got {value:g}", node)


_WHAT = {
    mi.IntType: "an integer",
    mi.FloatType: "a number",
    mi.StrType: "text",
    mi.DictType: "a mapping",
    mi.VarTupleType: "a list",
    mi.ListType: "a list",
}


def _walk(node: Node, steps: tuple[str | int, ...]) -> Node:
    """The node at ``steps`` below ``node`` (as deep as the tree goes)."""
    for step in steps:
        value = node.value
        found = (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
            isinstance(step, str) and isinstance(value, dict) and step in value
        )
        if not found:
            break
        node = value[step]  # type: ignore[index]
    return node


def _mapped(
    error: msgspec.ValidationError, node: Node, fields: tuple[_Field, ...], ctx: Context
) -> ConfigError:
    """msgspec's error as a ConfigError at the line its path names, in our words."""
    match = _AT.match(str(error))
    assert match is not None  # noqa: S101 -- the pattern matches any text
    message, path = match["message"], match["path"] or ""
    steps: list[str | int] = []
    for m in _STEP.finditer(path):
        if m[1] is not None:
            steps.append(m[1])
        elif m[2] is not None:
            steps.append(int(m[2]))
        else:
            break  # "[...]": a map value; msgspec does not say which key
    where = _walk(node, tuple(steps))
    field = next((f for f in fields if steps and f.name == steps[0]), None)
    if field is None or not message.startswith(("Expected", "Object")):
        return ctx.error(message, where)  # a message of ours (a dec_hook, a read hook)
    return ctx.error(_rewrite(message, where.value, field, nested=len(steps) > 1), where)


def _rewrite(message: str, value: object, f: _Field, *, nested: bool) -> str:
    """The message for a value msgspec refused, from the declaration of its key."""
    example = f", e.g. {f.example}" if f.example else ""
    t = f.type
    if nested and isinstance(t, mi.VarTupleType | mi.ListType):
        t = t.item_type
    if isinstance(t, mi.BoolType):
        return f"expected true or false; got {describe(value)}"
    if ", got " in message:  # the wrong type
        what = _WHAT.get(type(t), "text" if isinstance(t, mi.CustomType) else "a value")
        return f"expected {what}{example}; got {describe(value)}"
    if isinstance(t, mi.StrType | mi.CustomType) and "length" in message:
        return f"must not be empty;{example.removeprefix(',')}"
    bound = _bound(f)
    if bound and isinstance(value, int | float):
        return f"expected {bound}{example}; got {value:g}"
    return message[:1].lower() + message[1:]


# ---------------------------------------------------------------------------
# Back to plain data, and documentation
# ---------------------------------------------------------------------------


def _plain(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def dump_struct(record: msgspec.Struct) -> dict[str, object]:
    """``record`` in the file's shape: every key a file may write, defaults included.

    Left out: keys whose value is None (unset optional keys), and session keys
    of one kind that still have their default (a tmux session has no ``ports``).
    """
    out: dict[str, object] = {}
    for f in _fields(type(record)):
        value = getattr(record, f.name)
        if value is None or (f.kinds and value == f.default):
            continue
        shape = f.extra.get("shape")
        if shape is not None:
            value = dump_struct(cast(_Shape, shape).from_record(value))
        out[f.name] = _plain(value)
    return out


@dataclass(frozen=True, slots=True)
class KeyDoc:
    """One key of a section, for documentation: ``sesstui`` prints these."""

    key: str  # the dotted path below the section: "retention.max_sessions"
    type: str
    default: object
    doc: str
    example: str


def _type_name(t: mi.Type) -> str:
    if isinstance(t, mi.CustomType) and t.cls is Path:
        return "path"
    if isinstance(t, mi.VarTupleType | mi.ListType):
        return f"list of {_type_name(t.item_type)}"
    if isinstance(t, mi.DictType):
        return "mapping"
    return {mi.BoolType: "true/false", mi.StrType: "text"}.get(
        type(t), _WHAT.get(type(t), type(t).__name__).removeprefix("an ").removeprefix("a ")
    )


def key_docs(cls: type[msgspec.Struct], prefix: str = "") -> Iterator[KeyDoc]:
    """The keys ``cls`` declares, nested shapes included, in declaration order."""
    for f in _fields(cls):
        shape = f.extra.get("shape")
        if shape is not None:
            yield KeyDoc(prefix + f.name, "mapping", None, f.doc, f.example)
            yield from key_docs(shape, f"{prefix}{f.name}.")
            continue
        default = None if f.required or f.default is msgspec.NODEFAULT else _plain(f.default)
        kind = _type_name(f.type) + (" (required)" if f.required else "")
        kind += " (optional)" if f.optional else ""
        yield KeyDoc(prefix + f.name, kind, default, f.doc, f.example)
