"""Deterministic stand-ins used ONLY to make TUI snapshots reproducible.

Behaviour tests use real backends; these exist because real directories carry
random names, tmp paths and filesystem-dependent sizes that would make every
snapshot differ between machines.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from core.backend import BaseBackend, LineStream
from core.config.records import AppConfig, SessionSpec, UIConfig
from core.dirs.schema import DirsBackendConfig
from core.errors import BackendUnavailable
from core.model import (
    BackendHealth,
    Capability,
    Facts,
    HealthStatus,
    LogLine,
    LogSource,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PrunePolicy,
    PruneReason,
    Session,
    SessionRef,
    SizeInfo,
    State,
    StopDescription,
)

FROZEN = datetime(2026, 11, 21, 14, 30, 0).astimezone()


def frozen_clock() -> datetime:
    return FROZEN


class ListStream:
    """A LineStream over fixed lines; following yields nothing more."""

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = [LogLine(t) for t in lines]
        self._closed = threading.Event()
        self.path = None

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self._lines)

    def read_available(self, timeout: float) -> list[LogLine]:
        out, self._lines = self._lines, []
        if not out:
            self._closed.wait(timeout)
        return out

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def done(self) -> bool:
        """Following never ends by itself: done once closed."""
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()


class StaticBackend(BaseBackend):
    """Fixed sessions, sizes and logs; shaped like the dirs backend."""

    kind = "dirs"
    capabilities = (
        Capability.LIST | Capability.SIZES | Capability.LOGS | Capability.PRUNE | Capability.DELETE
    )

    def __init__(
        self,
        name: str,
        sessions: Sequence[Session],
        sizes: dict[str, SizeInfo],
        logs: Sequence[str] = (),
        down: str = "",
    ) -> None:
        super().__init__(name)
        self._sessions = list(sessions)
        self._sizes = sizes
        self._logs = list(logs)
        self._down = down

    def health(self) -> BackendHealth:
        return BackendHealth(self.name, self.kind, HealthStatus.OK)

    def list_sessions(self) -> list[Session]:
        if self._down:
            raise BackendUnavailable(self._down)
        return list(self._sessions)

    def measure(self, session_ids: Iterable[str]) -> Iterator[tuple[str, SizeInfo]]:
        for sid in session_ids:
            if sid in self._sizes:
                yield sid, self._sizes[sid]

    def logs(self, session_id: str) -> list[LogSource]:
        return [LogSource("logs/app.log", None, 18_432, FROZEN.timestamp())] if self._logs else []

    def tail(
        self, session_id: str, *, lines: int = 100, follow: bool = False, source: str | None = None
    ) -> LineStream:
        return ListStream(self._logs[-lines:] if lines else [])

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        old = sorted(self._sessions, key=lambda s: s.created or FROZEN)
        entries = tuple(
            PlanEntry(
                self.name,
                s.id,
                s.path,
                PruneReason.AGE if i else PruneReason.COUNT,
                self._sizes[s.id].disk,
                "older than 10 days" if i else "beyond the newest 20",
            )
            for i, s in enumerate(old[:3])
            if len(old) > 3
        )
        skipped = tuple(
            PlanSkip(self.name, s.id, s.path, f"active: pid {s.pid} is running") for s in old[3:4]
        )
        return PrunePlan(self.name, entries, skipped, policy, "/srv/runs")


def _session(backend: str, n: int, age: timedelta, state: State, pid: int) -> Session:
    created = FROZEN - age
    name = f"{created:%Y-%m-%d-%H-%M-%S}_{pid}_{n:08x}{'a' * 24}"
    return Session(
        ref=SessionRef(backend, f"session_{name}"),
        name=f"{created:%Y-%m-%d-%H-%M-%S}_{n:06x}",
        kind="dirs",
        state=state,
        created=created,
        last_active=created + min(age, timedelta(minutes=40)),
        path=f"/srv/{backend}/session_{name}",
        info=f"pid {pid}" + (" (running)" if state is State.ACTIVE else ""),
        pid=pid,
        metadata={"pid": str(pid), "uuid": f"{n:08x}{'a' * 24}"},
    )


class StaticTmuxBackend(BaseBackend):
    """Fixed tmux-like sessions: attachable, startable, stoppable (as rows)."""

    kind = "tmux"
    capabilities = (
        Capability.LIST | Capability.LOGS | Capability.START | Capability.STOP | Capability.ATTACH
    )

    def __init__(self, name: str, sessions: Sequence[Session], logs: Sequence[str]) -> None:
        super().__init__(name)
        self._sessions = list(sessions)
        self._logs = list(logs)

    def health(self) -> BackendHealth:
        return BackendHealth(self.name, self.kind, HealthStatus.OK, endpoint="-L work")

    def list_sessions(self) -> list[Session]:
        return list(self._sessions)

    def logs(self, session_id: str) -> list[LogSource]:
        return [LogSource("pane", None, None, None)]

    def tail(
        self, session_id: str, *, lines: int = 100, follow: bool = False, source: str | None = None
    ) -> LineStream:
        return ListStream(self._logs[-lines:] if lines else [])

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription:
        """The real backend's words, so dialogs show what the product shows."""
        if self.kind == "docker":
            from core.docker.backend import docker_stop_description

            return docker_stop_description(timeout)
        from core.tmux.backend import tmux_stop_description

        return tmux_stop_description(timeout)


def _tmux(name: str, age: timedelta, windows: int, attached: int, cwd: str, cmd: str) -> Session:
    created = FROZEN - age
    info = f"{windows} win" + (f" · {attached} attached" if attached else "")
    return Session(
        ref=SessionRef("work", name),
        name=name,
        kind="tmux",
        state=State.RUNNING,
        created=created,
        last_active=FROZEN - min(age, timedelta(seconds=40)),
        path=cwd,
        attachable=True,
        info=info,
        metadata={"windows": str(windows), "clients": str(attached), "command": cmd, "cwd": cwd},
        facts=Facts(cwds=(cwd,), clients=attached),
    )


class StaticDockerBackend(StaticTmuxBackend):
    """Fixed container rows: like the tmux stand-in, plus delete and prune."""

    kind = "docker"
    capabilities = StaticTmuxBackend.capabilities | Capability.DELETE | Capability.PRUNE

    def health(self) -> BackendHealth:
        return BackendHealth(self.name, self.kind, HealthStatus.OK, endpoint="unix:///run/d.sock")


def _container(
    name: str, image: str, age: timedelta, running: bool, status: str, ports: str
) -> Session:
    created = FROZEN - age
    return Session(
        ref=SessionRef("docker", name),
        name=name,
        kind="docker",
        state=State.RUNNING if running else State.STOPPED,
        created=created,
        last_active=created,
        attachable=running,
        info=f"{image} · {status}" + (f" · {ports}" if ports else ""),
        metadata={
            "image": image,
            "status": status,
            "ports": ports,
            "container": "0f3c" + name,  # fixed: hash() is randomised per process
        },
        facts=Facts(container_id="0f3c" + name),
    )


class StaticRecordsBackend(BaseBackend):
    """Fixed KV or JSON session records (TTL rows need EXTEND for the column)."""

    def __init__(self, name: str, kind: str, sessions: Sequence[Session]) -> None:
        super().__init__(name)
        self.kind = kind
        self.capabilities = (
            Capability.LIST
            | Capability.DELETE
            | (Capability.EXTEND if kind == "kv" else Capability.PRUNE)
        )
        self._sessions = list(sessions)

    def health(self) -> BackendHealth:
        where = "redis://:***@127.0.0.1:6379/0" if self.kind == "kv" else "/srv/agent-sessions"
        return BackendHealth(self.name, self.kind, HealthStatus.OK, endpoint=where)

    def list_sessions(self) -> list[Session]:
        return list(self._sessions)


def _kv(sid: str, user: str, sandbox: str, age: timedelta, left: timedelta) -> Session:
    return Session(
        ref=SessionRef("web", sid),
        name=sid,
        kind="kv",
        state=State.ACTIVE,
        created=FROZEN - age,
        last_active=FROZEN - min(age, timedelta(minutes=2)),
        expires=FROZEN + left,
        info=f"user {user} · sandbox {sandbox}",
        metadata={"sandbox": sandbox, "user": user, "status": "active", "meta.plan": "pro"},
        facts=Facts(key=f"session:{sid}"),
    )


def _js(sid: str, ws: str, agent: str, turns: int, age: timedelta, ended: bool) -> Session:
    return Session(
        ref=SessionRef("agents", f"{ws}/{sid}"),
        name=sid,
        kind="json",
        state=State.ENDED if ended else State.ACTIVE,
        created=FROZEN - age,
        last_active=FROZEN - age / 2,
        size=SizeInfo(2048 * turns, 4096 * (1 + turns // 2), 1),
        path=f"/srv/agent-sessions/{ws}/{sid}.json",
        info=f"agent {agent} · {turns} turns · ws {ws}",
        metadata={"workspace": ws, "agent": agent, "turns": str(turns)},
        facts=Facts(turns=turns),
    )


def sample_backends(
    *, down: bool = False, tmux: bool = False, docker: bool = False, stores: bool = False
) -> list[BaseBackend]:
    hours = [4 / 60, 3, 26, 4 * 24, 12 * 24, 19 * 24, 33 * 24]
    ages = [timedelta(hours=h) for h in hours]
    runs = [
        _session("runs", i, a, State.ACTIVE if i == 0 else State.IDLE, 4242 + i * 17)
        for i, a in enumerate(ages)
    ]
    sizes = {
        s.id: SizeInfo(4096 * (i + 1) ** 3, 4096 * (i + 1) ** 3, 3 + i) for i, s in enumerate(runs)
    }
    logs = [
        f"2026-11-21 14:{m:02d}:00 INFO    ingest: processed batch {m} ({1000 + m * 7} rows)"
        for m in range(30)
    ] + ["2026-11-21 14:29:59 WARNING ingest: slow batch 30: retrying"]
    ci = [
        _session("ci", 90 + i, timedelta(hours=5 * i + 1), State.IDLE, 7000 + i) for i in range(2)
    ]
    ci_sizes = {s.id: SizeInfo(1 << (20 + i), 1 << (20 + i), 10) for i, s in enumerate(ci)}
    backends: list[BaseBackend] = [
        StaticBackend("runs", runs, sizes, logs),
        StaticBackend("ci", ci, ci_sizes, logs[:5]),
    ]
    if tmux:
        pane = [f"$ python -m bot --port 80{n:02d}" for n in range(3)] + [
            "bot: listening on :8080",
            "bot: 2 clients connected",
        ]
        backends.insert(
            1,
            StaticTmuxBackend(
                "work",
                [
                    # its pane works inside the newest session directory: related
                    _tmux("bot", timedelta(minutes=4), 3, 1, f"{runs[0].path}/work", "python"),
                    _tmux("build", timedelta(hours=2), 1, 0, "/srv/src/app", "make"),
                    _tmux("build-10", timedelta(days=1), 2, 0, "/srv/src/app", "bash"),
                ],
                pane,
            ),
        )
    if docker:
        backends.append(
            StaticDockerBackend(
                "docker",
                [
                    _container(
                        "web",
                        "busybox:1.36",
                        timedelta(hours=5),
                        True,
                        "Up 5 hours",
                        "8080->80/tcp",
                    ),
                    _container(
                        "etl", "busybox:1.36", timedelta(days=2), False, "Exited (0) 2 days ago", ""
                    ),
                ],
                ["httpd: listening on :80", "GET / 200", "GET /health 200"],
            )
        )
    if stores:
        h = timedelta(hours=1)
        backends.append(
            StaticRecordsBackend(
                "web",
                "kv",
                [
                    _kv(
                        "sess-alice-1795250000-1a2b3c4d", "alice", "app-1", h, timedelta(minutes=42)
                    ),
                    _kv(
                        "sess-bob-1795251000-9f8e7d6c", "bob", "app-1", 2 * h, timedelta(seconds=38)
                    ),
                    _kv("sess-1795252000-0c0ffee0", "-", "app-2", 5 * h, timedelta(hours=3)),
                ],
            )
        )
        backends.append(
            StaticRecordsBackend(
                "agents",
                "json",
                [
                    _js("chat-7f3a", "support", "triage", 12, 3 * h, False),
                    _js("chat-51c0", "support", "billing", 4, 30 * h, True),
                ],
            )
        )
    if down:
        backends.append(
            StaticBackend(
                "nightly",
                [],
                {},
                down="base directory /srv/nightly does not exist; create it, "
                "or set create_base: true for backend 'nightly'",
            )
        )
    return backends


def sample_config() -> AppConfig:
    specs = {
        name: SessionSpec(name=name, backend="work", command=tuple(cmd.split()))
        for name, cmd in (
            ("bot", "python -m bot --port 8080"),
            ("worker", "python -m worker --queue default"),
            ("nightly-report", "make report"),
        )
    }
    return AppConfig(
        backends=(DirsBackendConfig(name="runs", kind="dirs"),),
        sessions=specs,
        ui=UIConfig(refresh_seconds=0),
    )
