"""The producer API: async session lifecycle and grid paths for one sandbox.

Records follow the chuk-sessions convention: key ``session:{session_id}``
holding a JSON object (``session_id``, ``sandbox_id``, ``user_id``,
``created_at``, ``expires_at``, ``last_accessed``, ``status``,
``custom_metadata``) whose key TTL ends at ``expires_at``.  Every change to a
stored record is an atomic read-modify-write on the provider, so a dashboard
extending a TTL and an app updating metadata never lose each other's write.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import UsageError
from core.kv.providers import Clock, KvProvider, provider_from_env, utc_now

DEFAULT_KEY_PREFIX = "session:"
SANDBOX_ENV = ("CHUK_SANDBOX_ID", "CHUK_HOST_SANDBOX_ID")  # chuk's order
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
FIELDS = (
    "session_id",
    "sandbox_id",
    "user_id",
    "created_at",
    "expires_at",
    "last_accessed",
    "status",
    "custom_metadata",
)


class InvalidSessionId(UsageError, ValueError):
    """A session (or sandbox) id that cannot become a key or a grid path."""

    title = "Invalid session id"


def check_id(value: str, what: str = "session id") -> str:
    """``value`` when it is a usable id; else :class:`InvalidSessionId` saying why.

    Like chuk-sessions, any text is accepted (spaces, accents, ``:`` and
    ``/``), except what no key, log line or table cell can carry: an empty id
    and control characters (newline, tab, NUL...).
    """
    if not isinstance(value, str) or not value:
        raise InvalidSessionId(f"{what} must be a non-empty string, not {value!r}")
    bad = _CONTROL_CHARS.search(value)
    if bad is not None:
        raise InvalidSessionId(
            f"{what} {value!r} contains the control character {bad.group()!r}; "
            "remove it (any other character is fine)"
        )
    return value


_process_sandbox: str | None = None


def sandbox_from_env(env: Mapping[str, str] | None = None) -> str:
    """The sandbox chuk-sessions picks when none is given: ``CHUK_SANDBOX_ID``,
    else ``CHUK_HOST_SANDBOX_ID``, else ``sandbox-{8 hex}`` chosen once per
    process (chuk exports that one to ``CHUK_SANDBOX_ID``; sesstui keeps it in
    the process instead of changing the environment)."""
    global _process_sandbox  # noqa: PLW0603 - one random sandbox per process, as chuk's
    environ = os.environ if env is None else env
    for name in SANDBOX_ENV:
        if environ.get(name):
            return environ[name]
    if _process_sandbox is None:
        _process_sandbox = f"sandbox-{uuid.uuid4().hex[:8]}"
    return _process_sandbox


def iso(moment: datetime) -> str:
    """An aware datetime as ISO-8601 UTC (``2026-11-21T10:00:00.123456+00:00``)."""
    return moment.astimezone(UTC).isoformat()


def parse_iso(text: object) -> datetime | None:
    """An ISO-8601 string (``+00:00`` or ``Z``; naive = UTC) as an aware datetime."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def user_part(user_id: str) -> str:
    """The ``{user}`` of a session id: the alphanumeric characters of the user
    id, first 8 (``bob@example.com`` -> ``bobexamp``), as chuk-sessions builds it."""
    return "".join(c for c in user_id if c.isalnum())[:8]


def new_session_id(user_id: str | None = None, now: datetime | None = None) -> str:
    """``sess-{user}-{unix_ts}-{8 hex}``, or ``sess-{unix_ts}-{8 hex}`` without a user
    (``unix_ts`` of ``now``, default the real time)."""
    stamp = int(time.time() if now is None else now.timestamp())
    tail = secrets.token_hex(4)
    return f"sess-{user_part(user_id)}-{stamp}-{tail}" if user_id else f"sess-{stamp}-{tail}"


def remaining_seconds(record: Mapping[str, Any], now: datetime) -> float:
    """Seconds from ``now`` to the record's ``expires_at`` (0 when unknown or past)."""
    expires = parse_iso(record.get("expires_at"))
    return max(0.0, (expires - now).total_seconds()) if expires else 0.0


def _load(value: str) -> dict[str, Any] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class SessionMetadata:
    """One session record, typed (chuk-sessions' ``SessionMetadata`` fields).

    Frozen: a change goes through the manager, which writes it atomically.
    """

    session_id: str
    sandbox_id: str
    user_id: str | None = None
    created_at: str | None = None
    expires_at: str | None = None
    status: str = "active"
    last_accessed: str | None = None
    custom_metadata: Mapping[str, Any] = field(default_factory=dict)

    def is_expired(self, now: datetime | None = None) -> bool:
        """True once ``expires_at`` has passed (never without one)."""
        expires = parse_iso(self.expires_at)
        return expires is not None and (now or datetime.now(UTC)) > expires

    def to_dict(self) -> dict[str, Any]:
        """The record as stored (chuk's key order)."""
        return {
            "session_id": self.session_id,
            "sandbox_id": self.sandbox_id,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "status": self.status,
            "last_accessed": self.last_accessed,
            "custom_metadata": dict(self.custom_metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionMetadata:
        """From a stored record; UsageError naming the session when a field
        chuk requires is missing or of the wrong type."""
        sid = data.get("session_id")
        sandbox = data.get("sandbox_id")
        if not isinstance(sid, str) or not sid or not isinstance(sandbox, str) or not sandbox:
            raise UsageError(
                f"KV record {sid!r} lacks a session_id or sandbox_id string; "
                "it is not a chuk-sessions record"
            )
        custom = data.get("custom_metadata")
        created = data.get("created_at")
        return cls(
            session_id=sid,
            sandbox_id=sandbox,
            user_id=_text(data.get("user_id")),
            created_at=_text(created),
            expires_at=_text(data.get("expires_at")),
            status=str(data.get("status") or "active"),
            last_accessed=_text(data.get("last_accessed")) or _text(created),
            custom_metadata=dict(custom) if isinstance(custom, dict) else {},
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class SessionManager:
    """Sessions of one sandbox over a :class:`KvProvider` (from the environment
    when none is given: in memory, a store of this manager's own; pass
    ``MemoryStores.provider(name)`` to share one).  All methods but the grid helpers and
    :meth:`get_cache_stats` are coroutines.

    ``sandbox_id=None`` takes the sandbox from the environment, as
    chuk-sessions does (:func:`sandbox_from_env`).  There is no in-process
    cache: every call reads the store, so a change another process (or the
    dashboard) made is seen at once and never overwritten from a stale copy.

    ``clock`` is the time the records' ``created_at`` / ``expires_at`` /
    ``last_accessed`` are written and checked with (default the real time);
    key TTLs are relative, so a fake clock never skews the store's own expiry.
    """

    def __init__(
        self,
        sandbox_id: str | None = None,
        default_ttl_hours: float = 24.0,
        provider: KvProvider | None = None,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Clock = utc_now,
    ) -> None:
        self.sandbox_id = check_id(sandbox_id or sandbox_from_env(), "sandbox id")
        if default_ttl_hours <= 0:
            raise UsageError(f"default_ttl_hours must be positive, not {default_ttl_hours}")
        self.default_ttl_hours = default_ttl_hours
        self.provider = provider if provider is not None else provider_from_env()
        self.key_prefix = key_prefix
        self.clock = clock

    def key(self, session_id: str) -> str:
        """The store key of ``session_id`` (validated)."""
        return f"{self.key_prefix}{check_id(session_id)}"

    async def _record(self, session_id: str) -> dict[str, Any] | None:
        value = await self.provider.get(self.key(session_id))
        return None if value is None else _load(value)

    # -- lifecycle --------------------------------------------------------------

    async def allocate_session(
        self,
        session_id: str | None = None,
        user_id: str | None = None,
        ttl_hours: float | None = None,
        custom_metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a new session record and return its id (chuk's argument order).

        An existing ``session_id`` that is still valid is kept and only touched
        (like validate); an unknown one is created with that id.  Any user id
        is accepted: the id carries :func:`user_part` of it.
        """
        if user_id is not None and not isinstance(user_id, str):
            raise UsageError(f"user_id must be a string or None, not {type(user_id).__name__}")
        if session_id is not None:
            check_id(session_id)
            if await self.validate_session(session_id):
                return session_id
        hours = self.default_ttl_hours if ttl_hours is None else ttl_hours
        if hours <= 0:
            raise UsageError(f"ttl_hours must be positive, not {hours}")
        now = self.clock()
        sid = session_id or new_session_id(user_id, now)
        ttl = timedelta(hours=hours)
        record = {
            "session_id": sid,
            "sandbox_id": self.sandbox_id,
            "user_id": user_id,
            "created_at": iso(now),
            "expires_at": iso(now + ttl),
            "last_accessed": iso(now),
            "status": "active",
            "custom_metadata": dict(custom_metadata or {}),
        }
        await self.provider.setex(self.key(sid), ttl.total_seconds(), json.dumps(record))
        return sid

    async def validate_session(self, session_id: str) -> bool:
        """True when the session exists and has not expired; touches
        ``last_accessed`` and keeps ``expires_at`` and the key's TTL."""
        now = self.clock()

        def touch(value: str) -> tuple[str, float | None] | None:
            record = _load(value)
            if record is None or remaining_seconds(record, now) <= 0:
                return None
            record["last_accessed"] = iso(now)
            return json.dumps(record), None

        return await self.provider.update(self.key(session_id), touch)

    async def get_session_info(self, session_id: str) -> dict[str, Any] | None:
        """The stored record (a copy), or None when missing, expired or corrupt."""
        record = await self._record(session_id)
        if record is None or remaining_seconds(record, self.clock()) <= 0:
            return None
        return record

    async def get_session_metadata(self, session_id: str) -> SessionMetadata | None:
        """The record as a typed :class:`SessionMetadata`, or None like
        :meth:`get_session_info` (also for a record chuk could not load)."""
        record = await self.get_session_info(session_id)
        if record is None:
            return None
        try:
            return SessionMetadata.from_dict(record)
        except UsageError:
            return None

    async def update_session_metadata(
        self, session_id: str, custom_metadata: Mapping[str, Any], merge: bool = True
    ) -> bool:
        """Merge ``custom_metadata`` into the record's (or replace it with
        ``merge=False``) and touch ``last_accessed``; False when the session is gone."""
        extra = dict(custom_metadata)
        now = self.clock()

        def change(value: str) -> tuple[str, float | None] | None:
            record = _load(value)
            if record is None:
                return None
            custom = record.get("custom_metadata")
            merged = dict(custom) if merge and isinstance(custom, dict) else {}
            merged.update(extra)
            record["custom_metadata"] = merged
            record["last_accessed"] = iso(now)
            return json.dumps(record), None

        return await self.provider.update(self.key(session_id), change)

    async def extend_session_ttl(self, session_id: str, additional_hours: float) -> bool:
        """Move ``expires_at`` and the key's TTL later by ``additional_hours``,
        together, and touch ``last_accessed``."""
        now = self.clock()

        def extend(value: str) -> tuple[str, float | None] | None:
            record = _load(value)
            if record is None:
                return None
            current = parse_iso(record.get("expires_at")) or now
            expires = max(current, now) + timedelta(hours=additional_hours)
            record["expires_at"] = iso(expires)
            record["last_accessed"] = iso(now)
            return json.dumps(record), (expires - now).total_seconds()

        return await self.provider.update(self.key(session_id), extend)

    async def delete_session(self, session_id: str) -> bool:
        return await self.provider.delete(self.key(session_id))

    async def _own_records(self) -> list[tuple[str, dict[str, Any] | None]]:
        out: list[tuple[str, dict[str, Any] | None]] = []
        for key in await self.provider.scan(self.key_prefix):
            value = await self.provider.get(key)
            if value is not None:
                out.append((key, _load(value)))
        return out

    async def cleanup_expired_sessions(self) -> int:
        """Delete this sandbox's records whose ``expires_at`` has passed (a
        store without TTLs, or clock skew, can leave them); how many went."""
        now = self.clock()
        removed = 0
        for key, record in await self._own_records():
            if record is None or record.get("sandbox_id") != self.sandbox_id:
                continue
            if remaining_seconds(record, now) <= 0 and await self.provider.delete(key):
                removed += 1
        return removed

    async def list_sessions(self) -> list[str]:
        """Ids of this sandbox's live sessions, sorted."""
        now = self.clock()
        return sorted(
            str(record.get("session_id") or key[len(self.key_prefix) :])
            for key, record in await self._own_records()
            if record is not None
            and record.get("sandbox_id") == self.sandbox_id
            and remaining_seconds(record, now) > 0
        )

    def get_cache_stats(self) -> dict[str, Any]:
        """chuk's cache statistics; ``cached_sessions`` and ``max_cache_size``
        are 0, as this manager keeps no cache (every call reads the store)."""
        return {
            "cached_sessions": 0,
            "max_cache_size": 0,
            "sandbox_id": self.sandbox_id,
            "default_ttl_hours": self.default_ttl_hours,
        }

    # -- grid paths ---------------------------------------------------------------
    # built exactly as chuk-sessions built them: plain text, nothing refused, so
    # an id with ':' or '/' gives the same path in both

    def get_canonical_prefix(self, session_id: str) -> str:
        """``grid/{sandbox_id}/{session_id}/``"""
        return f"grid/{self.sandbox_id}/{session_id}/"

    def generate_artifact_key(self, session_id: str, artifact_id: str) -> str:
        """``grid/{sandbox_id}/{session_id}/{artifact_id}`` (``artifact_id`` may be empty)."""
        return f"grid/{self.sandbox_id}/{session_id}/{artifact_id}"

    def get_session_prefix_pattern(self) -> str:
        """``grid/{sandbox_id}/``"""
        return f"grid/{self.sandbox_id}/"

    @staticmethod
    def parse_grid_key(grid_key: str) -> dict[str, str | None] | None:
        """``{"sandbox_id", "session_id", "artifact_id", "subpath"}`` of a grid
        key split at ``/`` (``subpath`` is what follows the artifact id, or
        None); None when it has fewer than four parts or does not start with
        ``grid``.  ``grid/a/b/`` has the artifact ``''``; an id that holds a
        ``/`` does not come back whole (as in chuk)."""
        parts = grid_key.split("/")
        if len(parts) < 4 or parts[0] != "grid":
            return None
        return {
            "sandbox_id": parts[1],
            "session_id": parts[2],
            "artifact_id": parts[3],
            "subpath": "/".join(parts[4:]) if len(parts) > 4 else None,
        }
