"""The facade every front end uses: list all backends, find sessions, act on them.

Listing runs every backend concurrently, each with its own timeout.  A backend
that fails or hangs yields a health entry with the reason; it never raises out
of :meth:`Inventory.refresh` and never holds up the others.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from core.backend import (
    Backend,
    Inspectable,
    LineStream,
    PagedLister,
    is_sizer,
)
from core.config.records import AppConfig
from core.errors import (
    AmbiguousSession,
    BackendUnavailable,
    SessionNotFound,
    SesstuiError,
    UsageError,
)
from core.lifecycle import Outcome, SessionActions, Startable, StartChoices
from core.model import (
    BackendHealth,
    Capability,
    HealthStatus,
    PrunePlan,
    PruneResult,
    Session,
    SessionRef,
    SizeInfo,
)

# Startable and StartChoices live in core.lifecycle; their import path stays
__all__ = ["Inventory", "Snapshot", "StartChoices", "Startable", "describe_error"]

if TYPE_CHECKING:
    from core.inspection import Inspection
    from core.journal import Journal
    from core.kv.providers import MemoryStores
    from core.stats import SessionStats


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One refresh: every session found, and the health of every backend."""

    sessions: tuple[Session, ...]
    health: tuple[BackendHealth, ...]
    taken_at: float = field(default_factory=time.time)

    def by_ref(self) -> dict[SessionRef, Session]:
        return {s.ref: s for s in self.sessions}


class _Listing:
    """A listing call running in its own daemon thread, so a hung backend
    cannot block the caller or interpreter exit."""

    def __init__(
        self, backend: Backend, first_page: Callable[[str, list[Session]], None] | None = None
    ) -> None:
        self.backend = backend
        self.first_page = first_page
        self.started = time.monotonic()
        self.sessions: list[Session] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"list-{backend.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            backend, hand = self.backend, self.first_page
            if hand is not None and isinstance(backend, PagedLister):
                self.sessions = backend.list_paged(lambda page: hand(backend.name, page))
            else:
                self.sessions = backend.list_sessions()
        except BaseException as exc:  # noqa: BLE001 - reported as health, never lost
            self.error = exc
        finally:
            self.done.set()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, SesstuiError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return describe_error(exc)


def _plan_or_error(backend: Backend, make: Callable[[], PrunePlan]) -> PrunePlan:
    """A backend's plan, or an empty plan carrying why it could not be made."""
    try:
        return make()
    except SessionNotFound:
        raise  # the user named something that is not there: say so, plainly
    except (SesstuiError, OSError) as exc:
        return PrunePlan(backend.name, (), error=_reason(exc))


def _endpoint(backend: Backend) -> str:
    try:
        return backend.health().endpoint
    except Exception:  # noqa: BLE001 - the endpoint is a nicety; the reason is what matters
        return ""


def _prune_outcome(results: Sequence[PruneResult]) -> Outcome:
    from core.sizes import format_size

    removed = sum(len(r.removed) for r in results)
    freed = sum(r.freed_bytes for r in results)
    failures = [f"{e.entry.backend}:{e.entry.id}: {e.error}" for r in results for e in r.failed]
    failures += [f"{r.backend}: {r.error}" for r in results if r.error]
    detail = f"removed {removed}, freed {format_size(freed)}"
    if failures:
        detail += f"; {len(failures)} failed: " + "; ".join(failures)
    if not failures:
        return Outcome("ok", detail)
    return Outcome("partial" if removed else "failed", detail)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a health chip."""
    if isinstance(exc, SesstuiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class Inventory(SessionActions):
    """All configured backends behind one object."""

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        timeouts: dict[str, float] | None = None,
        config: AppConfig | None = None,
        protected: Iterable[str] = (),
        journal: Journal | None = None,
        source: str = "api",
    ) -> None:
        """``protected`` names backends whose destructive actions need a typed
        confirmation (the front ends enforce it; see :meth:`needs_typed_confirm`).
        ``journal`` records every action (start, stop, extend, prune, delete,
        attach) as done from ``source`` ("cli", "tui" or "api")."""
        names = [b.name for b in backends]
        if len(set(names)) != len(names):
            raise UsageError(f"backend names must be unique, got {names}")
        self.backends: dict[str, Backend] = {b.name: b for b in backends}
        self.timeouts = timeouts or {}
        self.config = config
        self.protected = frozenset(protected)
        self.journal = journal
        self.source = source
        self._inflight: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: AppConfig,
        *,
        source: str = "api",
        journal: Journal | bool | None = True,
        memory: MemoryStores | None = None,
    ) -> Inventory:
        """Backends built from ``config``.  ``journal=True`` records actions in
        the default journal (the state dir's ``journal.jsonl``); pass a
        :class:`~core.journal.Journal` for another, or False/None for none.
        ``memory`` holds the stores of in-memory KV backends: pass the
        :class:`~core.kv.providers.MemoryStores` your producers write into
        (none: each such backend starts with an empty store of its own)."""
        from core.registry import build_backends

        chosen: Journal | None
        if journal is True:
            from core.journal import Journal

            chosen = Journal.default()
        else:
            chosen = journal or None
        return cls(
            build_backends(config, memory=memory),
            timeouts={b.name: b.timeout for b in config.backends},
            config=config,
            protected=[b.name for b in config.backends if b.protected],
            journal=chosen,
            source=source,
        )

    # -- journal --------------------------------------------------------------

    def command_line(self, *args: str) -> str:
        """The ``sesstui`` command line for ``args``, with ``--config FILE``
        when the configuration came from a file."""
        from core.journal import cli_command

        return cli_command(*args, config=self.config.source if self.config else None)

    def _record(
        self, action: str, target: str | Sequence[str], outcome: Outcome, args: Sequence[str]
    ) -> None:
        if self.journal is None:
            return
        self.journal.record(
            action,
            target,
            outcome.result,
            detail=outcome.detail,
            source=self.source,
            command=self.command_line(*args),
        )

    @contextlib.contextmanager
    def _journaled(
        self, action: str, target: str | Sequence[str], args: Sequence[str]
    ) -> Iterator[Outcome]:
        """Record the action when the block ends: its outcome, or the error
        (then re-raised) as a failure."""
        outcome = Outcome()
        try:
            yield outcome
        except Exception as exc:
            self._record(action, target, Outcome("failed", describe_error(exc)), args)
            raise
        self._record(action, target, outcome, args)

    def record_attach(self, ref: SessionRef, *, result: str = "ok", detail: str = "") -> None:
        """Journal an attach; the front ends run the argv themselves (exec or
        a suspended app), so they report it here."""
        self._record("attach", str(ref), Outcome(result, detail), ["attach", str(ref)])

    # -- lookup ---------------------------------------------------------------

    def backend(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(self.backends) or "none configured"
            raise UsageError(f"no backend named '{name}'; configured: {known}") from None

    def select(self, names: Iterable[str] | None) -> list[Backend]:
        if names is None:
            return list(self.backends.values())
        return [self.backend(n) for n in names]

    # -- listing --------------------------------------------------------------

    def refresh(
        self,
        backends: Iterable[str] | None = None,
        *,
        first_page: Callable[[str, list[Session]], None] | None = None,
    ) -> Snapshot:
        """List the chosen (default: all) backends concurrently.

        ``first_page(backend, sessions)``, when given, is called from a
        listing's thread with the first page of each backend that lists in
        pages (:class:`~core.backend.PagedLister`), before the rest is listed."""
        chosen = self.select(backends)
        with self._lock:
            listings: list[tuple[Backend, _Listing, bool]] = []
            for b in chosen:
                prev = self._inflight.get(b.name)
                if prev is not None and not prev.done.is_set():
                    listings.append((b, prev, True))  # still busy from last time
                else:
                    listing = _Listing(b, first_page)
                    self._inflight[b.name] = listing
                    listings.append((b, listing, False))
        sessions: list[Session] = []
        health: list[BackendHealth] = []
        for b, listing, stale in listings:
            timeout = self.timeouts.get(b.name, 5.0)
            remaining = timeout - (time.monotonic() - listing.started)
            listing.done.wait(max(0.0, remaining))
            elapsed = time.monotonic() - listing.started
            if not listing.done.is_set():
                why = "still busy with an earlier listing" if stale else "did not answer"
                health.append(
                    BackendHealth(
                        b.name,
                        b.kind,
                        HealthStatus.UNAVAILABLE,
                        f"{why} within {timeout:g}s",
                        elapsed=elapsed,
                    )
                )
            elif listing.error is not None:
                health.append(
                    BackendHealth(
                        b.name,
                        b.kind,
                        HealthStatus.UNAVAILABLE,
                        describe_error(listing.error),
                        elapsed=elapsed,
                        endpoint=_endpoint(b),  # which engine/server/folder was down
                    )
                )
            else:
                found = listing.sessions or []
                sessions.extend(found)
                try:
                    h = b.health()
                except Exception as exc:  # noqa: BLE001 - health must not raise out
                    h = BackendHealth(b.name, b.kind, HealthStatus.DEGRADED, describe_error(exc))
                health.append(
                    BackendHealth(
                        b.name,
                        b.kind,
                        h.status,
                        h.reason,
                        sessions=len(found),
                        elapsed=elapsed,
                        endpoint=h.endpoint,
                    )
                )
        return Snapshot(tuple(sessions), tuple(health))

    def find(self, text: str, snapshot: Snapshot | None = None) -> Session:
        """A session by ``backend:id``, or by bare id/name across all backends.

        A bare name matching in more than one backend raises AmbiguousSession
        naming them; names match exactly (``foo`` never matches ``foo-10``).
        """
        ref = SessionRef.parse(text)
        if ref is not None and ref.backend in self.backends:
            return self.backend(ref.backend).get(ref.id)
        snap = snapshot or self.refresh()
        hits = [s for s in snap.sessions if text in (s.id, s.name)]
        if not hits:
            down = [h for h in snap.health if h.status is HealthStatus.UNAVAILABLE]
            if down:
                names = ", ".join(f"{h.backend} ({h.reason})" for h in down)
                raise BackendUnavailable(
                    f"no session named '{text}' in the backends that answered; unavailable: {names}"
                )
            if ref is not None:  # `nope:abc`: the backend part is what is wrong
                known = ", ".join(sorted(self.backends)) or "none configured"
                raise SessionNotFound(
                    f"no backend named '{ref.backend}' (backends: {known}); "
                    "see `sesstui ls` for refs"
                )
            raise SessionNotFound(
                f"no session named '{text}'; see `sesstui ls`, or name it as backend:id"
            )
        backends = sorted({s.backend for s in hits})
        if len(backends) > 1:
            raise AmbiguousSession(text, backends)
        if len(hits) > 1:
            refs = ", ".join(str(s.ref) for s in hits)
            raise AmbiguousSession(
                text, backends, message=f"'{text}' names {len(hits)} sessions: {refs}; use one ref"
            )
        return hits[0]

    # -- actions --------------------------------------------------------------

    def measurable(self, sessions: Iterable[Session]) -> list[Session]:
        """The sessions whose backends measure sizes."""
        # asked once per backend: a check against a protocol reads every one
        # of its members (100k sessions: seconds)
        sizers = {name for name, b in self.backends.items() if is_sizer(b)}
        if not sizers:
            return []  # (10k KV sessions: 1 ms a refresh, twice, for nothing)
        return [s for s in sessions if s.backend in sizers]

    def measure(self, sessions: Iterable[Session]) -> Iterator[tuple[SessionRef, SizeInfo]]:
        """Sizes, as each is measured, grouped per backend (others are skipped)."""
        per_backend: dict[str, list[str]] = {}
        for s in self.measurable(sessions):
            per_backend.setdefault(s.backend, []).append(s.id)
        for name, ids in per_backend.items():
            for sid, size in self.backend(name).measure(ids):
                yield SessionRef(name, sid), size

    def inspect(self, ref: SessionRef) -> Inspection:
        """The session's whole record: its row, then what its backend tells
        (see :mod:`core.inspection`); a backend that tells nothing more gives
        the row alone.  Raises SessionNotFound as :meth:`Backend.get` does."""
        from core.inspection import Inspection, session_section

        backend = self.backend(ref.backend)
        session = backend.get(ref.id)
        sections = [session_section(session)]
        if isinstance(backend, Inspectable):
            sections += backend.inspect_sections(ref.id)
        return Inspection(session.ref, session.kind, tuple(sections))

    def stats(
        self,
        sessions: Sequence[Session],
        *,
        interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> list[SessionStats]:
        """Live stats of ``sessions``, in their order (see :mod:`core.stats`).

        Backends whose rates need two readings (tmux CPU, a directory's
        growth) are read, then ``sleep(interval)`` runs once, then every
        backend is read; the rates use ``clock`` for the time between.  A
        kind without stats, or a backend that fails, gives entries with a
        ``note`` saying why; this never raises for a backend's failure."""
        from core.stats import SessionStats, StatsSource

        groups: dict[str, list[Session]] = {}
        for s in sessions:
            groups.setdefault(s.backend, []).append(s)
        sources: dict[str, StatsSource] = {}
        out: dict[SessionRef, SessionStats] = {}
        for name, members in groups.items():
            backend = self.backend(name)
            if isinstance(backend, StatsSource):
                sources[name] = backend
            else:
                why = f"{backend.kind} sessions have no live stats"
                out.update({m.ref: SessionStats(m.ref, m.kind, note=why) for m in members})

        def failed(name: str, exc: BaseException) -> None:
            why = _reason(exc)
            for m in groups[name]:
                out[m.ref] = SessionStats(m.ref, m.kind, note=why)
            sources.pop(name, None)

        before: dict[str, object] = {}
        started = clock()
        for name, src in list(sources.items()):
            if src.two_readings:
                try:
                    before[name] = src.stats_reading(groups[name])
                except Exception as exc:  # noqa: BLE001 - a failing backend gets a note
                    failed(name, exc)
        if before:
            sleep(interval)
        elapsed = clock() - started
        moment = now() if now is not None else datetime.now().astimezone()
        for name, src in list(sources.items()):
            try:
                after = src.stats_reading(groups[name])
                got = src.stats_of(groups[name], before.get(name), after, elapsed, moment)
            except Exception as exc:  # noqa: BLE001 - a failing backend gets a note
                failed(name, exc)
                continue
            for m in groups[name]:
                out[m.ref] = got.get(m.id) or SessionStats(m.ref, m.kind, note="not measured")
        return [out[s.ref] for s in sessions]

    def tail(
        self, ref: SessionRef, *, lines: int = 100, follow: bool = False, source: str | None = None
    ) -> LineStream:
        return self.backend(ref.backend).tail(ref.id, lines=lines, follow=follow, source=source)

    def plan_prune(
        self, backends: Iterable[str] | None = None, *, force: bool = False
    ) -> list[PrunePlan]:
        chosen = [b for b in self.select(backends) if Capability.PRUNE in b.capabilities]
        return [_plan_or_error(b, partial(b.plan_prune, force=force)) for b in chosen]

    def plan_delete(self, refs: Iterable[SessionRef], *, force: bool = False) -> list[PrunePlan]:
        per_backend: dict[str, list[str]] = {}
        for r in dict.fromkeys(refs):  # the same ref twice is one deletion
            per_backend.setdefault(r.backend, []).append(r.id)
        plans = []
        for name, ids in per_backend.items():
            b = self.backend(name)
            plans.append(_plan_or_error(b, partial(b.plan_delete, ids, force=force)))
        return plans

    # -- named specs: start / stop / attach -----------------------------------

    def needs_typed_confirm(self, plans: Iterable[PrunePlan]) -> bool:
        """True when any plan removes something from a protected backend."""
        return any(p.entries and p.backend in self.protected for p in plans)

    def execute(
        self,
        plans: Iterable[PrunePlan],
        *,
        force: bool = False,
        action: str = "prune",
        exact: bool = False,
    ) -> list[PruneResult]:
        """Carry out confirmed plans; per-entry and per-backend errors are in
        the results, and one backend's failure never stops the others.

        ``action`` ("prune" or "delete") is what the journal records, with the
        matching command line.  ``exact``: the plans were cut down to chosen
        sessions (a prune of a selection), so the journal's command names
        them (``sesstui delete A B``); re-running ``sesstui prune`` would
        remove more than was confirmed."""
        if action not in ("prune", "delete"):
            raise UsageError(f"execute: action must be 'prune' or 'delete', not {action!r}")
        todo = [p for p in plans if p.entries]
        if not todo:
            return []
        refs = [str(SessionRef(e.backend, e.id)) for p in todo for e in p.entries]
        if action == "delete" or exact:
            args = ["delete", *refs]
        else:
            args = ["prune"]
            for name in dict.fromkeys(p.backend for p in todo):
                args += ["--backend", name]
        args.append("--yes")
        if force:
            args.append("--force")
        if self.needs_typed_confirm(todo):
            args += ["--confirm-count", str(len(refs))]
        results: list[PruneResult] = []
        with self._journaled(action, refs, args) as outcome:
            for p in todo:
                try:
                    results.append(self.backend(p.backend).prune(p, force=force))
                except (SesstuiError, OSError) as exc:
                    results.append(PruneResult(p.backend, (), error=_reason(exc)))
            done = _prune_outcome(results)
            outcome.result, outcome.detail = done.result, done.detail
        return results

    def close(self) -> None:
        for b in self.backends.values():
            try:
                b.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass
