"""Starting, stopping, restarting, extending and attaching sessions.

The part of :class:`core.inventory.Inventory` that acts on one session at a
time: named specs (``sessions:`` in the config) and the sessions a backend can
start again, stop descriptions and timeouts, TTL extensions and attach argv.
Every action is journaled through the inventory's ``_journaled``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from core.backend import Backend, DescribesStop, Restartable, Resumable, is_ttl_extender
from core.config.records import AppConfig, SessionSpec
from core.errors import ActionNotSupported, SessionNotFound
from core.model import Capability, Session, SessionRef, State, StopDescription

if TYPE_CHECKING:
    from core.inventory import Snapshot


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


@dataclass(slots=True)
class Outcome:
    """Filled in by an action for its journal entry."""

    result: str = "ok"
    detail: str = ""


def _can_resume(backend: Backend) -> bool:
    return isinstance(backend, Resumable)


class SessionActions:
    """Start / restart / stop / extend / attach, mixed into
    :class:`core.inventory.Inventory`, which provides the backends, the
    config, :meth:`backend`, :meth:`find` and the journal."""

    backends: dict[str, Backend]
    config: AppConfig | None

    if TYPE_CHECKING:

        def backend(self, name: str) -> Backend: ...

        def find(self, text: str, snapshot: Snapshot | None = None) -> Session: ...

        def _journaled(
            self, action: str, target: str | Sequence[str], args: Sequence[str]
        ) -> AbstractContextManager[Outcome]: ...

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
            if not is_ttl_extender(backend):
                raise ActionNotSupported(
                    f"cannot {action} {ref}: {backend.kind} sessions have no TTL (only kv "
                    f"sessions do); to end it use `sesstui stop` or `sesstui delete {ref}`"
                )
            backend.extend(ref.id, ttl)
            if action == "extend":
                outcome.detail = f"expires in {ttl_text(ttl)}"

    def attach_argv(self, ref: SessionRef) -> list[str]:
        return self.backend(ref.backend).attach_argv(ref.id)
