"""How the KV backend reads values (msgspec, with json.loads as the reference)
and the lazy metadata mapping it keeps: every row lists exactly as a
``json.loads`` reading with an eager metadata dict did."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.kv import MemoryStores
from core.kv.backend import KvBackend
from core.kv.records import KvMetadata, custom_json, meta_text, read_record
from core.model import Session, State
from tests.helpers import ManualClock
from tests.kv_helpers import kv_config, setex
from tests.redis_fixtures import RedisServer, redis_db, redis_server

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _value(custom: str = '{"role": "admin"}', **fields: str) -> bytes:
    """A chuk-sessions value with ``custom_metadata`` (and any field) given
    as raw JSON text, so odd spellings reach the reader unchanged."""
    parts = {
        "session_id": '"s"',
        "sandbox_id": '"app-1"',
        "user_id": '"alice"',
        "created_at": json.dumps((NOW - timedelta(minutes=5)).isoformat()),
        "expires_at": json.dumps((NOW + timedelta(hours=1)).isoformat()),
        "last_accessed": json.dumps(NOW.isoformat()),
        "status": '"active"',
        "custom_metadata": custom,
    } | fields
    body = ", ".join(f'"{k}": {v}' for k, v in parts.items() if v != "-")
    return ("{" + body + "}").encode()


# values that are session records: the odd ones are where msgspec and
# json.loads could disagree
RECORDS: dict[str, bytes] = {
    "plain": _value(),
    "types": _value(
        '{"s": "x", "i": 7, "f": 0.1, "b": true, "n": null, "l": [1, "a"], '
        '"o": {"k": [1.5, false]}}'
    ),
    "unicode": _value('{"name": "Zoë \\u00e9 \\ud83d\\ude00", "raw": "é😀"}'),
    "big-numbers": _value(
        '{"big": 123456789012345678901234567890, "huge": 1e400, '
        '"tiny": 1.5e-400, "neg0": -0.0, "exp": 1E5}'
    ),
    "nan": _value('{"x": NaN, "y": -Infinity}'),  # json.loads reads these; msgspec does not
    "lone-surrogate": _value('{"x": "\\ud800"}'),
    "duplicate-keys": _value('{"x": 1, "y": 2, "x": 3}'),
    "duplicate-status": _value(status='"terminated", "status": "active"'),
    "custom-null": _value("null"),
    "custom-list": _value('[{"a": 1}]'),
    "custom-text": _value('"{}"'),
    "custom-empty": _value("{}"),
    "custom-absent": _value("-"),
    "no-session-id": _value(session_id="-"),
    "odd-fields": _value(user_id="42", sandbox_id='{"a": 1}', status='["x"]', created_at="5"),
    "nested-nan": _value('{"x": 1}', extra='{"deep": [NaN]}'),
    "whitespace": b"  \n" + _value() + b"\n ",
}

# values that are not: they list as CORRUPT
CORRUPT: dict[str, bytes] = {
    "bad-utf8-in-custom": _value('{"x": "BAD"}').replace(b"BAD", b"\xff"),
    "bad-utf8-in-unread-field": _value(extra='"BAD"').replace(b"BAD", b"\xff"),
    "surrogate-bytes": _value('{"x": "BAD"}').replace(b"BAD", b"\xed\xa0\x80"),
    "bom": "\ufeff".encode() + _value(),
    "array": b"[1, 2]",
    "null": b"null",
    "text": b'"session"',
    "id-not-text": _value(session_id="5"),
    "id-null": _value(session_id="null"),
    "truncated": _value()[:-3],
    "trailing": _value() + b" x",
    "control-char": _value('{"x": "a\x01b"}'),
    "empty": b"",
}


def _eager(key: str, raw: bytes | str, pttl: int) -> dict[str, str] | None:
    """The metadata dict a listing built before metadata turned lazy (the
    reference), or None for a value that lists as CORRUPT."""
    ttl = "none" if pttl == -1 else "set"
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("session_id", ""), str):
        return None
    user = data.get("user_id")
    out = {
        "sandbox": str(data.get("sandbox_id") or ""),
        "user": "" if user is None else str(user),
        "status": str(data.get("status") or ""),
        "key": key,
        "ttl": ttl,
    }
    custom = data.get("custom_metadata")
    if isinstance(custom, dict):
        out |= {f"meta.{k}": meta_text(v) for k, v in custom.items()}
    return out


def _check_row(session: Session, raw: bytes | str, pttl: int) -> None:
    key = f"session:{session.id}"
    expected = _eager(key, raw, pttl)
    name = session.id
    if expected is None:
        assert session.state is State.CORRUPT, f"{name}: json.loads refuses it, yet it listed"
        expected = {"key": key, "ttl": "none" if pttl == -1 else "set"}
    else:
        assert session.state is not State.CORRUPT, f"{name}: json.loads reads it, yet CORRUPT"
    md = session.metadata
    assert isinstance(md, KvMetadata)
    assert md == expected and expected == md, f"{name}: {md!r} != {expected!r}"
    assert list(md) == list(expected), f"{name}: entries out of order"
    assert list(md.items()) == list(expected.items())
    assert list(md.keys()) == list(expected) and list(md.values()) == list(expected.values())
    assert len(md) == len(expected) and repr(md) == repr(expected)
    for k, v in expected.items():
        assert md[k] == v and md.get(k) == v and k in md, f"{name}: {k}"
    loose: Mapping[object, str] = md  # type: ignore[assignment]  # a dict answers any key
    for missing in ("meta.nope", "nope", "meta.", "Key", 3, None):
        assert missing not in loose
        assert loose.get(missing) is None
    with pytest.raises(KeyError):
        md["meta.nope"]


def test_every_value_lists_as_json_loads_reads_it_over_redis(redis_db: RedisServer) -> None:
    """Redis hands out bytes: invalid UTF-8 anywhere (even in a field the
    listing does not read) is CORRUPT, as with json.loads; NaN, lone
    surrogate escapes, 1e400 and duplicate keys read as json.loads reads them."""
    r = redis_db.client()
    values = {f"r-{name}": raw for name, raw in (RECORDS | CORRUPT).items()}
    for sid, raw in values.items():
        setex(r, f"session:{sid}", 600, raw)
    r.set("session:r-forever", RECORDS["plain"])
    values["r-forever"] = RECORDS["plain"]
    backend = KvBackend(redis_db.config(), clock=lambda: NOW)
    for _ in range(2):  # the first listing, then the reused sessions of a refresh
        listed = {s.id: s for s in backend.list_sessions()}
        assert set(listed) == set(values)
        for sid, raw in values.items():
            _check_row(listed[sid], raw, -1 if sid == "r-forever" else 600)
            assert (backend.get(sid).metadata == listed[sid].metadata) is True
    corrupt = {s for s, v in listed.items() if v.state is State.CORRUPT}
    assert corrupt == {f"r-{name}" for name in CORRUPT}
    backend.close()


def test_every_text_value_lists_as_json_loads_reads_it_in_memory() -> None:
    """A memory store hands out str: the same readings, and a str with a
    lone surrogate (not UTF-8 encodable) reads as json.loads reads it."""
    stores = MemoryStores()
    store = stores.store("mem", clock=ManualClock(NOW))
    values: dict[str, str] = {}
    for name, raw in (RECORDS | CORRUPT).items():
        try:
            values[f"m-{name}"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not a str a producer can store
    values["m-surrogate-char"] = _value().decode().replace('"admin"', '"ad\ud800min"')
    for sid, text in values.items():
        store.setex(f"session:{sid}", 600, text)
    listed = {s.id: s for s in KvBackend(kv_config("mem"), stores=stores).list_sessions()}
    assert set(listed) == set(values)
    for sid, text in values.items():
        _check_row(listed[sid], text, 600)
    assert listed["m-surrogate-char"].metadata["meta.role"] == "ad\ud800min"


@pytest.mark.parametrize("name", sorted(RECORDS.keys() | CORRUPT.keys()))
def test_the_fast_reader_agrees_with_json_loads(name: str) -> None:
    raw = RECORDS.get(name) or CORRUPT[name]
    record = read_record(raw)
    reference = _eager("k", raw, 1)
    assert (record is None) == (reference is None), name
    if record is None or reference is None:
        return
    data: dict[str, Any] = json.loads(raw)
    got = (record.sandbox_id, record.user_id, record.status, record.created_at)
    assert got == (
        data.get("sandbox_id"),
        data.get("user_id"),
        data.get("status"),
        data.get("created_at"),
    ), name


def test_metadata_is_not_decoded_into_the_session() -> None:
    """What a KV row keeps of custom_metadata is its JSON text, one bytes
    object, not a dict of decoded strings."""
    raw = _value('{"role": "admin", "ip": "10.0.0.1", "n": 7}')
    record = read_record(raw)
    assert record is not None
    custom = custom_json(record)
    assert custom == b'{"role": "admin", "ip": "10.0.0.1", "n": 7}'
    md = KvMetadata("app-1", "alice", "active", "set", "session:s", custom=custom)
    assert dict(md) == {
        "sandbox": "app-1",
        "user": "alice",
        "status": "active",
        "key": "session:s",
        "ttl": "set",
        "meta.role": "admin",
        "meta.ip": "10.0.0.1",
        "meta.n": "7",
    }


def test_metadata_compares_as_a_mapping() -> None:
    """Equal texts compare without a decode; different texts of the same
    mapping (spacing, key order) are still equal, as dicts are."""
    words = ("app-1", "alice", "active", "set", "session:s")
    a = KvMetadata(*words, custom=b'{"x": 1, "y": "2"}')
    assert a == KvMetadata(*words, custom=b'{"x": 1, "y": "2"}')
    assert a == KvMetadata(*words, custom=b'{"y":"2","x":1}')
    assert a != KvMetadata(*words, custom=b'{"x": 2, "y": "2"}')
    assert a != KvMetadata("app-2", *words[1:], custom=b'{"x": 1, "y": "2"}')
    assert a != KvMetadata(None, *words[1:], custom=b'{"x": 1, "y": "2"}')
    assert KvMetadata(*words) == KvMetadata(*words, custom=None)
    assert KvMetadata(*words) != KvMetadata(*words[:3], "none", "session:s")
    assert a != ["not", "a", "mapping"]
    with pytest.raises(TypeError):
        hash(a)


def test_equal_custom_metadata_is_held_once() -> None:
    """Sessions a producer gave the same metadata share one JSON text."""
    stores = MemoryStores()
    store = stores.store("same", clock=ManualClock(NOW))
    for i in range(3):
        store.setex(f"session:s{i}", 600, _value('{"role": "member"}').decode())
    store.setex("session:other", 600, _value('{"role": "owner"}').decode())
    listed = {s.id: s.metadata for s in KvBackend(kv_config("same"), stores=stores).list_sessions()}
    texts = {id(md._custom) for md in listed.values() if isinstance(md, KvMetadata)}
    assert len(texts) == 2, "three equal texts held once, the other apart"
    assert listed["s1"]["meta.role"] == "member" and listed["other"]["meta.role"] == "owner"
