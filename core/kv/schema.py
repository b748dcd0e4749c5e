"""The ``kv`` kind: its configuration keys and how its backend is built.

``backends: [{kind: kv, provider: redis, url: redis://localhost:6379/0}]`` --
KV session records with TTLs (chuk-sessions convention), in this process's
memory or in Redis.  Adding a key: declare it here with ``key()``, use it in
:mod:`core.kv.backend`, document it in the README and ``config.example.yml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from core.config.fields import key
from core.config.kinds import BuildContext, Kind
from core.config.records import KIND_KEY, BackendConfig
from core.redaction import url_userinfo_problem

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.loader import Node
    from core.config.reader import Context

# the spellings chuk-sessions accepts, to the two providers
_PROVIDERS = {"memory": "memory", "mem": "memory", "inmemory": "memory", "redis": "redis",
              "redis_store": "redis"}  # fmt: skip


def _provider(node: Node, ctx: Context) -> str:
    text = ctx.text(node, "redis", allow_empty=False)
    provider = _PROVIDERS.get(text.lower())
    if provider is None:
        raise ctx.error(
            f"unknown provider {text!r}; use memory (mem, inmemory) or redis (redis_store)", node
        )
    return provider


def _url(node: Node, ctx: Context) -> str | None:
    url = ctx.text(node, "redis://localhost:6379/0")
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ctx.error("url must start with redis://, rediss:// (TLS) or unix:// (a socket)", node)
    problem = url_userinfo_problem(url)
    if problem:
        raise ctx.error(f"this Redis URL cannot be used as written: {problem}", node)
    return url or None


class KvBackendConfig(BackendConfig, frozen=True, kw_only=True):
    """KV session records with TTLs (chuk-sessions convention), memory or Redis."""

    kind: Annotated[str, KIND_KEY] = "kv"
    provider: Annotated[
        str, key("memory (this process; the demo) or redis", "redis", read=_provider)
    ] = "memory"
    # redis://[:password@]host:port/db, rediss:// (TLS), unix:///path.sock?db=0;
    # None = $SESSION_REDIS_URL, else $REDIS_URL, else redis://localhost:6379/0
    url: Annotated[
        str, key("the Redis URL; unset = $SESSION_REDIS_URL, $REDIS_URL or localhost",
                 "redis://localhost:6379/0", read=_url)
    ] | None = None  # fmt: skip
    sandbox: Annotated[str, key("show only this sandbox", "app-1", empty=False)] | None = None
    key_prefix: Annotated[
        str, key("keys outside this prefix are never shown or touched", "session:", empty=False)
    ] = "session:"
    connect_timeout: Annotated[float, key("seconds to connect", "2", gt=0)] = 2.0
    socket_timeout: Annotated[float, key("seconds to wait for an answer", "2", gt=0)] = 2.0


def build(config: BackendConfig, context: BuildContext) -> Backend:
    from core.kv.backend import KvBackend

    return KvBackend(config, stores=context.memory)


KIND = Kind("kv", KvBackendConfig, build)
