"""Where the ``kv`` backend reads its rows: Redis, or a memory store.

Listing never uses ``KEYS``.  :class:`RedisSource` walks ``SCAN MATCH
{prefix}* COUNT 1000 TYPE string`` a page at a time inside a small read-only
Lua script that also returns each key's value and ``PTTL``, asking for the
next page before it hands this one over (Redis reads a page while the caller
builds sessions of the last one).  Where scripting is refused (ACLs, some
managed services) it falls back to plain ``SCAN`` and one pipeline (``MGET``
+ ``PTTL`` per key) per page.

Every Redis call has the config's connect and socket timeouts; an
unreachable, hung, password-protected or non-Redis endpoint is
:class:`BackendUnavailable` with the reason, and the password is redacted
everywhere.  After a failure the next call opens a new connection, so the
backend recovers by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Protocol

from core.errors import ActionFailed, BackendUnavailable
from core.kv.providers import (
    MemoryStore,
    Transform,
    glob_escape,
    may_be_not_redis,
    not_redis,
    not_redis_message,
)
from core.redaction import redact, remember_url_secrets, url_userinfo_problem

if TYPE_CHECKING:
    import redis

SCAN_COUNT = 1000
_UPDATE_RETRIES = 200

# One SCAN page (MATCH, COUNT, TYPE string) with each key's value and PTTL,
# as {cursor, keys, values, pttls}: read-only, one round trip a page, about
# 3 ms of server time per 1000 keys.  The values come back as one RESP item
# each, which hiredis reads in C (packing them into one string in Lua, for
# Python's RESP parser, cost the server twice as much); one MGET costs less
# than a GET per key.  The script is atomic: a key the SCAN found still has
# its value and TTL.  SCAN may return a few more keys than COUNT, never
# near the 8000 values ``unpack`` can take.
_PAGE_LUA = """
local page = redis.call(
  'SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]), 'TYPE', 'string')
local keys, values, pttls = page[2], {}, {}
if #keys > 0 then
  values = redis.call('MGET', unpack(keys))
end
for i, key in ipairs(keys) do
  pttls[i] = redis.call('PTTL', key)
end
return {page[1], keys, values, pttls}
"""

# (key, raw value, pttl in ms: -1 no TTL)
Row = tuple[str, bytes | str, int]


class Source(Protocol):
    endpoint: str

    def pages(self, prefix: str) -> Iterator[list[Row]]:
        """Rows under ``prefix``, a page (about 1000 keys) at a time."""
        ...

    def row(self, key: str) -> Row | None: ...
    def update(self, key: str, transform: Transform) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def close(self) -> None: ...


class MemorySource:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.endpoint = f"memory:{store.name}"

    def pages(self, prefix: str) -> Iterator[list[Row]]:
        keys = self.store.scan(prefix)
        for start in range(0, len(keys), SCAN_COUNT):
            yield list(self.store.rows(keys[start : start + SCAN_COUNT]))

    def stamp(self) -> int:
        """What the store has been through (see :attr:`MemoryStore.version`)."""
        return self.store.version

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


def _borrow(pool: redis.ConnectionPool) -> redis.Connection:
    """A connection of ``pool`` for the caller alone (give it back with
    ``pool.release``)."""
    try:
        return pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name
        return pool.get_connection("EVAL")


def _raw_key(key: str) -> bytes:
    """The key's bytes; listing decodes keys with surrogateescape, so keys that
    are not UTF-8 round-trip."""
    return key.encode("utf-8", "surrogateescape")


class RedisSource:
    def __init__(self, url: str, connect_timeout: float, socket_timeout: float) -> None:
        self.url = url
        remember_url_secrets(url)  # a second line of defence for echoed URLs
        self.endpoint = redact(url)
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
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
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
        return BackendUnavailable(
            _reason_of(exc, self.endpoint, max(self.connect_timeout, self.socket_timeout), self.url)
        )

    def pages(self, prefix: str) -> Generator[list[Row], None, None]:
        import redis.exceptions

        pattern = glob_escape(prefix) + "*"
        try:
            client = self.client()
            if self._script_ok:
                given = 0
                try:
                    for page in self._pages_by_script(client, pattern):
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

    def _pages_by_script(self, client: redis.Redis, pattern: str) -> Iterator[list[Row]]:
        """The page script's pages, one request ahead: the next page is asked
        for before this one is handed over, so Redis works on it while the
        caller turns this one into sessions.  One connection of the pool, no
        thread (a fetch thread had to win the GIL back from the one building
        rows, up to 5 ms each time, to send a request or read a reply)."""
        pool = client.connection_pool
        conn = _borrow(pool)
        asked = False  # a request whose reply is not read yet
        try:
            conn.send_command(  # type: ignore[no-untyped-call]
                "EVAL", _PAGE_LUA, 0, "0", pattern, SCAN_COUNT
            )
            asked = True
            while True:
                cursor, keys, values, pttls = conn.read_response()
                asked = False
                last = cursor in (b"0", "0", 0)
                if not last:
                    conn.send_command(  # type: ignore[no-untyped-call]
                        "EVAL", _PAGE_LUA, 0, cursor, pattern, SCAN_COUNT
                    )
                    asked = True
                yield [
                    (key.decode("utf-8", "surrogateescape"), value, pttl)
                    for key, value, pttl in zip(keys, values, pttls, strict=True)
                    if value is not None and pttl != -2
                ]
                if last:
                    return
        finally:
            if asked:  # the caller stopped (or a reply failed): that reply is never read
                conn.disconnect()  # type: ignore[no-untyped-call]
            pool.release(conn)

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
