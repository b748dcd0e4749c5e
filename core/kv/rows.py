"""A KV row as a listing keeps it: :class:`KvSession`, a :class:`Session`
that keeps what is particular to the row and works the rest out when read.

A listing of 100k records must hold little more than the raw values it
fetched, and build its rows fast.  A plain ``Session`` row was a graph of
five objects (the session, its ``Facts``, its metadata mapping, its
``expires`` datetime, the key string beside the id), about 620 B before any
data, four of them walked by every full garbage collection.  A
``KvSession`` keeps its values in one :class:`RowValues`, a ``msgspec.Struct``
the garbage collector does not track (no reference cycle can go through
it), and reads its fields from there: the ref, id, state, times and info
as listed; the key's remaining TTL as the listing read it (``expires`` is
the listing's instant plus that); the sandbox/user/status words (one tuple
shared by the rows that have the same); ``custom_metadata`` as its JSON
text; and the two numbers the next refresh compares.  ``metadata`` and
``facts`` are made each time they are read and equal what an eager row
held; ``kind``, ``size``, ``path``, ``attachable`` and ``pid`` are the same
for every KV row and live on the class.

It is a ``Session`` for every caller: the same fields, equal (and hashing
alike) to a plain ``Session`` with the same values (``core.model``);
``dataclasses.replace``, ``with_size``, ``copy`` and ``pickle`` give a plain
``Session``.  Only the backend makes them (:func:`as_session`).
"""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec

from core.kv.records import KvMetadata
from core.model import NO_FACTS, Facts, Session, SessionRef, State, session_values

if TYPE_CHECKING:
    from collections.abc import Mapping

_new = object.__new__


def _setter(cls: type, name: str) -> Any:
    """The raw setter of ``cls``'s slot ``name`` (frozen classes refuse setattr)."""
    return cls.__dict__[name].__set__


class Listing:
    """What the rows of one listing share: the backend's name and key prefix,
    and the instant the listing read the TTLs at (``expires`` = that + TTL)."""

    __slots__ = ("backend", "cut", "now", "now_ms", "prefix")

    def __init__(self, backend: str, prefix: str, now: datetime) -> None:
        self.backend = backend
        self.prefix = prefix
        self.cut = len(prefix)  # a key's id starts there
        self.now = now
        self.now_ms = now.timestamp() * 1000


# (sandbox, user, status) of a session record; None: a value that is not one
Words = tuple[str, str, str] | None


class RowValues(msgspec.Struct, gc=False, frozen=True):
    """The values of one KV row (untracked by the garbage collector)."""

    name: str  # the id
    state: State
    created: datetime | None
    stamp: float  # created as epoch seconds (0.0 without), for the order
    last_active: datetime | None
    info: str
    listing: Listing
    # the key's remaining TTL in ms (an int); for a key without one, the
    # record's stated expires_at (or None)
    ttl: int | datetime | None
    words: Words
    custom: bytes | None  # the custom_metadata JSON text, None for none
    digest: int  # the hash of the raw value
    flip: float  # epoch s at which the record turns EXPIRED by its expires_at; inf: never


def _from_row(name: str) -> Any:
    """A read-only field that reads ``name`` of the row's values (a C-level getter)."""
    return property(attrgetter(f"_row.{name}"))


class KvSession(Session):
    """One KV record as a :class:`Session` (see the module doc)."""

    __slots__ = ("_row",)

    _row: RowValues

    # the base class's slots stay empty: the fields read the row's values
    name = _from_row("name")
    id = _from_row("name")
    backend = _from_row("listing.backend")
    state = _from_row("state")
    created = _from_row("created")
    last_active = _from_row("last_active")
    info = _from_row("info")
    stamp = _from_row("stamp")
    # the same for every KV row: class attributes
    kind = "kv"
    size = None
    path = None
    attachable = False
    pid = None

    def __new__(cls, *args: Any, **kwargs: Any) -> KvSession:
        """Built from fields (``dataclasses.replace``, ``with_size``): a plain
        ``Session`` with them; the backend builds rows with :func:`as_session`."""
        return Session(*args, **kwargs)  # type: ignore[return-value]

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Session], tuple[object, ...]]:
        # copy and pickle: a plain Session of the same values
        return Session, session_values(self)

    @property
    def ref(self) -> SessionRef:
        """Made when read (equal each time): a ref kept in every row would be
        a second object per row for the garbage collector to walk."""
        row = self._row
        return SessionRef(row.listing.backend, row.name)

    @property
    def expires(self) -> datetime | None:
        row = self._row
        ttl = row.ttl
        if isinstance(ttl, int):
            return row.listing.now + timedelta(0, 0, 0, ttl)  # ms, by position: faster
        return ttl

    @property
    def key(self) -> str:
        """The store's key of this record."""
        row = self._row
        return row.listing.prefix + row.name

    def lasts_until_ms(self) -> float:
        """When this row, listed again from an unchanged store, stops being
        what it is: its key expires, or its ``expires_at`` passes (epoch ms)."""
        row = self._row
        ttl = row.ttl
        gone = row.listing.now_ms + ttl if isinstance(ttl, int) else math.inf
        return min(gone, row.flip * 1000)

    def unchanged(self, digest: int, deadline: float, now_ms: float) -> bool:
        """Whether a record listed again is still this row: a value of the
        same hash, a key expiring at the same instant (to the second, -1
        without a TTL), and not yet past its ``expires_at`` (``now_ms``)."""
        row = self._row
        ttl = row.ttl
        listed = row.listing.now_ms + ttl if isinstance(ttl, int) else -1.0
        return row.digest == digest and abs(listed - deadline) < 1000 and now_ms < row.flip * 1000

    @property
    def metadata(self) -> Mapping[str, str]:
        row = self._row
        words = row.words
        ttl = "set" if isinstance(row.ttl, int) else "none"
        if words is None:
            return KvMetadata(None, "", "", ttl, self.key)
        return KvMetadata(*words, ttl, self.key, custom=row.custom)

    @property
    def facts(self) -> Facts:
        facts = _new(Facts)
        for put, default in _FACT_DEFAULTS:
            put(facts, default)
        _put_fact_key(facts, self.key)
        _put_fact_never(facts, not isinstance(self._row.ttl, int))
        return facts

    @property
    def custom_json(self) -> bytes | None:
        """The ``custom_metadata`` JSON text this row keeps (None: none)."""
        return self._row.custom


# Facts made without the dataclass __init__ (half the time: relations reads
# every row's facts at each refresh): every field from NO_FACTS, then the two
# a KV row has (tests/test_kv_rows.py checks it equals Facts(key=..., ...))
_FACT_DEFAULTS = tuple(
    (_setter(Facts, name), getattr(NO_FACTS, name))
    for name in Facts.__dataclass_fields__
    if name not in ("key", "never_expires")
)
_put_fact_key = _setter(Facts, "key")
_put_fact_never = _setter(Facts, "never_expires")
_put_row = _setter(KvSession, "_row")


def as_session(values: RowValues) -> KvSession:
    """The row of these values."""
    row: KvSession = _new(KvSession)
    _put_row(row, values)
    return row
