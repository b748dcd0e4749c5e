"""The backend contract: a small object per configured backend.

A backend lists its sessions and acts on them by id.  Everything it cannot do
is left to :class:`BaseBackend`, which raises :class:`ActionNotSupported`; its
``capabilities`` flags say which actions work so the UI can grey out the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Protocol, TypeGuard, TypeVar, runtime_checkable

from core.config.records import SessionSpec
from core.errors import ActionNotSupported, SessionNotFound
from core.model import (
    BackendHealth,
    Capability,
    LogLine,
    LogSource,
    PrunePlan,
    PrunePolicy,
    PruneResult,
    Session,
    SizeInfo,
    StopDescription,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING costs an import (see core/__init__.py)
if TYPE_CHECKING:
    from core.inspection import Section


@runtime_checkable
class LineStream(Protocol):
    """Lines of a log, oldest first.  Iterating a following stream blocks until
    a line arrives or :meth:`close` is called (from any thread)."""

    def __iter__(self) -> Iterator[LogLine]: ...

    def read_available(self, timeout: float) -> list[LogLine]:
        """Wait up to ``timeout`` s for lines; return all there are (maybe none).

        UIs call this in a worker so they post lines in batches.
        """
        ...

    @property
    def closed(self) -> bool: ...

    @property
    def done(self) -> bool:
        """True when no more lines will come (all read, or closed).  A reader
        stops there: ``read_available`` on a done stream returns ``[]`` at once."""
        ...

    def close(self) -> None: ...


_Line = TypeVar("_Line")


class Batches(Protocol[_Line]):
    """What :func:`pump` reads: a :class:`LineStream`, or a merged tail."""

    def read_available(self, timeout: float) -> list[_Line]: ...

    @property
    def closed(self) -> bool: ...

    @property
    def done(self) -> bool: ...


def pump(
    stream: Batches[_Line],
    emit: Callable[[list[_Line]], object],
    *,
    stop: Callable[[], bool],
    wait: float = 1.0,
) -> int:
    """Hand each batch of ``stream`` to ``emit`` until the stream is done or
    closed, or ``stop()`` says so; returns how many reads it made.

    The one reading loop of every UI worker, so none can spin: a read that
    brings nothing either waited ``wait`` seconds for it (a live stream), or
    the stream is finished and the loop ends (a JSON transcript, a stopped
    container, an unfollowed file, a pane piped elsewhere).  ``stop`` is
    checked between reads; closing the stream from another thread ends a
    read that waits.
    """
    reads = 0
    while not stop():
        batch = stream.read_available(wait)
        reads += 1
        if batch:
            emit(batch)
        elif stream.done or stream.closed:
            break
    return reads


@runtime_checkable
class Backend(Protocol):
    kind: str
    name: str
    capabilities: Capability

    def health(self) -> BackendHealth: ...
    def list_sessions(self) -> list[Session]: ...
    def get(self, session_id: str) -> Session: ...
    def measure(self, session_ids: Iterable[str]) -> Iterator[tuple[str, SizeInfo]]: ...
    def start(self, spec: SessionSpec) -> Session: ...
    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None: ...
    def attach_argv(self, session_id: str) -> list[str]: ...
    def logs(self, session_id: str) -> list[LogSource]: ...
    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream: ...
    def plan_prune(
        self, policy: PrunePolicy | None = None, *, force: bool = False
    ) -> PrunePlan: ...
    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan: ...
    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult: ...
    def extend(self, session_id: str, ttl: timedelta) -> None: ...
    def close(self) -> None: ...


# -- optional abilities (k9s-style roles), checked with isinstance where used --


@runtime_checkable
class Resumable(Protocol):
    """Starts a stopped session again as it was (a stopped container, a tmux
    session whose panes all exited), without a spec."""

    def resume(self, session_id: str) -> Session: ...


@runtime_checkable
class Restartable(Protocol):
    """Restarts a session in one step of its own (the engine's restart)."""

    def restart(self, session_id: str, *, timeout: float = 10.0) -> Session: ...


@runtime_checkable
class Inspectable(Protocol):
    """Tells the whole record of a session (see :mod:`core.inspection`)."""

    def inspect_sections(self, session_id: str) -> list[Section]: ...


@runtime_checkable
class DescribesStop(Protocol):
    """Says, for people, what a graceful stop and a kill do to a session
    (which signal, what is waited for); one sentence each."""

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription: ...


@runtime_checkable
class RecordViewer(Protocol):
    """Shows a session's stored record as text (a JSON file's record)."""

    def record_text(self, session_id: str) -> str: ...


@runtime_checkable
class PagedLister(Protocol):
    """Lists a big store in pages: the first can be shown before the rest is
    listed (a dashboard's first screen over 100k sessions)."""

    def list_paged(self, first_page: Callable[[list[Session]], None]) -> list[Session]:
        """What :meth:`Backend.list_sessions` returns; ``first_page`` is called
        once, from the listing's thread, with the sessions of the first page
        (not called when the store is empty)."""
        ...


@runtime_checkable
class Sizer(Protocol):
    """Measures sessions' sizes after listing (disk bytes, files)."""

    capabilities: Capability

    def measure(self, session_ids: Iterable[str]) -> Iterator[tuple[str, SizeInfo]]: ...


@runtime_checkable
class TtlExtender(Protocol):
    """Extends a session's TTL, or expires it now (a TTL of zero)."""

    capabilities: Capability

    def extend(self, session_id: str, ttl: timedelta) -> None: ...


# BaseBackend has a default ``measure`` and ``extend`` (both unsupported), so
# every backend has their shape: for these two roles the flag says whether the
# method is the backend's own.


def is_sizer(backend: object) -> TypeGuard[Sizer]:
    """Does ``backend`` measure sizes (the :class:`Sizer` role)?"""
    return isinstance(backend, Sizer) and Capability.SIZES in backend.capabilities


def is_ttl_extender(backend: object) -> TypeGuard[TtlExtender]:
    """Does ``backend`` extend TTLs (the :class:`TtlExtender` role)?"""
    return isinstance(backend, TtlExtender) and Capability.EXTEND in backend.capabilities


class BaseBackend:
    """Defaults for the contract: every action is unsupported until overridden."""

    kind = "base"
    capabilities = Capability.NONE

    def __init__(self, name: str) -> None:
        self.name = name

    def _unsupported(self, action: str) -> ActionNotSupported:
        return ActionNotSupported(f"{self.kind} backend '{self.name}' cannot {action}")

    def health(self) -> BackendHealth:
        raise NotImplementedError

    def list_sessions(self) -> list[Session]:
        raise NotImplementedError

    def get(self, session_id: str) -> Session:
        for session in self.list_sessions():
            if session.id == session_id:
                return session
        raise SessionNotFound(f"no session '{session_id}' in backend '{self.name}'")

    def measure(self, session_ids: Iterable[str]) -> Iterator[tuple[str, SizeInfo]]:
        raise self._unsupported("measure sizes")

    def start(self, spec: SessionSpec) -> Session:
        raise self._unsupported("start sessions")

    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None:
        raise self._unsupported("stop sessions")

    def attach_argv(self, session_id: str) -> list[str]:
        raise self._unsupported("attach")

    def logs(self, session_id: str) -> list[LogSource]:
        return []

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        raise self._unsupported("show logs")

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        raise self._unsupported("prune")

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        raise self._unsupported("delete sessions")

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        raise self._unsupported("prune")

    def extend(self, session_id: str, ttl: timedelta) -> None:
        raise self._unsupported("extend TTLs")

    def close(self) -> None:
        return None
