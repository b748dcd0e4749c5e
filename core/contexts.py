"""Per-connection session contexts (the workflow-mcp pattern).

A server keeps, per client session, where it works (working directory, config
path, project id) and when it was last used.  :class:`ContextRegistry` is
async-safe, counts its contexts for monitoring, and runs one background task
that drops contexts idle longer than a limit; starting and stopping that task
are idempotent.  Give it a sink and every context is also written to a session
store (KV or JSON), so the dashboard shows the live contexts.

workflow-mcp's ``SessionContextManager`` names work as they do there:
``set_working_directory`` (creates an unknown session), ``get_working_directory``
(None for an unknown one), ``await get_session_count()`` and the module-level
:func:`get_session_context_manager`.  Every read or write of a context marks
it used.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.jsonstore.store import SessionRecord

logger = logging.getLogger("core.contexts")

# ids that every store accepts as they are; others are mapped (see store_id)
_PLAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What a server remembers about one client session."""

    session_id: str
    working_dir: Path | None = None
    config_path: Path | None = None
    project_id: str | None = None
    created_at: datetime = _EPOCH
    last_used: datetime = _EPOCH

    @property
    def working_directory(self) -> str | None:
        """workflow-mcp's field: the working directory as a string, or None."""
        return None if self.working_dir is None else str(self.working_dir)

    @property
    def store_id(self) -> str:
        """The id used in stores: the session id when it is a plain token,
        else ``ctx-`` and a digest of it (the original is in the metadata)."""
        if _PLAIN_ID.fullmatch(self.session_id):
            return self.session_id
        return "ctx-" + hashlib.sha256(self.session_id.encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, str]:
        out = {"kind": "context", "context_id": self.session_id,
               "last_used": self.last_used.isoformat()}  # fmt: skip
        if self.working_dir is not None:
            out["working_dir"] = str(self.working_dir)
        if self.config_path is not None:
            out["config_path"] = str(self.config_path)
        if self.project_id is not None:
            out["project_id"] = self.project_id
        return out


class ContextSink(Protocol):
    """Where contexts are persisted; every call may do I/O.

    ``save`` writes the context and, for a store with TTLs, gives its record
    ``ttl`` from now (it is called again each time the context is used)."""

    async def save(self, context: SessionContext, ttl: timedelta) -> None: ...

    async def remove(self, context: SessionContext) -> None: ...


class ContextRegistry:
    """Contexts by session id; ``async with registry:`` starts and stops cleanup.

    With a sink, a context is written when it is made or changed, and again
    when it is used once ``refresh_interval`` (default: a minute, or a tenth
    of the idle limit when that is shorter) has passed since its last write:
    the record's TTL is ``idle_limit + refresh_interval`` from that write, so
    a context in use never lapses in the store, and one left idle lapses soon
    after the registry would drop it.  A sink call that fails is logged and
    never breaks the caller or the cleanup task; a removal that failed is
    tried again at the next cleanup.
    """

    def __init__(
        self,
        *,
        idle_limit: timedelta = timedelta(hours=24),
        check_interval: timedelta = timedelta(hours=1),
        sink: ContextSink | None = None,
        clock: Callable[[], datetime] = _utc_now,
        refresh_interval: timedelta | None = None,
    ) -> None:
        if idle_limit <= timedelta(0) or check_interval <= timedelta(0):
            raise ValueError("idle_limit and check_interval must be positive")
        if refresh_interval is None:
            refresh_interval = min(timedelta(minutes=1), idle_limit / 10)
        if refresh_interval < timedelta(0):
            raise ValueError("refresh_interval must not be negative")
        self.idle_limit = idle_limit
        self.check_interval = check_interval
        self.refresh_interval = refresh_interval
        self.sink = sink
        self._clock = clock
        self._contexts: dict[str, SessionContext] = {}
        self._saved_at: dict[str, datetime] = {}
        self._pending_removals: dict[str, SessionContext] = {}
        self._refreshes: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def store_ttl(self) -> timedelta:
        """The TTL a persisted context's record gets at each write."""
        return self.idle_limit + self.refresh_interval

    @property
    def count(self) -> int:
        """How many contexts are held (for monitoring)."""
        return len(self._contexts)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def get_or_create(
        self,
        session_id: str,
        *,
        working_dir: Path | None = None,
        config_path: Path | None = None,
        project_id: str | None = None,
    ) -> SessionContext:
        """The session's context, made on first use; marks it used.

        The fields given only apply when the context is made (as before)."""
        async with self._lock:
            now = self._clock()
            ctx = self._contexts.get(session_id)
            made = ctx is None
            if ctx is None:
                ctx = SessionContext(session_id, working_dir, config_path, project_id, now, now)
            else:
                ctx = replace(ctx, last_used=now)
            self._contexts[session_id] = ctx
        await self._save(ctx, force=made)
        return ctx

    async def set_working_directory(self, session_id: str, directory: str | Path) -> None:
        """workflow-mcp's call: set this session's working directory, making
        the context when the session is unknown; marks it used."""
        async with self._lock:
            now = self._clock()
            ctx = self._contexts.get(session_id) or SessionContext(
                session_id, created_at=now, last_used=now
            )
            ctx = replace(ctx, working_dir=Path(directory), last_used=now)
            self._contexts[session_id] = ctx
        await self._save(ctx, force=True)

    async def get_working_directory(self, session_id: str) -> str | None:
        """workflow-mcp's call: the session's working directory, or None when
        the session is unknown or has none; marks a known session used."""
        async with self._lock:
            ctx = self._mark_used(session_id)
        if ctx is None:
            return None
        await self._save(ctx)
        return ctx.working_directory

    async def get_session_count(self) -> int:
        """workflow-mcp's call: how many contexts are held (for monitoring)."""
        async with self._lock:
            return len(self._contexts)

    async def update(self, session_id: str, **fields: Path | str | None) -> SessionContext:
        """Change working_dir, config_path or project_id; KeyError if unknown."""
        allowed = {"working_dir", "config_path", "project_id"}
        if set(fields) - allowed:
            raise TypeError(f"unknown context fields {sorted(set(fields) - allowed)}")
        async with self._lock:
            ctx = replace(self._contexts[session_id], last_used=self._clock(), **fields)  # type: ignore[arg-type]
            self._contexts[session_id] = ctx
        await self._save(ctx, force=True)
        return ctx

    async def touch(self, session_id: str) -> None:
        """Mark a context used; its store record is refreshed when due."""
        async with self._lock:
            ctx = self._mark_used(session_id)
        if ctx is not None:
            await self._save(ctx)

    def get(self, session_id: str) -> SessionContext | None:
        """The context, or None; reading marks it used.

        Synchronous: when the store record is due a refresh, that write is
        scheduled on the running event loop (if there is one)."""
        ctx = self._mark_used(session_id)
        if ctx is not None and self._refresh_due(ctx):
            with contextlib.suppress(RuntimeError):  # no running loop: next use refreshes
                task = asyncio.get_running_loop().create_task(self._save(ctx))
                self._refreshes.add(task)
                task.add_done_callback(self._refreshes.discard)
        return ctx

    def _mark_used(self, session_id: str) -> SessionContext | None:
        # no await in here: atomic for the coroutines of this loop
        ctx = self._contexts.get(session_id)
        if ctx is not None:
            ctx = replace(ctx, last_used=self._clock())
            self._contexts[session_id] = ctx
        return ctx

    async def remove(self, session_id: str) -> bool:
        async with self._lock:
            ctx = self._contexts.pop(session_id, None)
            self._saved_at.pop(session_id, None)
        if ctx is not None and self.sink is not None:
            await self.sink.remove(ctx)
        return ctx is not None

    async def cleanup_stale(self) -> int:
        """Drop contexts unused for longer than ``idle_limit``; how many went.

        Each removal from the sink is tried on its own: one that raises is
        logged, kept and tried again at the next cleanup; the others go on.
        """
        async with self._lock:
            cutoff = self._clock() - self.idle_limit
            stale = [c for c in self._contexts.values() if c.last_used < cutoff]
            for c in stale:
                del self._contexts[c.session_id]
                self._saved_at.pop(c.session_id, None)
            if self.sink is not None:
                for c in stale:
                    self._pending_removals[c.session_id] = c
            pending = list(self._pending_removals.values())
        if self.sink is not None:
            for c in pending:
                try:
                    await self.sink.remove(c)
                except Exception:
                    logger.warning(
                        "context %r: removing it from the store failed; trying again "
                        "at the next cleanup",
                        c.session_id,
                        exc_info=True,
                    )
                    continue
                async with self._lock:
                    self._pending_removals.pop(c.session_id, None)
        return len(stale)

    async def start(self) -> None:
        """Start the cleanup task; a second call while it runs does nothing."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name="context-cleanup")

    async def stop(self) -> None:
        """Stop the cleanup task and wait for it; safe to call when stopped."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> ContextRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval.total_seconds())
            try:
                await self.cleanup_stale()
            except Exception:
                # the task must outlive one bad round, or stale contexts stay forever
                logger.warning("context cleanup failed; trying again later", exc_info=True)

    def _refresh_due(self, ctx: SessionContext) -> bool:
        if self.sink is None:
            return False
        saved = self._saved_at.get(ctx.session_id)
        return saved is None or ctx.last_used - saved >= self.refresh_interval

    async def _save(self, ctx: SessionContext, *, force: bool = False) -> None:
        if self.sink is None or not (force or self._refresh_due(ctx)):
            return
        self._saved_at[ctx.session_id] = ctx.last_used
        try:
            await self.sink.save(ctx, self.store_ttl)
        except Exception:
            # the context is in memory and usable; the store catches up at the next use
            self._saved_at.pop(ctx.session_id, None)
            if force:
                raise
            logger.warning("context %r: refreshing its store record failed", ctx.session_id,
                           exc_info=True)  # fmt: skip


SessionContextManager = ContextRegistry
"""workflow-mcp's name for the registry."""

_default: ContextRegistry | None = None


def get_session_context_manager() -> ContextRegistry:
    """workflow-mcp's module-level accessor: the process-wide registry, made on
    first use (start its cleanup with ``await ...start()`` in the server's
    lifespan, as there)."""
    global _default  # noqa: PLW0603 - the one process-wide registry, as in workflow-mcp
    if _default is None:
        _default = ContextRegistry()
    return _default


class KvContextSink:
    """Contexts as KV session records (sandbox ``contexts``) whose TTL is the
    idle limit, so the dashboard counts each context's idle time down."""

    def __init__(self, manager: object) -> None:
        """``manager``: a :class:`core.kv.manager.SessionManager`."""
        from core.kv.manager import SessionManager

        if not isinstance(manager, SessionManager):
            raise TypeError("KvContextSink needs a core.kv.manager.SessionManager")
        self.manager = manager

    async def save(self, context: SessionContext, ttl: timedelta) -> None:
        """Write the context's metadata and give its record ``ttl`` from now
        (``expires_at`` and the key's TTL together), in one atomic update; a
        record that lapsed or was deleted is allocated again."""
        from core.kv.manager import iso

        sid = context.store_id
        manager = self.manager
        now = manager.clock()
        fresh = context.metadata()

        unreadable: list[str] = []

        def refresh(value: str) -> tuple[str, float | None] | None:
            try:
                record = json.loads(value)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                unreadable.append(value)  # never overwritten: left for a person to see
                return None
            meta = record.get("custom_metadata")
            record["custom_metadata"] = {**(meta if isinstance(meta, dict) else {}), **fresh}
            record["expires_at"] = iso(now + ttl)
            record["last_accessed"] = iso(now)
            return json.dumps(record), ttl.total_seconds()

        if await manager.provider.update(manager.key(sid), refresh):
            return
        if unreadable:
            raise ValueError(
                f"the record {manager.key(sid)} is not a session record; "
                "delete it (sesstui delete) to let the context be stored again"
            )
        await manager.allocate_session(
            ttl_hours=ttl.total_seconds() / 3600, custom_metadata=fresh, session_id=sid
        )

    async def remove(self, context: SessionContext) -> None:
        await self.manager.delete_session(context.store_id)


class JsonContextSink:
    """Contexts as JSON session records in workspace ``contexts``; a removed
    context's record is ended, not deleted (its history stays)."""

    WORKSPACE = "contexts"

    def __init__(self, manager: object) -> None:
        """``manager``: a :class:`core.jsonstore.manager.SessionManager`."""
        from core.jsonstore.manager import SessionManager

        if not isinstance(manager, SessionManager):
            raise TypeError("JsonContextSink needs a core.jsonstore.manager.SessionManager")
        self.manager = manager

    async def save(self, context: SessionContext, ttl: timedelta) -> None:
        # no TTLs in JSON records: ``ttl`` is not used
        # the JSON store is synchronous file I/O: keep it off the event loop
        await asyncio.to_thread(self._save, context)

    def _save(self, context: SessionContext) -> None:
        sid = context.store_id
        if self.manager.get_session(sid) is None:
            self.manager.start_session(
                workspace_id=self.WORKSPACE,
                agent_id="context-registry",
                metadata=context.metadata(),
                session_id=sid,
            )
        else:
            now = _utc_now().isoformat()
            fresh = context.metadata()

            def merge(rec: SessionRecord) -> SessionRecord:
                return replace(rec, metadata={**rec.metadata, **fresh}, updated_at=now)

            # the store's locked read-modify-write, like every manager mutation
            self.manager.store.update_session(sid, merge)

    async def remove(self, context: SessionContext) -> None:
        await asyncio.to_thread(self.manager.end_session, context.store_id)
