"""How the ``kv`` backend reads a session value, and the metadata it keeps.

:func:`read_record` decodes a chuk-sessions value with ``msgspec`` into the
few fields a listing uses; ``custom_metadata`` stays its undecoded JSON text.
A value that ``msgspec`` refuses (``NaN``, a lone ``\\ud800`` escape, a
top-level value that is not an object...) is read again by ``json.loads``,
the reference: whatever ``json.loads`` accepts lists as before, whatever it
refuses lists as CORRUPT.  ``msgspec`` skips keys it does not read without
checking their UTF-8, so a value that is not all UTF-8 is checked first.

:class:`KvMetadata` is ``Session.metadata`` of a KV row: a read-only mapping
that holds the sandbox, user, status and TTL words, the key, and
``custom_metadata`` as its JSON bytes,
decoded only when someone reads a ``meta.*`` entry (the details panel, a
``meta.`` filter, ``ls --json``).  It gives exactly the dict a listing used
to build.  A KV row (:mod:`core.kv.rows`) makes one each time its
``metadata`` is read.
"""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import msgspec


class Record(msgspec.Struct, gc=False):
    """The fields of a session value that a listing reads; others are skipped.
    ``custom_metadata`` is its JSON text (see :func:`custom_json`)."""

    session_id: Any = ""
    sandbox_id: Any = None
    user_id: Any = None
    created_at: Any = None
    expires_at: Any = None
    last_accessed: Any = None
    status: Any = None
    custom_metadata: msgspec.Raw = msgspec.Raw()


_DECODER = msgspec.json.Decoder(Record)
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


def read_record(raw: bytes | str) -> Record | None:
    """The session record in ``raw``, or None when it is not a session JSON
    object (exactly what ``json.loads`` accepts; see the module doc)."""
    if isinstance(raw, bytes) and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        record = _DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeEncodeError):  # a str with a lone surrogate
        return _slow_record(raw)
    return record if isinstance(record.session_id, str) else None


def _slow_record(raw: bytes | str) -> Record | None:
    """``json.loads``'s reading; ``custom_metadata`` written back as JSON
    (``json.loads`` gives back what it read: NaN, a lone surrogate, 1e400)."""
    data = json_record(raw)
    if data is None:
        return None
    custom = data.get("custom_metadata")
    return Record(
        sandbox_id=data.get("sandbox_id"),
        user_id=data.get("user_id"),
        created_at=data.get("created_at"),
        expires_at=data.get("expires_at"),
        last_accessed=data.get("last_accessed"),
        status=data.get("status"),
        custom_metadata=msgspec.Raw(
            json.dumps(custom).encode() if isinstance(custom, dict) else b""
        ),
    )


def custom_json(record: Record) -> bytes | None:
    """The JSON text of the record's ``custom_metadata`` object, None when
    it has none or it is not an object."""
    text = bytes(record.custom_metadata)
    if not text or text[0] != 0x7B or text == b"{}":  # not an object, or chuk's default {}
        return None
    return text


def _custom(custom: bytes) -> dict[str, Any]:
    try:
        data: dict[str, Any] = _DICT_DECODER.decode(custom)
    except msgspec.DecodeError:  # NaN, 1e400, a lone surrogate: json.loads reads them
        data = json.loads(custom.decode("utf-8"))
    return data


def _custom_entries(custom: bytes) -> dict[str, str]:
    return {f"meta.{k}": meta_text(v) for k, v in _custom(custom).items()}


class KvMetadata(Mapping[str, str]):
    """``Session.metadata`` of a KV row: ``sandbox``, ``user``, ``status``,
    ``key``, ``ttl``, then ``meta.NAME`` for each ``custom_metadata`` entry
    (a corrupt value: ``key`` and ``ttl`` only), in that order; equal to the
    dict of the same entries.  ``custom_metadata`` is kept as its JSON text
    and decoded each time a ``meta.*`` entry is read, never kept decoded."""

    __slots__ = ("_custom", "_key", "_sandbox", "_status", "_ttl", "_user")

    def __init__(
        self,
        sandbox: str | None,
        user: str,
        status: str,
        ttl: str,
        key: str,
        *,
        custom: bytes | None = None,
    ) -> None:
        self._sandbox = sandbox  # None: a corrupt value (key and ttl only)
        self._user = user
        self._status = status
        self._ttl = ttl
        self._key = key
        self._custom = custom

    def _entries(self) -> dict[str, str]:
        if self._sandbox is None:
            return {"key": self._key, "ttl": self._ttl}
        out = {
            "sandbox": self._sandbox,
            "user": self._user,
            "status": self._status,
            "key": self._key,
            "ttl": self._ttl,
        }
        if self._custom is not None:
            out.update(_custom_entries(self._custom))
        return out

    def __getitem__(self, name: str) -> str:
        if name == "key":
            return self._key
        if name == "ttl":
            return self._ttl
        if self._sandbox is None or not isinstance(name, str):
            raise KeyError(name)
        if name == "sandbox":
            return self._sandbox
        if name == "user":
            return self._user
        if name == "status":
            return self._status
        if self._custom is None or not name.startswith("meta."):
            raise KeyError(name)
        data = _custom(self._custom)  # one entry: no text for the others
        key = name[5:]
        if key not in data:
            raise KeyError(name)
        return meta_text(data[key])

    def __eq__(self, other: object) -> bool:
        # the same JSON text: compare the words, no decode (a refresh compares
        # a changed row's old and new metadata); else as mappings
        if isinstance(other, KvMetadata) and self._custom == other._custom:
            return (self._sandbox, self._user, self._status, self._ttl, self._key) == (
                other._sandbox,
                other._user,
                other._status,
                other._ttl,
                other._key,
            )
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable, as a dict

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
