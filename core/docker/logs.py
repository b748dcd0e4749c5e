"""Container logs: the last lines of stdout and stderr, and following them
(one streaming request read by a thread, closed at once from any thread,
ended with a notice when the container exits or is removed).  Each line
starts with the time the engine read it (see :mod:`core.docker.stream`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from core.backend import LineStream
from core.docker.base import DockerBase, as_dict
from core.docker.stream import ContainerLogStream, Framing
from core.errors import BackendUnavailable, SessionNotFound
from core.model import LogLine, LogSource

CONTAINER_SOURCE = "container"
# after a followed stream ends, how long a container that shows "exited" gets
# to turn out removed (`docker rm -f` kills first, and the stream ends then)
_REMOVAL_GRACE = 0.25


class _StreamCloser:
    """Closes a docker-py log stream; where its socket cannot be reached
    (docker-py refuses for ssh://), closes the HTTP response instead."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # noqa: BLE001 - fall back to the response
            response = getattr(self._stream, "_response", None)
            if response is not None:
                response.close()


class LogsMixin(DockerBase):
    """logs / tail of a :class:`DockerBackend`."""

    def logs(self, session_id: str) -> list[LogSource]:
        self._inspect(session_id)
        return [LogSource(CONTAINER_SOURCE)]

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        """The last ``lines`` lines of stdout and stderr, each starting with the
        engine's time (UTC, ``2026-12-06T06:14:07.123Z``); when ``follow``,
        then what the container prints until it exits, is removed, or the
        stream is closed (a notice line says which)."""
        if source not in (None, CONTAINER_SOURCE):
            raise SessionNotFound(
                f"no log {source!r} for container {session_id!r}; the source is "
                f"'{CONTAINER_SOURCE}'"
            )
        data = self._inspect(session_id)
        container_id = str(data.get("Id", session_id))
        name = str(data.get("Name", "")).lstrip("/") or session_id
        # a TTY's output comes raw; the rest one message per frame
        framing: Framing = "raw" if as_dict(data.get("Config")).get("Tty") else "framed"
        count = max(0, lines)
        api = self._api()
        with self._engine(f"cannot read the logs of container {name!r}"):
            # a stream even for the last lines alone: its frames say where each
            # message starts (one buffer would run them together); following,
            # the same request goes on with what comes next: nothing falls
            # between the last lines and the new ones, nothing is shown twice
            chunks = api.logs(
                container_id,
                stdout=True,
                stderr=True,
                timestamps=True,
                tail=count,
                stream=True,
                follow=follow,
            )
        stream = ContainerLogStream(
            [],
            chunks,
            closer=_StreamCloser(chunks),
            ending=self._ending_for(container_id) if follow else None,
            name=name,
            framing=framing,
        )
        if not follow:
            return self._finished(stream, name, count)
        self._streams.add(stream)
        return stream

    def _finished(self, stream: ContainerLogStream, name: str, count: int) -> ContainerLogStream:
        """The lines of a stream that ends by itself, within the backend's timeout."""
        got: list[LogLine] = []
        deadline = time.monotonic() + self.config.timeout
        try:
            while not stream.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BackendUnavailable(
                        f"the logs of container {name!r} did not come within "
                        f"{self.config.timeout:g}s (the backend's timeout)"
                    )
                got.extend(stream.read_available(left))
        finally:
            stream.close()
        return ContainerLogStream(got[-count:] if count else [])

    def _ending_for(self, container_id: str) -> Callable[[], LogLine | None]:
        def ending() -> LogLine | None:
            import docker.errors

            api = self._api()
            for attempt in range(2):
                try:
                    data = as_dict(api.inspect_container(container_id))
                except docker.errors.NotFound:
                    return LogLine("— container removed —", notice=True)
                except Exception:  # noqa: BLE001 - any failure here means the engine is gone
                    return LogLine(f"— lost the connection to {self.endpoint} —", notice=True)
                state = as_dict(data.get("State"))
                status = str(state.get("Status", ""))
                if status in ("removing", "dead"):
                    return LogLine("— container removed —", notice=True)
                if status != "exited":
                    return LogLine(f"— the engine ended the log stream ({status}) —", notice=True)
                if attempt == 0:
                    time.sleep(_REMOVAL_GRACE)
            return LogLine(f"— container exited (code {state.get('ExitCode', '?')}) —", notice=True)

        return ending
