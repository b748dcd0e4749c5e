"""Per-connection session contexts (the workflow-mcp pattern).

A server keeps, per client session, where it works (working directory, config
path, project id) and when it was last used.  :class:`ContextRegistry` is
async-safe, counts its contexts for monitoring, and runs one background task
that drops contexts idle longer than a limit; starting and stopping that task
are idempotent.  Give it a sink and every context is also written to a session
store (KV or JSON), so the dashboard shows the live contexts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.jsonstore.store import SessionRecord

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
    """Where contexts are persisted; every call may do I/O."""

    async def save(self, context: SessionContext, idle_limit: timedelta) -> None: ...

    async def remove(self, context: SessionContext) -> None: ...


class ContextRegistry:
    """Contexts by session id; ``async with registry:`` starts and stops cleanup."""

    def __init__(
        self,
        *,
        idle_limit: timedelta = timedelta(hours=24),
        check_interval: timedelta = timedelta(hours=1),
        sink: ContextSink | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if idle_limit <= timedelta(0) or check_interval <= timedelta(0):
            raise ValueError("idle_limit and check_interval must be positive")
        self.idle_limit = idle_limit
        self.check_interval = check_interval
        self.sink = sink
        self._clock = clock
        self._contexts: dict[str, SessionContext] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

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
        """The session's context, made on first use; marks it used."""
        async with self._lock:
            now = self._clock()
            ctx = self._contexts.get(session_id)
            if ctx is None:
                ctx = SessionContext(session_id, working_dir, config_path, project_id, now, now)
            else:
                ctx = replace(ctx, last_used=now)
            self._contexts[session_id] = ctx
        await self._save(ctx)
        return ctx

    async def update(self, session_id: str, **fields: Path | str | None) -> SessionContext:
        """Change working_dir, config_path or project_id; KeyError if unknown."""
        allowed = {"working_dir", "config_path", "project_id"}
        if set(fields) - allowed:
            raise TypeError(f"unknown context fields {sorted(set(fields) - allowed)}")
        async with self._lock:
            ctx = replace(self._contexts[session_id], last_used=self._clock(), **fields)  # type: ignore[arg-type]
            self._contexts[session_id] = ctx
        await self._save(ctx)
        return ctx

    async def touch(self, session_id: str) -> None:
        """Mark a context used (in memory only: cheap on every request)."""
        async with self._lock:
            ctx = self._contexts.get(session_id)
            if ctx is not None:
                self._contexts[session_id] = replace(ctx, last_used=self._clock())

    def get(self, session_id: str) -> SessionContext | None:
        return self._contexts.get(session_id)

    async def remove(self, session_id: str) -> bool:
        async with self._lock:
            ctx = self._contexts.pop(session_id, None)
        if ctx is not None and self.sink is not None:
            await self.sink.remove(ctx)
        return ctx is not None

    async def cleanup_stale(self) -> int:
        """Drop contexts unused for longer than ``idle_limit``; how many went."""
        async with self._lock:
            cutoff = self._clock() - self.idle_limit
            stale = [c for c in self._contexts.values() if c.last_used < cutoff]
            for c in stale:
                del self._contexts[c.session_id]
        if self.sink is not None:
            for c in stale:
                await self.sink.remove(c)
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
            await self.cleanup_stale()

    async def _save(self, ctx: SessionContext) -> None:
        if self.sink is not None:
            await self.sink.save(ctx, self.idle_limit)


class KvContextSink:
    """Contexts as KV session records (sandbox ``contexts``) whose TTL is the
    idle limit, so the dashboard counts each context's idle time down."""

    def __init__(self, manager: object) -> None:
        """``manager``: a :class:`core.kv.manager.SessionManager`."""
        from core.kv.manager import SessionManager

        if not isinstance(manager, SessionManager):
            raise TypeError("KvContextSink needs a core.kv.manager.SessionManager")
        self.manager = manager

    async def save(self, context: SessionContext, idle_limit: timedelta) -> None:
        sid = context.store_id
        if await self.manager.get_session_info(sid) is None:
            await self.manager.allocate_session(
                ttl_hours=idle_limit.total_seconds() / 3600,
                custom_metadata=context.metadata(),
                session_id=sid,
            )
        else:
            await self.manager.update_session_metadata(sid, context.metadata())

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

    async def save(self, context: SessionContext, idle_limit: timedelta) -> None:
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
