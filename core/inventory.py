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
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from core.backend import (
    Backend,
    DescribesStop,
    Inspectable,
    LineStream,
    Restartable,
    Resumable,
)
from core.config.records import AppConfig, SessionSpec
from core.errors import (
    ActionNotSupported,
    AmbiguousSession,
    BackendUnavailable,
    SessionNotFound,
    SesstuiError,
    UsageError,
)
from core.model import (
    BackendHealth,
    Capability,
    HealthStatus,
    PrunePlan,
    PruneResult,
    Session,
    SessionRef,
    SizeInfo,
    State,
    StopDescription,
)

if TYPE_CHECKING:
    from core.inspection import Inspection
    from core.journal import Journal
    from core.stats import SessionStats


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One refresh: every session found, and the health of every backend."""

    sessions: tuple[Session, ...]
    health: tuple[BackendHealth, ...]
    taken_at: float = field(default_factory=time.time)

    def by_ref(self) -> dict[SessionRef, Session]:
        return {s.ref: s for s in self.sessions}


@dataclass(frozen=True, slots=True)
class Startable:
    """Something ``start`` can start: a spec that does not run, or a stopped
    session its backend can start again (a stopped container, a tmux session
    whose panes exited).  ``key`` is what :meth:`Inventory.start` takes."""

    key: str
    backend: str
    name: str
    what: str  # for people: "spec: python -m bot", "stopped container" ...
    spec: SessionSpec | None = None
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class StartChoices:
    """What can be started now, and when nothing can, why."""

    items: tuple[Startable, ...]
    reason: str = ""

    def __iter__(self) -> Iterator[Startable]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def _can_resume(backend: Backend) -> bool:
    return isinstance(backend, Resumable)


class _Listing:
    """A listing call running in its own daemon thread, so a hung backend
    cannot block the caller or interpreter exit."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.started = time.monotonic()
        self.sessions: list[Session] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"list-{backend.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sessions = self.backend.list_sessions()
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


@dataclass(slots=True)
class _Outcome:
    """Filled in by an action for its journal entry."""

    result: str = "ok"
    detail: str = ""


def _prune_outcome(results: Sequence[PruneResult]) -> _Outcome:
    from core.history import format_size

    removed = sum(len(r.removed) for r in results)
    freed = sum(r.freed_bytes for r in results)
    failures = [f"{e.entry.backend}:{e.entry.id}: {e.error}" for r in results for e in r.failed]
    failures += [f"{r.backend}: {r.error}" for r in results if r.error]
    detail = f"removed {removed}, freed {format_size(freed)}"
    if failures:
        detail += f"; {len(failures)} failed: " + "; ".join(failures)
    if not failures:
        return _Outcome("ok", detail)
    return _Outcome("partial" if removed else "failed", detail)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a health chip."""
    if isinstance(exc, SesstuiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class Inventory:
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
        cls, config: AppConfig, *, source: str = "api", journal: Journal | bool | None = True
    ) -> Inventory:
        """Backends built from ``config``.  ``journal=True`` records actions in
        the default journal (the state dir's ``journal.jsonl``); pass a
        :class:`~core.journal.Journal` for another, or False/None for none."""
        from core.registry import build_backends

        chosen: Journal | None
        if journal is True:
            from core.journal import Journal

            chosen = Journal.default()
        else:
            chosen = journal or None
        return cls(
            build_backends(config),
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
        self, action: str, target: str | Sequence[str], outcome: _Outcome, args: Sequence[str]
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
    ) -> Iterator[_Outcome]:
        """Record the action when the block ends: its outcome, or the error
        (then re-raised) as a failure."""
        outcome = _Outcome()
        try:
            yield outcome
        except Exception as exc:
            self._record(action, target, _Outcome("failed", describe_error(exc)), args)
            raise
        self._record(action, target, outcome, args)

    def record_attach(self, ref: SessionRef, *, result: str = "ok", detail: str = "") -> None:
        """Journal an attach; the front ends run the argv themselves (exec or
        a suspended app), so they report it here."""
        self._record("attach", str(ref), _Outcome(result, detail), ["attach", str(ref)])

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

    def refresh(self, backends: Iterable[str] | None = None) -> Snapshot:
        """List the chosen (default: all) backends concurrently."""
        chosen = self.select(backends)
        with self._lock:
            listings: list[tuple[Backend, _Listing, bool]] = []
            for b in chosen:
                prev = self._inflight.get(b.name)
                if prev is not None and not prev.done.is_set():
                    listings.append((b, prev, True))  # still busy from last time
                else:
                    listing = _Listing(b)
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
        return [s for s in sessions if Capability.SIZES in self.backend(s.backend).capabilities]

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

    @property
    def specs(self) -> dict[str, SessionSpec]:
        return dict(self.config.sessions) if self.config is not None else {}

    def spec(self, name: str) -> SessionSpec:
        try:
            return self.specs[name]
        except KeyError:
            known = ", ".join(sorted(self.specs)) or "none (add them under `sessions:`)"
            raise SessionNotFound(f"no session spec named '{name}'; specs: {known}") from None

    def can_start(self) -> bool:
        """Whether ``start`` can ever do anything here: a spec whose backend
        starts sessions, or a backend that starts stopped sessions again."""
        return any(_can_resume(b) for b in self.backends.values()) or any(
            spec.backend in self.backends
            and Capability.START in self.backends[spec.backend].capabilities
            for spec in self.specs.values()
        )

    def startable(self, snapshot: Snapshot | None) -> StartChoices:
        """Specs whose backend can start them and that do not run now
        (stopped ones included), then stopped sessions without a spec that
        their backend can start again.  Empty, with the reason, when nothing
        can be started (or no listing was taken yet: ``snapshot`` None)."""
        if snapshot is None:
            return StartChoices((), "nothing listed yet: refresh first")
        by_name = {(s.backend, s.name): s for s in snapshot.sessions}
        items: list[Startable] = []
        running: list[str] = []
        unusable: list[str] = []
        for spec in self.specs.values():
            backend = self.backends.get(spec.backend)
            if backend is None or Capability.START not in backend.capabilities:
                unusable.append(spec.name)
                continue
            current = by_name.get((spec.backend, spec.name))
            if current is not None and current.state.is_live:
                running.append(spec.name)
                continue
            command = " ".join(spec.command) or spec.image or "(default shell)"
            what = command  # as `sessions:` says
            if current is not None:
                what = f"{current.state.value}, from its spec: {command}"
            items.append(Startable(spec.name, spec.backend, spec.name, what, spec, current))
        spec_keys = {(s.backend, s.name) for s in self.specs.values()}
        for session in snapshot.sessions:
            backend = self.backends.get(session.backend)
            if (
                session.state is State.STOPPED
                and backend is not None
                and _can_resume(backend)
                and (session.backend, session.name) not in spec_keys
            ):
                what = f"stopped {session.kind} session" + (
                    f": {session.info}" if session.info else ""
                )
                items.append(
                    Startable(str(session.ref), session.backend, session.name, what, None, session)
                )
        if items:
            return StartChoices(tuple(items))
        return StartChoices((), self._nothing_to_start(running, unusable))

    def _nothing_to_start(self, running: list[str], unusable: list[str]) -> str:
        if not self.specs:
            resumable = [b.name for b in self.backends.values() if _can_resume(b)]
            where = f" and no stopped session in {', '.join(resumable)}" if resumable else ""
            return (
                f"nothing to start: no session specs are configured (add them under "
                f"`sessions:`, see config.example.yml){where}"
            )
        parts = []
        if running:
            parts.append(f"running already: {', '.join(running)}")
        if unusable:
            parts.append(
                f"their backend is missing or cannot start sessions: {', '.join(unusable)}"
            )
        return "nothing to start: every spec is accounted for (" + "; ".join(parts) + ")"

    def start(self, name: str) -> Session:
        """Start the named spec on its backend (a stopped session of that
        spec starts again), or start a stopped session named by ref or
        name (``dk:web``) that its backend can resume."""
        with self._journaled("start", name, ["start", name]) as outcome:
            if name in self.specs:
                spec = self.specs[name]
                backend = self.backend(spec.backend)
                current = self._current(backend, spec.name)
                if (
                    current is not None
                    and current.state is State.STOPPED
                    and isinstance(backend, Resumable)
                ):
                    session = backend.resume(spec.name)
                else:
                    session = backend.start(spec)
            else:
                session = self._resume(name)
            outcome.detail = f"started {session.ref}"
        return session

    @staticmethod
    def _current(backend: Backend, session_id: str) -> Session | None:
        try:
            return backend.get(session_id)
        except SessionNotFound:
            return None

    def _resume(self, text: str) -> Session:
        """A stopped session (not a spec) started again."""
        if not any(_can_resume(b) for b in self.backends.values()):
            self.spec(text)  # only specs can start here: say which exist
        try:
            found = self.find(text)
        except SessionNotFound:
            known = ", ".join(sorted(self.specs)) or "none (add them under `sessions:`)"
            raise SessionNotFound(
                f"nothing named '{text}' to start: no session spec by that name (specs: "
                f"{known}) and no stopped session; see `sesstui start --list`"
            ) from None
        backend = self.backend(found.backend)
        if not isinstance(backend, Resumable):
            raise ActionNotSupported(
                f"cannot start {found.ref}: {found.kind} sessions cannot be started again "
                "by sesstui; see `sesstui start --list` for what can"
            )
        return backend.resume(found.id)

    def restart(self, ref: SessionRef, *, timeout: float | None = None) -> Session:
        """Stop then start the session: the engine's restart for a container;
        for a session from a spec, a graceful stop (see :meth:`stop`) and a
        start from the spec.  Other sessions cannot be started again after a
        stop: :class:`ActionNotSupported`, and nothing is stopped."""
        wait = self.stop_timeout(ref) if timeout is None else timeout
        args = ["restart", str(ref), "--timeout", f"{wait:g}"]
        with self._journaled("restart", str(ref), args) as outcome:
            backend = self.backend(ref.backend)
            spec = self.specs.get(ref.id)
            if isinstance(backend, Restartable):
                session = backend.restart(ref.id, timeout=wait)
            elif spec is not None and spec.backend == ref.backend:
                current = backend.get(ref.id)
                if current.state.is_live or current.state is State.STOPPED:
                    backend.stop(ref.id, graceful=True, timeout=wait)
                session = backend.start(spec)
            else:
                backend.get(ref.id)  # a clear not-found first
                kind = backend.kind
                raise ActionNotSupported(
                    f"cannot restart {ref}: it has no spec under `sessions:`, so after a stop "
                    f"nothing could start it again ({kind} sessions restart only from a spec); "
                    "add a spec for it, or stop it with `sesstui stop`"
                    if Capability.START in backend.capabilities
                    else f"cannot restart {ref}: {kind} sessions cannot be stopped or started"
                )
            outcome.detail = f"restarted {session.ref}"
        return session

    def stop_timeout(self, ref: SessionRef) -> float:
        """The spec's stop_timeout when the session comes from a spec, else 10 s."""
        spec = self.specs.get(ref.id)
        return spec.stop_timeout if spec is not None and spec.backend == ref.backend else 10.0

    def stop_description(self, ref: SessionRef, *, timeout: float | None = None) -> StopDescription:
        """What :meth:`stop` will do to ``ref`` (its kind's signals and waits)."""
        backend = self.backend(ref.backend)
        wait = self.stop_timeout(ref) if timeout is None else timeout
        if Capability.STOP not in backend.capabilities:
            why = f"{backend.kind} sessions cannot be stopped; delete them instead."
            return StopDescription(why, why, "nothing", can_stop=False)
        if isinstance(backend, DescribesStop):
            return backend.describe_stop(ref.id, timeout=wait)
        return StopDescription(
            f"Stop asks it to end and waits up to {wait:g}s before it is killed.",
            "Kill now ends it at once.",
            f"a request to end, then up to {wait:g}s before a kill",
        )

    def stop(self, ref: SessionRef, *, graceful: bool = True, timeout: float | None = None) -> None:
        wait = self.stop_timeout(ref) if timeout is None else timeout
        if graceful:
            action, args = "stop", ["stop", str(ref), "--timeout", f"{wait:g}"]
        else:
            action, args = "kill", ["stop", str(ref), "--force"]
        with self._journaled(action, str(ref), args):
            self.backend(ref.backend).stop(ref.id, graceful=graceful, timeout=wait)

    def extend(self, ref: SessionRef, ttl: timedelta) -> None:
        """Give a TTL session ``ttl`` from now; zero or less expires it now."""
        from core.journal import ttl_text

        if ttl.total_seconds() <= 0:
            action, args = "expire", ["expire", str(ref), "--yes"]
        else:
            action, args = "extend", ["extend", str(ref), "--ttl", ttl_text(ttl)]
        with self._journaled(action, str(ref), args) as outcome:
            backend = self.backend(ref.backend)
            if Capability.EXTEND not in backend.capabilities:
                raise ActionNotSupported(
                    f"cannot {action} {ref}: {backend.kind} sessions have no TTL (only kv "
                    f"sessions do); to end it use `sesstui stop` or `sesstui delete {ref}`"
                )
            backend.extend(ref.id, ttl)
            if action == "extend":
                outcome.detail = f"expires in {ttl_text(ttl)}"

    def attach_argv(self, ref: SessionRef) -> list[str]:
        return self.backend(ref.backend).attach_argv(ref.id)

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
