"""How the ``kv`` backend reads a session value, and the metadata it keeps.

:func:`read_record` decodes a chuk-sessions value with ``msgspec`` into the
few fields a listing uses; ``custom_metadata`` stays its undecoded JSON text.
A value that ``msgspec`` refuses (``NaN``, a lone ``\\ud800`` escape, a
top-level value that is not an object...) is read again by ``json.loads``,
the reference: whatever ``json.loads`` accepts lists as before, whatever it
refuses lists as CORRUPT.  ``msgspec`` skips keys it does not read without
checking their UTF-8, so a value that is not all UTF-8 is checked first.

:class:`KvMetadata` is ``Session.metadata`` of a KV row: a read-only mapping
that holds the sandbox, user, status and TTL words (one tuple shared by the
rows that have the same), the key, and ``custom_metadata`` as its JSON bytes,
decoded only when someone reads a ``meta.*`` entry (the details panel, a
``meta.`` filter, ``ls --json``).  It gives exactly the dict a listing used
to build.  It also carries two numbers the backend needs to know whether the
record changed at the next refresh (so no cache entry is kept beside the
session).
"""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import msgspec


class _Fields(msgspec.Struct):
    """The fields of a session value that a listing reads; others are skipped."""

    session_id: Any = ""
    sandbox_id: Any = None
    user_id: Any = None
    created_at: Any = None
    expires_at: Any = None
    last_accessed: Any = None
    status: Any = None
    custom_metadata: msgspec.Raw = msgspec.Raw()


_DECODER = msgspec.json.Decoder(_Fields)
_DICT_DECODER = msgspec.json.Decoder()


def meta_text(value: object) -> str:
    """A custom metadata value as text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, default=str)


def json_record(raw: bytes | str) -> dict[str, Any] | None:
    """The session JSON object as ``json.loads`` reads it, or None when
    ``raw`` is not one (the reference reading)."""
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("session_id", ""), str):
        return None
    return data


class Record:
    """The fields of one session value that a listing reads."""

    __slots__ = (
        "created_at",
        "custom",
        "expires_at",
        "last_accessed",
        "sandbox_id",
        "status",
        "user_id",
    )

    def __init__(
        self, fields: _Fields | dict[str, Any], custom: bytes | tuple[tuple[str, str], ...] | None
    ) -> None:
        if isinstance(fields, dict):
            self.sandbox_id: Any = fields.get("sandbox_id")
            self.user_id: Any = fields.get("user_id")
            self.created_at: Any = fields.get("created_at")
            self.expires_at: Any = fields.get("expires_at")
            self.last_accessed: Any = fields.get("last_accessed")
            self.status: Any = fields.get("status")
        else:
            self.sandbox_id = fields.sandbox_id
            self.user_id = fields.user_id
            self.created_at = fields.created_at
            self.expires_at = fields.expires_at
            self.last_accessed = fields.last_accessed
            self.status = fields.status
        # the JSON text of a custom_metadata object, its entries already as
        # text (a value only json.loads reads), or None (absent or not an object)
        self.custom = custom


def read_record(raw: bytes | str) -> Record | None:
    """The session record in ``raw``, or None when it is not a session JSON
    object (exactly what ``json.loads`` accepts; see the module doc)."""
    if isinstance(raw, bytes) and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        fields = _DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeEncodeError):  # a str with a lone surrogate
        return _slow_record(raw)
    if not isinstance(fields.session_id, str):
        return None
    custom = fields.custom_metadata
    if not custom or memoryview(custom)[0] != 0x7B:  # "{": an object
        return Record(fields, None)
    return Record(fields, bytes(custom))


def _slow_record(raw: bytes | str) -> Record | None:
    data = json_record(raw)
    if data is None:
        return None
    custom = data.get("custom_metadata")
    if not isinstance(custom, dict):
        return Record(data, None)
    return Record(data, tuple((k, meta_text(v)) for k, v in custom.items()))


def _custom_entries(custom: bytes | tuple[tuple[str, str], ...]) -> dict[str, str]:
    if isinstance(custom, tuple):
        return {f"meta.{k}": v for k, v in custom}
    try:
        data = _DICT_DECODER.decode(custom)
    except msgspec.DecodeError:  # e.g. 1e400, which json.loads reads as inf
        data = json.loads(custom.decode("utf-8"))
    return {f"meta.{k}": meta_text(v) for k, v in data.items()}


_HEAD_NAMES = ("sandbox", "user", "status")


class KvMetadata(Mapping[str, str]):
    """``Session.metadata`` of a KV row: ``sandbox``, ``user``, ``status``,
    ``key``, ``ttl``, then ``meta.NAME`` for each ``custom_metadata`` entry
    (a corrupt value: ``key`` and ``ttl`` only), in that order; equal to the
    dict of the same entries.  ``custom_metadata`` is decoded from its JSON
    text each time a ``meta.*`` entry is read, never kept decoded."""

    __slots__ = ("_custom", "_head", "_key", "digest", "flip")

    def __init__(
        self,
        head: tuple[str, ...],
        key: str,
        custom: bytes | tuple[tuple[str, str], ...] | None,
        digest: int = 0,
        flip: float = 0.0,
    ) -> None:
        # (sandbox, user, status, ttl), or (ttl,) for a corrupt value
        self._head = head
        self._key = key
        self._custom = custom
        # the backend's: the hash of the raw value, and when (epoch s) the
        # record turns EXPIRED by its expires_at
        self.digest = digest
        self.flip = flip

    def _entries(self) -> dict[str, str]:
        head = self._head
        out = dict(zip(_HEAD_NAMES, head[:-1], strict=False))
        out["key"] = self._key
        out["ttl"] = head[-1]
        if self._custom is not None:
            out.update(_custom_entries(self._custom))
        return out

    def __getitem__(self, name: str) -> str:
        if name == "key":
            return self._key
        if name == "ttl":
            return self._head[-1]
        if len(self._head) > 1 and name in _HEAD_NAMES:
            return self._head[_HEAD_NAMES.index(name)]
        if self._custom is None or not isinstance(name, str) or not name.startswith("meta."):
            raise KeyError(name)
        return _custom_entries(self._custom)[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries()

    # one decode for the whole view, not one per entry
    def keys(self) -> KeysView[str]:
        return self._entries().keys()

    def items(self) -> ItemsView[str, str]:
        return self._entries().items()

    def values(self) -> ValuesView[str]:
        return self._entries().values()

    def __repr__(self) -> str:
        return repr(self._entries())
