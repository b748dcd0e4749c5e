"""CPU, memory and process counts of running containers, from the engine's
stats (one non-streaming request per container)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.docker.base import DockerBase, as_dict
from core.errors import SesstuiError
from core.model import Session, State

if TYPE_CHECKING:
    from core.stats import SessionStats


class StatsMixin(DockerBase):
    """stats_reading / stats_of of a :class:`DockerBackend`."""

    two_readings = False  # the engine's answer holds the previous reading too

    def stats_reading(self, sessions: Sequence[Session]) -> object:
        """The engine's stats of each running container: one non-streaming
        request per container (``stream=False``; the engine takes its two
        readings itself), a few at a time.  A failed request is kept as its
        message for that container."""
        from concurrent.futures import ThreadPoolExecutor

        api = self._api()
        running = [s for s in sessions if s.state is State.RUNNING]

        def one(s: Session) -> tuple[str, dict[str, Any] | str]:
            cid = s.facts.container_id or s.id
            try:
                with self._engine(f"cannot read the stats of container {s.id!r}"):
                    return s.id, as_dict(api.stats(cid, stream=False))
            except SesstuiError as e:
                return s.id, e.message

        if not running:
            return {}
        with ThreadPoolExecutor(max_workers=min(8, len(running))) as pool:
            return dict(pool.map(one, running))

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]:
        from core.stats import SessionStats, docker_cpu_percent, docker_memory

        got = after if isinstance(after, dict) else {}
        out: dict[str, SessionStats] = {}
        for s in sessions:
            raw = got.get(s.id)
            if raw is None:
                out[s.id] = SessionStats(s.ref, self.kind, note=f"not running ({s.state.value})")
            elif isinstance(raw, str):
                out[s.id] = SessionStats(s.ref, self.kind, note=raw)
            else:
                used, limit = docker_memory(raw)
                pids = as_dict(raw.get("pids_stats")).get("current")
                out[s.id] = SessionStats(
                    s.ref,
                    self.kind,
                    cpu_percent=docker_cpu_percent(raw),
                    memory_bytes=used,
                    memory_limit=limit,
                    processes=pids if isinstance(pids, int) else None,
                )
        return out
