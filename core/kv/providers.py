"""The low-level provider API: ``setex`` / ``get`` / ``delete`` over a store.

Two providers speak the same async API (:class:`KvProvider`):

* :class:`MemoryProvider` keeps keys in this process.  Its :class:`MemoryStore`
  is guarded by a :class:`threading.Lock` (never held across an ``await``), so
  threads and event loops may share it; expired keys vanish on read and in a
  purge.  TTLs count on ``time.monotonic`` unless the store is given a
  ``clock`` (tests move a fake one instead of sleeping).
  There is no process-wide registry: a :class:`MemoryStores` is a set of
  named stores that its *caller* owns and hands to whatever must see the same
  keys (a producer's provider, ``KvBackend(stores=...)``,
  ``Inventory.from_config(memory=...)``), so the dashboard and a demo producer
  share a store only when they are given the same object.
* :class:`RedisProvider` talks to Redis through ``redis.asyncio`` with explicit
  connect and socket timeouts; ``redis`` is imported only when it connects.

:func:`provider_from_env` picks one from ``SESSION_PROVIDER`` (``memory`` /
``mem`` / ``inmemory``, ``redis`` / ``redis_store``) and the Redis URL from
``SESSION_REDIS_URL``, else ``REDIS_URL``.  :func:`factory_for_env` is
chuk-sessions' low-level entry point over the same choice: a factory of
``async with`` sessions with ``set`` / ``setex`` / ``get`` / ``delete``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from core.errors import BackendUnavailable, ConfigError, UsageError
from core.redaction import redact, remember_url_secrets, url_userinfo_problem

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
MEMORY_NAMES = ("memory", "mem", "inmemory")
REDIS_NAMES = ("redis", "redis_store")
# how often a WATCH/MULTI/EXEC read-modify-write retries after a conflict
_UPDATE_RETRIES = 200

# A read-modify-write step: the current value -> (new value, new TTL in
# seconds or None to keep the key's TTL), or None to leave the key as it is.
Transform = Callable[[str], "tuple[str, float | None] | None"]
# The time source of the KV code: an aware "now" (tests inject a fake one).
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real time, in UTC (the default :data:`Clock`)."""
    return datetime.now(UTC)


def canonical_provider(name: str) -> str:
    """``"memory"`` or ``"redis"`` for a provider name or alias; else a ConfigError."""
    key = name.strip().lower()
    if key in MEMORY_NAMES:
        return "memory"
    if key in REDIS_NAMES:
        return "redis"
    known = ", ".join(MEMORY_NAMES + REDIS_NAMES)
    raise ConfigError(f"unknown session provider {name!r}; known providers: {known}")


def redis_url_from_env(env: Mapping[str, str] | None = None) -> str:
    """``SESSION_REDIS_URL``, else ``REDIS_URL``, else the local default."""
    environ = os.environ if env is None else env
    return environ.get("SESSION_REDIS_URL") or environ.get("REDIS_URL") or DEFAULT_REDIS_URL


@runtime_checkable
class KvProvider(Protocol):
    """The async key-value API the session manager builds on."""

    async def setex(self, key: str, ttl_seconds: float, value: str) -> None: ...
    async def get(self, key: str) -> str | None: ...
    async def delete(self, key: str) -> bool: ...

    async def ttl(self, key: str) -> float | None:
        """Seconds left; ``-1.0`` for a key without TTL; None when missing."""
        ...

    async def scan(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (never ``KEYS``)."""
        ...

    async def update(self, key: str, transform: Transform) -> bool:
        """Atomic read-modify-write of one key; False when the key is missing
        or ``transform`` returned None."""
        ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------


class MemoryStore:
    """Keys with optional deadlines, thread-safe.

    Deadlines count on ``time.monotonic`` (immune to wall-clock steps), or on
    ``clock`` when one is given (its instants as POSIX seconds).  Every method
    is synchronous and holds the lock only for dict work, so the async
    provider may call them from a coroutine without blocking a loop for long.
    """

    def __init__(self, name: str = "default", *, clock: Clock | None = None) -> None:
        self.name = name
        self.clock = clock
        self._now: Callable[[], float] = (
            time.monotonic if clock is None else (lambda: clock().timestamp())
        )
        self._lock = threading.Lock()
        self._data: dict[str, tuple[str, float | None]] = {}
        # one more at every write or delete (not at an expiry: a key's deadline
        # says when it goes): a listing with the same version and no deadline
        # passed lists the same
        self.version = 0

    def _live(self, key: str, now: float) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= now:
            del self._data[key]  # lazy expiry
            return None
        return item

    def setex(self, key: str, ttl_seconds: float, value: str) -> None:
        if ttl_seconds <= 0:
            self.delete(key)
            return
        with self._lock:
            self._data[key] = (value, self._now() + ttl_seconds)
            self.version += 1

    def set(self, key: str, value: str) -> None:
        """A key without TTL (what a careless writer leaves behind)."""
        with self._lock:
            self._data[key] = (value, None)
            self.version += 1

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key, self._now())
        return None if item is None else item[0]

    def delete(self, key: str) -> bool:
        with self._lock:
            item = self._live(key, self._now())
            self._data.pop(key, None)
            self.version += 1
        return item is not None

    def pttl(self, key: str) -> int:
        """Milliseconds left, Redis style: -1 without TTL, -2 when missing."""
        now = self._now()
        with self._lock:
            item = self._live(key, now)
        if item is None:
            return -2
        if item[1] is None:
            return -1
        # to the nearest ms: deadline - now in floats can fall a hair short of
        # the TTL just set (a TTL of years came back 1 ms short, now and then)
        return max(0, round((item[1] - now) * 1000))

    def scan(self, prefix: str) -> list[str]:
        now = self._now()
        with self._lock:
            return [k for k in list(self._data) if k.startswith(prefix) and self._live(k, now)]

    def match(self, pattern: str) -> list[str]:
        """Keys matching a glob (for callers that think in Redis patterns)."""
        now = self._now()
        with self._lock:
            keys = [k for k in list(self._data) if self._live(k, now)]
        return fnmatch.filter(keys, pattern)

    def items(self, prefix: str) -> list[tuple[str, str, int]]:
        """``(key, value, pttl_ms)`` for every live key under ``prefix``."""
        return self.rows(self.scan(prefix))

    def rows(self, keys: list[str]) -> list[tuple[str, str, int]]:
        """``(key, value, pttl_ms)`` for those of ``keys`` that are still live
        (a page of a listing: the lock is held for this page only)."""
        now = self._now()
        out: list[tuple[str, str, int]] = []
        with self._lock:
            for key in keys:
                item = self._live(key, now)
                if item is not None:
                    pttl = -1 if item[1] is None else max(0, int((item[1] - now) * 1000))
                    out.append((key, item[0], pttl))
        return out

    def update(self, key: str, transform: Transform) -> bool:
        now = self._now()
        with self._lock:
            item = self._live(key, now)
            if item is None:
                return False
            result = transform(item[0])
            if result is None:
                return False
            value, ttl = result
            self.version += 1
            if ttl is None:
                self._data[key] = (value, item[1])
            elif ttl <= 0:
                del self._data[key]
            else:
                self._data[key] = (value, now + ttl)
        return True

    def purge(self) -> int:
        """Drop every expired key now; how many went."""
        now = self._now()
        with self._lock:
            dead = [k for k, (_, d) in self._data.items() if d is not None and d <= now]
            for k in dead:
                del self._data[k]
        return len(dead)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.version += 1

    def __len__(self) -> int:
        self.purge()
        with self._lock:
            return len(self._data)


class MemoryStores:
    """Named :class:`MemoryStore` objects, owned by whoever makes this.

    Everything given the same ``MemoryStores`` sees the same keys under a
    name: a producer's ``stores.provider("web")`` and a dashboard's
    ``KvBackend`` for the backend named ``web``.  Two ``MemoryStores`` never
    share anything, so tests and embedding programs stay isolated without
    unique names, and dropping the object frees its stores.  Thread-safe.

    ``MemoryStores(a, b)`` starts with the stores ``a`` and ``b`` under their
    names (a caller that made a store first, e.g. on a clock of its own).
    """

    def __init__(self, *stores: MemoryStore) -> None:
        self._stores: dict[str, MemoryStore] = {s.name: s for s in stores}
        self._lock = threading.Lock()

    def store(self, name: str = "default", *, clock: Clock | None = None) -> MemoryStore:
        """The store called ``name``, made on first use (with ``clock``, see
        :class:`MemoryStore`); asking for an existing store with another
        clock is a :class:`UsageError`."""
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                store = self._stores[name] = MemoryStore(name, clock=clock)
            elif clock is not None and store.clock is not clock:
                raise UsageError(
                    f"the memory store {name!r} exists already with another clock; "
                    "pass the clock on its first use, or use another name"
                )
            return store

    def provider(self, name: str = "default", *, clock: Clock | None = None) -> MemoryProvider:
        """An async provider over :meth:`store` ``name``."""
        return MemoryProvider(self.store(name, clock=clock))

    def names(self) -> list[str]:
        """The stores made so far, in order."""
        with self._lock:
            return list(self._stores)

    def clear(self) -> None:
        """Empty every store (they stay, for whoever holds them)."""
        with self._lock:
            stores = list(self._stores.values())
        for store in stores:
            store.clear()


class MemoryProvider:
    """The async provider over a :class:`MemoryStore` (this process only);
    without a store, a private one of its own."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    @property
    def endpoint(self) -> str:
        return f"memory:{self.store.name}"

    async def setex(self, key: str, ttl_seconds: float, value: str) -> None:
        self.store.setex(key, ttl_seconds, value)

    async def get(self, key: str) -> str | None:
        return self.store.get(key)

    async def delete(self, key: str) -> bool:
        return self.store.delete(key)

    async def ttl(self, key: str) -> float | None:
        pttl = self.store.pttl(key)
        if pttl == -2:
            return None
        return -1.0 if pttl == -1 else pttl / 1000

    async def scan(self, prefix: str) -> list[str]:
        return self.store.scan(prefix)

    async def update(self, key: str, transform: Transform) -> bool:
        return self.store.update(key, transform)

    async def close(self) -> None:
        return None


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# the first byte of every RESP2 / RESP3 reply
_RESP_TYPES = frozenset(b"+-:$*_,#!=(%~>|")


def not_redis(url: str, timeout: float) -> str | None:
    """What the server at ``url`` does instead of answering ``PING`` like Redis
    ("answered 'HTTP/1.0 400 Bad request'"), or None when it speaks Redis or
    cannot be asked (TLS, unreachable, a URL that does not parse).  Called only
    after a request failed, to tell "not Redis" from other failures."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
        elif parts.scheme == "redis":
            address = (parts.hostname or "localhost", parts.port or 6379)
            sock = socket.create_connection(address, timeout=timeout)
        else:
            return None
    except (OSError, ValueError):
        return None
    with sock:
        try:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
        except TimeoutError:
            return None  # a hung server: the caller's timeout message says so
        except OSError:
            reply = b""
    if not reply:
        return "it closed the connection without a Redis reply"
    if reply[0] in _RESP_TYPES:
        return None
    first = reply.splitlines()[0].decode("utf-8", "replace")[:40]
    return f"it answered {redact(first)!r}"


def may_be_not_redis(exc: BaseException) -> bool:
    """Does this failure look like a server that is not Redis (worth a probe)?"""
    low = str(exc).lower()
    if "password" in low or "auth" in low:
        return False
    return type(exc).__name__ == "InvalidResponse" or any(
        hint in low for hint in ("closed by server", "protocol error", "invalid", "reset by peer")
    )


def not_redis_message(endpoint: str, heard: str) -> str:
    return (
        f"the server at {endpoint} does not speak Redis ({heard}); "
        "check the URL's host and port point at redis-server"
    )


class RedisProvider:
    """The async provider over Redis (``redis.asyncio``).

    One client per event loop (an asyncio connection belongs to the loop that
    opened it), made on first use.  Connection errors become
    :class:`BackendUnavailable` with the URL's password redacted.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        connect_timeout: float = 2.0,
        socket_timeout: float = 2.0,
    ) -> None:
        self.url = url or redis_url_from_env()
        remember_url_secrets(self.url)  # a second line of defence for echoed URLs
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self._clients: dict[int, Redis] = {}

    @property
    def endpoint(self) -> str:
        return redact(self.url)

    def _client(self) -> Redis:
        from redis.asyncio import Redis

        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            problem = url_userinfo_problem(self.url)
            if problem:
                raise ConfigError(f"bad Redis URL {redact(self.url)}: {problem}")
            try:
                client = Redis.from_url(
                    self.url,
                    socket_connect_timeout=self.connect_timeout,
                    socket_timeout=self.socket_timeout,
                    decode_responses=True,
                )
            except ValueError as e:
                raise ConfigError(f"bad Redis URL {redact(self.url)}: {redact(str(e))}") from e
            self._clients[loop_id] = client
        return client

    def _wrap(self, exc: Exception) -> BackendUnavailable:
        if may_be_not_redis(exc):
            heard = not_redis(self.url, self.connect_timeout)
            if heard is not None:
                return BackendUnavailable(not_redis_message(self.endpoint, heard))
        return BackendUnavailable(
            f"Redis at {self.endpoint} failed: {redact(str(exc)) or type(exc).__name__}"
        )

    async def setex(self, key: str, ttl_seconds: float, value: str) -> None:
        import redis.exceptions

        try:
            await self._client().set(key, value, px=max(1, int(ttl_seconds * 1000)))
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e

    async def get(self, key: str) -> str | None:
        import redis.exceptions

        try:
            value = await self._client().get(key)
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e
        return value if isinstance(value, str) else None

    async def delete(self, key: str) -> bool:
        import redis.exceptions

        try:
            return bool(await self._client().delete(key))
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e

    async def ttl(self, key: str) -> float | None:
        import redis.exceptions

        try:
            pttl = int(await self._client().pttl(key))
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e
        if pttl == -2:
            return None
        return -1.0 if pttl == -1 else pttl / 1000

    async def scan(self, prefix: str) -> list[str]:
        import redis.exceptions

        try:
            return [
                str(k)
                async for k in self._client().scan_iter(match=glob_escape(prefix) + "*", count=1000)
            ]
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e

    async def update(self, key: str, transform: Transform) -> bool:
        """WATCH / GET / MULTI / SET / EXEC, retried when another writer won."""
        import redis.exceptions

        client = self._client()
        try:
            async with client.pipeline(transaction=True) as pipe:
                for _ in range(_UPDATE_RETRIES):
                    try:
                        await pipe.watch(key)
                        current = await pipe.get(key)
                        if current is None:
                            return False
                        result = transform(str(current))
                        if result is None:
                            return False
                        value, ttl = result
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if ttl is None:
                            pipe.set(key, value, keepttl=True)
                        elif ttl <= 0:
                            pipe.delete(key)
                        else:
                            pipe.set(key, value, px=max(1, int(ttl * 1000)))
                        await pipe.execute()
                        return True
                    except redis.exceptions.WatchError:
                        continue
        except redis.exceptions.RedisError as e:
            raise self._wrap(e) from e
        raise BackendUnavailable(
            f"Redis at {self.endpoint}: {key!r} kept changing; gave up after "
            f"{_UPDATE_RETRIES} attempts"
        )

    async def close(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001, S110 - closing a client of a closed loop
                pass


def provider_from_env(
    env: Mapping[str, str] | None = None, *, stores: MemoryStores | None = None
) -> KvProvider:
    """The provider ``SESSION_PROVIDER`` names: memory (the default) over
    the ``default`` store of ``stores`` (without ``stores``, a new private
    store); Redis from ``SESSION_REDIS_URL`` / ``REDIS_URL``."""
    environ = os.environ if env is None else env
    kind = canonical_provider(environ.get("SESSION_PROVIDER") or "memory")
    if kind == "memory":
        return (stores or MemoryStores()).provider("default")
    return RedisProvider(redis_url_from_env(environ))


DEFAULT_SET_TTL = 3600  # s; chuk's SESSION_DEFAULT_TTL default for ``set``


class ProviderSession:
    """What ``async with factory() as session`` gives: chuk's provider session."""

    def __init__(self, provider: KvProvider, default_ttl: float) -> None:
        self.provider = provider
        self.default_ttl = default_ttl

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` with the default TTL (``SESSION_DEFAULT_TTL``, 3600 s)."""
        await self.provider.setex(key, self.default_ttl, value)

    async def setex(self, key: str, ttl: float, value: str) -> None:
        await self.provider.setex(key, ttl, value)

    async def get(self, key: str) -> str | None:
        return await self.provider.get(key)

    async def delete(self, key: str) -> bool:
        return await self.provider.delete(key)

    async def close(self) -> None:
        await self.provider.close()


SessionFactory = Callable[[], AbstractAsyncContextManager[ProviderSession]]


def factory_for_env(
    env: Mapping[str, str] | None = None, *, stores: MemoryStores | None = None
) -> SessionFactory:
    """chuk-sessions' ``factory_for_env``: a factory of ``async with`` sessions
    over the provider the environment names (see :func:`provider_from_env`);
    each session opens its own connection and closes it on exit.  In memory,
    every session of one factory sees the same keys: the ``default`` store of
    ``stores``, or of a :class:`MemoryStores` the factory makes and keeps.

    A bad ``SESSION_PROVIDER`` or ``SESSION_DEFAULT_TTL`` is a ConfigError now,
    not at first use.
    """
    environ = dict(os.environ if env is None else env)
    canonical_provider(environ.get("SESSION_PROVIDER") or "memory")
    raw_ttl = environ.get("SESSION_DEFAULT_TTL", "").strip()
    try:
        default_ttl = int(raw_ttl) if raw_ttl else DEFAULT_SET_TTL
    except ValueError:
        raise ConfigError(
            f"SESSION_DEFAULT_TTL={raw_ttl!r} is not a whole number of seconds"
        ) from None

    owned = stores if stores is not None else MemoryStores()

    @asynccontextmanager
    async def session() -> AsyncIterator[ProviderSession]:
        provider = provider_from_env(environ, stores=owned)
        handle = ProviderSession(provider, default_ttl)
        try:
            yield handle
        finally:
            await handle.close()

    return session
