"""Where the ``kv`` backend reads its rows: Redis, or a memory store.

Listing never uses ``KEYS``.  :class:`RedisSource` walks ``SCAN MATCH
{prefix}* COUNT 1000 TYPE string`` a page at a time inside a small read-only
Lua script that also returns each key's ``PTTL`` packed into one string;
values come with it on a first listing, else from one ``MGET`` per page.
Where scripting is refused (ACLs, some managed services) it falls back to
plain ``SCAN`` and one pipeline (``MGET`` + ``PTTL`` per key) per page.
:func:`prefetched` runs the page fetches in a helper thread, one page ahead.

Every Redis call has the config's connect and socket timeouts; an
unreachable, hung, password-protected or non-Redis endpoint is
:class:`BackendUnavailable` with the reason, and the password is redacted
everywhere.  After a failure the next call opens a new connection, so the
backend recovers by itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
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
    from redis.commands.core import Script

SCAN_COUNT = 1000
_READ_SIZE = 1 << 20
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


class Source(Protocol):
    endpoint: str

    def pages(self, prefix: str, *, cold: bool = False) -> Iterator[list[Row]]:
        """Rows under ``prefix``, a page (about 1000 keys) at a time; ``cold``
        says the caller will parse every value (nothing cached)."""
        ...

    def row(self, key: str) -> Row | None: ...
    def update(self, key: str, transform: Transform) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def close(self) -> None: ...


class MemorySource:
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


class RedisSource:
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
                        # a page's reply (about 0.5 MB) in one or two reads: each
                        # read takes the GIL back from the thread building rows,
                        # which may hold it up to the switch interval (5 ms)
                        socket_read_size=_READ_SIZE,
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


_DONE = object()


def prefetched(pages: Iterator[list[Row]]) -> Iterator[list[Row]]:
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
