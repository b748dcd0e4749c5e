"""The ``kv`` backend: session records with TTLs in Redis or in this process.

Listing never uses ``KEYS``.  It walks ``SCAN MATCH {prefix}* COUNT 1000
TYPE string`` a page at a time inside a small read-only Lua script that also
returns each key's ``PTTL`` packed into one string; values come with it on a
first listing, else from one ``MGET`` per page.  Where scripting is refused
(ACLs, some managed services) it falls back to plain ``SCAN`` and one pipeline
(``MGET`` + ``PTTL`` per key) per page.  A helper thread fetches the next page
while this one builds sessions, and records whose bytes and expiry instant did
not change since the last refresh keep their :class:`Session` (no JSON parse).
Keys outside ``key_prefix``, and keys that are not strings, are never shown or
touched.  A value that is not a session JSON object lists as CORRUPT (the id
from the key); a key without TTL lists with ``metadata["ttl"] == "none"``
(else ``"set"``).  With ``sandbox`` set, only that sandbox's records show and
can be acted on (corrupt ones are hidden then: their sandbox is unknown).

``extend(id, ttl)`` sets the session's *remaining lifetime* to ``ttl`` from
now: ``expires_at`` and the key TTL change together in one WATCH/MULTI/EXEC
transaction (retried on conflict), so concurrent metadata updates by the
producer API are never lost; ``ttl <= 0`` expires the session now (deletes
it).

Every Redis call has the config's connect and socket timeouts; an unreachable,
hung, password-protected or non-Redis endpoint is :class:`BackendUnavailable`
with the reason, and the password is redacted everywhere.  After a failure the
next call opens a new connection, so the backend recovers by itself.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from core.backend import BaseBackend
from core.config.records import BackendConfig
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    SessionNotFound,
    SesstuiError,
    UnsafeOperation,
)
from core.kv.manager import iso, parse_iso
from core.kv.providers import (
    DEFAULT_REDIS_URL,
    Clock,
    MemoryProvider,
    MemoryStore,
    Transform,
    canonical_provider,
    glob_escape,
    may_be_not_redis,
    not_redis,
    not_redis_message,
    utc_now,
)
from core.kv.schema import KvBackendConfig
from core.model import (
    BackendHealth,
    Capability,
    EntryResult,
    HealthStatus,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PruneReason,
    PruneResult,
    Session,
    SessionRef,
    State,
)
from core.redaction import redact, remember_url_secrets, url_userinfo_problem

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

    from core.inspection import Section

SCAN_COUNT = 1000
_UPDATE_RETRIES = 200

# One SCAN page (MATCH, COUNT, TYPE string) with the PTTL of each key, packed
# as {cursor, "pttl keylen pttl keylen ...", the keys concatenated}: three
# RESP items per page instead of 2000, sliced apart in Python without a parse
# per item.  Read-only, about 2 ms of server time per 1000 keys.  Values are
# not copied through Lua (that costs 4x more server time): a native MGET of
# the page's keys follows.
_PAGE_LUA = """
local page = redis.call(
  'SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]), 'TYPE', 'string')
local head = {}
for i, key in ipairs(page[2]) do
  head[2 * i - 1] = redis.call('PTTL', key)
  head[2 * i] = #key
end
return {page[1], table.concat(head, ' '), table.concat(page[2])}
"""

# The same page with the values too, for a first listing (nothing cached):
# {cursor, "pttl keylen valuelen ...", keys and values concatenated}.  Copying
# values through Lua costs the server about 3x more, but spares this process
# 1000 RESP replies per page while it parses every record anyway.
_PAGE_VALUES_LUA = """
local page = redis.call(
  'SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]), 'TYPE', 'string')
local head, body = {}, {}
for i, key in ipairs(page[2]) do
  local value = redis.call('GET', key)
  head[i] = redis.call('PTTL', key) .. ' ' .. #key .. ' ' .. #value
  body[2 * i - 1] = key
  body[2 * i] = value
end
return {page[1], table.concat(head, ' '), table.concat(body)}
"""

# (key, raw value, pttl in ms: -1 no TTL)
Row = tuple[str, bytes | str, int]
# (hash of the raw value, expiry instant in epoch ms or -1, EXPIRED-at in
# epoch s, session or None when hidden, -created in epoch s, key)
_Cached = tuple[int, float, float, Session | None, float, str]


class _Source(Protocol):
    endpoint: str

    def pages(self, prefix: str, *, cold: bool = False) -> Iterator[list[Row]]:
        """Rows under ``prefix``, a page (about 1000 keys) at a time; ``cold``
        says the caller will parse every value (nothing cached)."""
        ...

    def row(self, key: str) -> Row | None: ...
    def update(self, key: str, transform: Transform) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def close(self) -> None: ...


class _MemorySource:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.endpoint = f"memory:{store.name}"

    def pages(self, prefix: str, *, cold: bool = False) -> Iterator[list[Row]]:
        keys = self.store.scan(prefix)
        for start in range(0, len(keys), SCAN_COUNT):
            yield list(self.store.rows(keys[start : start + SCAN_COUNT]))

    def row(self, key: str) -> Row | None:
        value = self.store.get(key)
        if value is None:
            return None
        return key, value, self.store.pttl(key)

    def update(self, key: str, transform: Transform) -> bool:
        return self.store.update(key, transform)

    def delete(self, key: str) -> bool:
        return self.store.delete(key)

    def close(self) -> None:
        return None


def _reason_of(exc: BaseException, endpoint: str, timeout: float, url: str | None = None) -> str:
    """Why Redis could not be used, in words a person can act on; with ``url``
    a failure that may come from a server that is not Redis is checked by
    sending it one ``PING``."""
    text = redact(str(exc))
    low = text.lower()
    name = type(exc).__name__
    if "wronpass" in low or "invalid password" in low or "invalid username-password" in low:
        return f"wrong password for Redis at {endpoint} (check the URL's password / REDIS_URL)"
    if "noauth" in low or "authentication required" in low or "already authenticated" in low:
        return f"Redis at {endpoint} needs a password; put it in the URL (redis://:PASSWORD@host)"
    if "certificate" in low or "ssl" in low:
        return (
            f"TLS with Redis at {endpoint} failed ({text or name}); for a private CA add "
            "?ssl_ca_certs=/path/ca.pem to the URL"
        )
    if "refused" in low:
        return f"Redis at {endpoint} refused the connection; is redis-server running?"
    if "timeout" in low or "timed out" in low or name.endswith("TimeoutError"):
        return f"Redis at {endpoint} did not answer within {timeout:g}s"
    if "no such file" in low:
        return f"no Redis socket at {endpoint}: the file does not exist"
    if url is not None and may_be_not_redis(exc):
        heard = not_redis(url, timeout)
        if heard is not None:
            return not_redis_message(endpoint, heard)
    if "protocol error" in low or "invalid" in low or name in ("InvalidResponse", "ResponseError"):
        return f"the server at {endpoint} does not speak Redis ({text or name})"
    return f"cannot use Redis at {endpoint}: {text or name}"


def _raw_key(key: str) -> bytes:
    """The key's bytes; listing decodes keys with surrogateescape, so keys that
    are not UTF-8 round-trip."""
    return key.encode("utf-8", "surrogateescape")


class _RedisSource:
    def __init__(self, url: str, connect_timeout: float, socket_timeout: float) -> None:
        self.url = url
        remember_url_secrets(url)  # a second line of defence for echoed URLs
        self.endpoint = redact(url)
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._script: Script | None = None
        self._values_script: Script | None = None
        self._script_ok = True

    def client(self) -> redis.Redis:
        import redis

        with self._lock:
            if self._client is None:
                problem = url_userinfo_problem(self.url)
                if problem:
                    raise BackendUnavailable(f"bad Redis URL {self.endpoint}: {problem}")
                try:
                    self._client = redis.Redis.from_url(
                        self.url,
                        socket_connect_timeout=self.connect_timeout,
                        socket_timeout=self.socket_timeout,
                        retry=None,  # no retries: a dead server shows within the timeout
                        health_check_interval=0,
                    )
                except ValueError as e:
                    raise BackendUnavailable(
                        f"bad Redis URL {self.endpoint}: {redact(str(e))}; use "
                        "redis://[:password@]host:port/db, rediss://... or unix:///path.sock"
                    ) from e
            return self._client

    def _fail(self, exc: BaseException) -> BackendUnavailable:
        # drop the pool: the next call reconnects (a restarted server, a new password)
        with self._lock:
            client, self._client = self._client, None
            self._script = self._values_script = None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
        return BackendUnavailable(
            _reason_of(exc, self.endpoint, max(self.connect_timeout, self.socket_timeout), self.url)
        )

    def pages(self, prefix: str, *, cold: bool = False) -> Iterator[list[Row]]:
        import redis.exceptions

        pattern = glob_escape(prefix) + "*"
        try:
            client = self.client()
            if self._script_ok:
                given = 0
                try:
                    fetch = self._pages_with_values if cold else self._pages_by_script
                    for page in fetch(client, pattern):
                        given += 1
                        yield page
                    return
                except redis.exceptions.ResponseError as e:
                    if given or "WRONGTYPE" in str(e):
                        raise
                    # scripting refused (ACL, managed Redis): plain SCAN and
                    # pipelines from now on
                    self._script_ok = False
            yield from self._pages_by_pipeline(client, pattern)
        except (redis.exceptions.RedisError, OSError) as e:
            raise self._fail(e) from e

    def _pages_with_values(self, client: redis.Redis, pattern: str) -> Iterator[list[Row]]:
        if self._values_script is None:
            self._values_script = client.register_script(_PAGE_VALUES_LUA)
        cursor: bytes | str = "0"
        while True:
            cursor, head, body = self._values_script(args=[cursor, pattern, SCAN_COUNT])
            numbers = [int(n) for n in head.split()]
            page: list[Row] = []
            pos = 0
            for i in range(0, len(numbers), 3):
                vstart = pos + numbers[i + 1]
                end = vstart + numbers[i + 2]
                key = body[pos:vstart].decode("utf-8", "surrogateescape")
                page.append((key, body[vstart:end], numbers[i]))
                pos = end
            yield page
            if cursor in (b"0", "0", 0):
                return

    def _pages_by_script(self, client: redis.Redis, pattern: str) -> Iterator[list[Row]]:
        if self._script is None:
            self._script = client.register_script(_PAGE_LUA)
        cursor: bytes | str = "0"
        while True:
            cursor, head, packed = self._script(args=[cursor, pattern, SCAN_COUNT])
            numbers = [int(n) for n in head.split()]
            pttls: list[int] = []
            keys: list[bytes] = []
            pos = 0
            for i in range(0, len(numbers), 2):
                end = pos + numbers[i + 1]
                if numbers[i] != -2:
                    pttls.append(numbers[i])
                    keys.append(packed[pos:end])
                pos = end
            page: list[Row] = []
            if keys:
                # a key deleted (or retyped) since the script reads as None
                for key, value, pttl in zip(keys, client.mget(keys), pttls, strict=True):
                    if value is not None:
                        page.append((key.decode("utf-8", "surrogateescape"), value, pttl))
            yield page
            if cursor in (b"0", "0", 0):
                return

    def _pages_by_pipeline(self, client: redis.Redis, pattern: str) -> Iterator[list[Row]]:
        """Plain SCAN, then one pipeline per page: MGET of its keys and a PTTL each."""
        cursor: int = 0
        while True:
            cursor, raw_keys = client.scan(cursor, match=pattern, count=SCAN_COUNT)
            keys = [
                k.decode("utf-8", "surrogateescape") if isinstance(k, bytes) else str(k)
                for k in raw_keys
            ]
            page: list[Row] = []
            if keys:
                pipe = client.pipeline(transaction=False)
                pipe.mget(raw_keys)  # a key of another type reads as None
                for key in raw_keys:
                    pipe.pttl(key)
                values, *pttls = pipe.execute()
                for key, value, pttl in zip(keys, values, pttls, strict=True):
                    if value is not None and pttl != -2:
                        page.append((key, value, int(pttl)))
            yield page
            if not cursor:
                return

    def row(self, key: str) -> Row | None:
        import redis.exceptions

        try:
            pipe = self.client().pipeline(transaction=False)
            pipe.get(_raw_key(key))
            pipe.pttl(_raw_key(key))
            value, pttl = pipe.execute()
        except (redis.exceptions.RedisError, OSError) as e:
            raise self._fail(e) from e
        return None if value is None else (key, value, int(pttl))

    def update(self, key: str, transform: Transform) -> bool:
        import redis.exceptions

        try:
            with self.client().pipeline(transaction=True) as pipe:
                for _ in range(_UPDATE_RETRIES):
                    try:
                        pipe.watch(_raw_key(key))  # type: ignore[no-untyped-call]
                        current = pipe.get(_raw_key(key))
                        if current is None:
                            return False
                        text = (
                            current.decode("utf-8", "replace")
                            if isinstance(current, bytes)
                            else str(current)
                        )
                        result = transform(text)
                        if result is None:
                            return False
                        value, ttl = result
                        pipe.multi()
                        if ttl is None:
                            pipe.set(_raw_key(key), value, keepttl=True)
                        elif ttl <= 0:
                            pipe.delete(_raw_key(key))
                        else:
                            pipe.set(_raw_key(key), value, px=max(1, int(ttl * 1000)))
                        pipe.execute()
                        return True
                    except redis.exceptions.WatchError:
                        continue
        except (redis.exceptions.RedisError, OSError) as e:
            raise self._fail(e) from e
        raise ActionFailed(f"{key!r} kept changing under concurrent writers; try again")

    def delete(self, key: str) -> bool:
        import redis.exceptions

        try:
            return bool(self.client().delete(_raw_key(key)))
        except (redis.exceptions.RedisError, OSError) as e:
            raise self._fail(e) from e

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _record(raw: bytes | str) -> dict[str, Any] | None:
    """The session JSON object, or None when ``raw`` is not one."""
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("session_id", ""), str):
        return None
    return data


# metadata values up to this long are shared between sessions (roles,
# flags); longer ones are rarely equal.  At most _SHARED_MAX texts per
# listing: unique values (addresses, counters) must not grow the table.
_SHARED_TEXT = 32
_SHARED_MAX = 4096

_DONE = object()


def _order(entry: _Cached) -> tuple[float, str]:
    """Newest first, then by id (a tuple made while sorting, never kept)."""
    session = entry[3]
    return entry[4], "" if session is None else session.id


def _prefetched(pages: Iterator[list[Row]]) -> Iterator[list[Row]]:
    """``pages``, fetched by a helper thread one page ahead, so Redis works
    on the next page (and the socket wait releases the GIL) while this thread
    turns the last one into sessions.  The helper's errors re-raise here."""
    box: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        box.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            box.put(e)

    thread = threading.Thread(target=fetch, name="kv-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()


# chuk-sessions' SessionStatus values other than active, as the table shows them;
# any other status string is UNKNOWN
_STATUS_STATES = {
    "expired": State.EXPIRED,
    "terminated": State.TERMINATED,
    "invalidated": State.INVALIDATED,
}


def _meta_text(value: object) -> str:
    """A custom metadata value as text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, default=str)


class KvBackend(BaseBackend):
    """Session records under ``key_prefix`` in Redis or a shared memory store.

    ``environ`` replaces ``os.environ`` when the URL comes from
    ``SESSION_REDIS_URL`` / ``REDIS_URL``; ``clock`` is the "now" that remaining
    TTLs and ``expires_at`` are measured from (default the real time).
    """

    kind = "kv"
    capabilities = Capability.LIST | Capability.DELETE | Capability.EXTEND

    def __init__(
        self,
        config: BackendConfig,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not isinstance(config, KvBackendConfig):
            raise TypeError("KvBackend needs a KvBackendConfig")
        super().__init__(config.name)
        self.config = config
        self.prefix = config.key_prefix
        self.provider = canonical_provider(config.provider)
        self.clock = clock
        self._source: _Source
        if self.provider == "memory":
            self._source = _MemorySource(MemoryProvider.shared_store(config.name))
        else:
            env = os.environ if environ is None else environ
            url = (
                config.url
                or env.get("SESSION_REDIS_URL")
                or env.get("REDIS_URL")
                or DEFAULT_REDIS_URL
            )
            self._source = _RedisSource(url, config.connect_timeout, config.socket_timeout)
        self._health: BackendHealth | None = None
        # key -> its _Cached entry: unchanged records are not parsed again
        self._cache: dict[str, _Cached] = {}
        self._shown: list[_Cached] = []  # the cache entries listed, in order

    @property
    def endpoint(self) -> str:
        return self._source.endpoint

    def _make_health(
        self, status: HealthStatus, reason: str = "", sessions: int = 0
    ) -> BackendHealth:
        return BackendHealth(self.name, self.kind, status, reason, sessions, endpoint=self.endpoint)

    def health(self) -> BackendHealth:
        return self._health or self._make_health(HealthStatus.OK)

    # -- listing ---------------------------------------------------------------

    def _session(self, row: Row, now: datetime) -> Session | None:
        return self._build(row, now, {})[0]

    def _build(
        self, row: Row, now: datetime, strings: dict[str, str]
    ) -> tuple[Session | None, float]:
        """The session of a row, and when (epoch s) its state turns EXPIRED
        by its ``expires_at`` (inf: never by the clock alone).  ``strings``
        shares equal texts between the sessions of one listing (metadata keys,
        sandboxes, users, statuses, infos): 100k records hold each once."""
        # hot path: 100k records per refresh must cost a few µs each
        key, raw, pttl = row
        one = strings.setdefault
        sid = key[len(self.prefix) :]
        ref = SessionRef(self.name, sid)
        ttl_text = "none" if pttl == -1 else "set"  # the remaining TTL is `expires`
        record = _record(raw)
        if record is None:
            if self.config.sandbox is not None:
                return None, math.inf
            size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
            return Session(
                ref,
                sid,
                self.kind,
                State.CORRUPT,
                expires=now + timedelta(milliseconds=pttl) if pttl >= 0 else None,
                info=f"not a session record ({size} bytes)",
                metadata={"key": key, "ttl": ttl_text},
            ), math.inf
        sandbox = one(text := str(record.get("sandbox_id") or ""), text)
        if self.config.sandbox is not None and sandbox != self.config.sandbox:
            return None, math.inf
        user = record.get("user_id")
        stated = parse_iso(record.get("expires_at"))
        expires = now + timedelta(milliseconds=pttl) if pttl >= 0 else stated
        expired = pttl == 0 or (stated is not None and stated <= now)
        metadata: dict[str, str] = {
            "sandbox": sandbox,
            "user": one(text := "" if user is None else str(user), text),
            "status": one(text := str(record.get("status") or ""), text),
            "key": key,
            "ttl": ttl_text,
        }
        custom = record.get("custom_metadata")
        if isinstance(custom, dict):
            for k, v in custom.items():
                value = _meta_text(v)
                if len(value) <= _SHARED_TEXT and len(strings) < _SHARED_MAX:
                    value = one(value, value)
                metadata[one(name := f"meta.{k}", name)] = value
        status = record.get("status")
        if status is None or status in ("", "active"):  # chuk's default is active
            state = State.EXPIRED if expired else State.ACTIVE
            flip = math.inf if expired or stated is None else stated.timestamp()
        else:  # the producer's word stands: it never turns EXPIRED by the clock
            state = _STATUS_STATES.get(str(status), State.UNKNOWN)
            flip = math.inf
        info = f"{f'user {user}' if user else 'no user'} · sandbox {sandbox or '?'}"
        return Session(
            ref,
            sid,
            self.kind,
            state,
            created=parse_iso(record.get("created_at")),
            last_active=parse_iso(record.get("last_accessed")),
            expires=expires,
            info=one(info, info),
            metadata=metadata,
        ), flip

    def list_sessions(self) -> list[Session]:
        """Every session record under the prefix (in the sandbox, if set),
        newest first; raises :class:`BackendUnavailable` with the reason.

        Pages stream in (never one list of every value); a record whose value
        and expiry instant did not change since the last listing keeps its
        :class:`Session` without a parse.  Values themselves are not kept:
        only their hash (a changed record whose new value collides with the
        old hash, a 2**-64 chance, shows its change at the next expiry change).
        """
        try:
            pages = self._source.pages(self.prefix, cold=not self._cache)
        except SesstuiError as e:
            self._health = self._make_health(HealthStatus.UNAVAILABLE, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        now = self.clock()
        now_ms = now.timestamp() * 1000
        old = self._cache
        cache: dict[str, _Cached] = {}  # SCAN may return a key twice
        added: list[_Cached] = []
        strings: dict[str, str] = {}
        misses = 0
        try:
            for page in _prefetched(pages):
                for row in page:
                    key, raw, pttl = row
                    deadline = now_ms + pttl if pttl >= 0 else -1.0
                    digest = hash(raw)
                    hit = old.get(key)
                    # an unchanged record keeps its session: same bytes, the
                    # same expiry instant (to the second), not yet past expires_at
                    if (
                        hit is not None
                        and hit[0] == digest
                        and abs(hit[1] - deadline) < 1000
                        and now_ms < hit[2] * 1000
                    ):
                        cache[key] = hit
                        continue
                    misses += 1
                    session, flip = self._build(row, now, strings)
                    order = -session.created.timestamp() if session and session.created else 0.0
                    entry = (digest, deadline, flip, session, order, key)
                    cache[key] = entry  # session None: kept, not shown
                    if session is not None:
                        added.append(entry)
        except SesstuiError as e:
            self._health = self._make_health(HealthStatus.UNAVAILABLE, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        self._cache = cache
        if misses or len(cache) != len(old):
            # newest first, then by id: the unchanged rows are sorted already,
            # so timsort merges in what changed instead of sorting everything
            shown = [e for e in self._shown if cache.get(e[5]) is e]
            shown += added
            shown.sort(key=_order)
            self._shown = shown
        sessions = [e[3] for e in self._shown if e[3] is not None]
        self._health = self._make_health(HealthStatus.OK, "", len(sessions))
        return sessions

    def _key(self, session_id: str) -> str:
        if not session_id or any(c in session_id for c in "\r\n\x00"):
            raise SessionNotFound(f"no session {session_id!r} in backend '{self.name}'")
        return f"{self.prefix}{session_id}"

    def _not_found(self, session_id: str) -> SessionNotFound:
        return SessionNotFound(
            f"no session {session_id!r} at {self.endpoint} (backend '{self.name}'); "
            "it may have expired"
        )

    def get(self, session_id: str) -> Session:
        """One session from one GET + PTTL round trip."""
        row = self._source.row(self._key(session_id))
        session = None if row is None else self._session(row, self.clock())
        if session is None:
            raise self._not_found(session_id)
        return session

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The key with its TTL as the store has it now, and the value: a
        session record's fields (``custom_metadata`` nested), or the raw
        text of a value that is not one."""
        from core.durations import duration_text
        from core.inspection import Section

        key = self._key(session_id)
        row = self._source.row(key)
        if row is None or self._session(row, self.clock()) is None:
            raise self._not_found(session_id)
        _key, raw, pttl = row
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if pttl >= 0:
            ttl = f"{duration_text(timedelta(milliseconds=pttl))} ({pttl / 1000:g} s)"
        else:
            ttl = "none (the key never expires)"
        head = Section.make(
            "kv key",
            {"key": key, "store": self.endpoint, "ttl": ttl, "bytes": len(text.encode())},
        )
        record = _record(raw)
        if record is None:
            return [head, Section.make("value (not a session record)", lines=text.splitlines())]
        custom = record.get("custom_metadata")
        fields = {
            k: (v if isinstance(v, str) or v is None else json.dumps(v, ensure_ascii=False))
            for k, v in record.items()
            if k != "custom_metadata"
        }
        out = [head, Section.make("value", fields)]
        if isinstance(custom, dict):
            out.append(
                Section.make(
                    f"custom_metadata ({len(custom)})",
                    {k: _meta_text(v) for k, v in custom.items()},
                )
            )
        return out

    # -- actions -------------------------------------------------------------

    def extend(self, session_id: str, ttl: timedelta) -> None:
        """Set the remaining lifetime to ``ttl`` from now (``expires_at`` and
        the key TTL in one transaction); ``ttl <= 0`` deletes the session."""
        key = self._key(session_id)
        seconds = ttl.total_seconds()
        if seconds <= 0:
            self.get(session_id)  # within this backend's view (prefix, sandbox)
            if not self._source.delete(key):
                raise self._not_found(session_id)
            return
        corrupt = False
        sandbox = self.config.sandbox

        def apply(value: str) -> tuple[str, float | None] | None:
            nonlocal corrupt
            record = _record(value)
            if record is None:
                corrupt = sandbox is None
                return None
            if sandbox is not None and record.get("sandbox_id") != sandbox:
                return None  # outside this backend's view: not found
            record["expires_at"] = iso(self.clock() + ttl)
            return json.dumps(record), seconds

        if not self._source.update(key, apply):
            if corrupt:
                raise ActionFailed(
                    f"session {session_id!r} is not a valid session record; delete it instead"
                )
            raise self._not_found(session_id)

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        """One entry per named session; an unknown id raises :class:`SessionNotFound`.
        Active sessions are deleted without ``force``: a record has no process
        to cut, and the producer sees it as expired."""
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            session = self.get(sid)
            detail = f"{session.state.value}; {session.info}"
            if self.config.protected and not force:
                skipped.append(PlanSkip(self.name, sid, None, "protected backend (use --force)"))
                continue
            entries.append(
                PlanEntry(self.name, sid, self._key(sid), PruneReason.REQUESTED, None, detail)
            )
        return PrunePlan(self.name, tuple(entries), tuple(skipped), base=self.endpoint)

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Delete exactly the plan's keys; per-entry results."""
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        results: list[EntryResult] = []
        for entry in plan.entries:
            try:
                gone = self._source.delete(self._key(entry.id))
            except SesstuiError as e:
                results.append(EntryResult(entry, False, e.message))
                continue
            results.append(EntryResult(entry, gone, "" if gone else "no longer exists"))
        return PruneResult(self.name, tuple(results))

    def close(self) -> None:
        self._source.close()
