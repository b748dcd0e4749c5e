"""The ``docker`` backend: the containers of one Docker (or Podman) engine.

Listing costs exactly one API request (``GET /containers/json?all=1``, with
``label=sesstui.session`` as a server-side filter in the default ``labeled``
scope; ``scope: all`` shows every container); :attr:`DockerBackend.requests`
counts every request the backend sends.  ``match_labels`` narrows the backend
further to the containers carrying every one of those labels with exactly
those values: one more ``label=key=value`` term of the same server-side
filter, and every action (get, stop, logs, attach, delete, prune) refuses a
container outside it, naming it (the demo shows only its own containers this
way); containers the backend starts get those labels too.  Connecting costs
one more (``GET /version``, to agree on the API version), once per backend
and again only after the engine was unreachable.  A session's id is its container
name; the container id is in ``metadata["container_id"]``.

The engine is the one the config names (see :mod:`core.docker.endpoint`); an
unreachable daemon, a socket without permission or an unusable
``DOCKER_HOST`` makes the backend UNAVAILABLE with the reason; it never falls
back to another engine.  Every request has the backend's ``timeout``.

Starting a spec (:meth:`DockerBackend.start`) checks the spec first (name,
image reference, volumes, ports, env, working_dir: see
:mod:`core.docker.specs`), then that the image is on the engine: sesstui
never pulls.  A stopped container of the same name that sesstui started is
started again, as it was created (delete it to apply a changed spec).  New
containers carry the labels ``sesstui.session=<name>`` and
``sesstui.managed=true``.

Logs are the container's stdout and stderr; following is one streaming
request (the last N lines, then what comes), read by a thread, ended at once
by ``close()`` from any thread, and closed with a notice when the container
exits or is removed.
"""

from __future__ import annotations

import math
import re
import shlex
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.backend import BaseBackend, LineStream
from core.config.records import BackendConfig, SessionSpec
from core.docker.endpoint import Endpoint, resolve
from core.docker.listing import session_of
from core.docker.schema import DockerBackendConfig
from core.docker.specs import (
    MANAGED_LABEL,
    SESSION_LABEL,
    SpecProblem,
    plan_create,
)
from core.docker.stream import ContainerLogStream, split_lines
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    SesstuiError,
    UnsafeOperation,
    UsageError,
)
from core.model import (
    BackendHealth,
    Capability,
    EntryResult,
    HealthStatus,
    LogLine,
    LogSource,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PrunePolicy,
    PruneReason,
    PruneResult,
    Session,
    State,
    StopDescription,
)

if TYPE_CHECKING:
    from core.inspection import Section
    from core.stats import SessionStats

CONTAINER_SOURCE = "container"
SCOPES = ("labeled", "all")
_LIVE = ("running", "restarting", "paused")
_PRUNABLE = ["exited", "dead", "created"]
_NEVER = "0001-01-01T00:00:00Z"
_SHORT_ID = 12
# after a followed stream ends, how long a container that shows "exited" gets
# to turn out removed (`docker rm -f` kills first, and the stream ends then)
_REMOVAL_GRACE = 0.25


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_time(text: object) -> datetime | None:
    """An engine timestamp (RFC 3339 with nanoseconds) as an aware datetime."""
    if not isinstance(text, str) or not text or text.startswith("0001-01-01"):
        return None
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if m is None:
        return None
    base, frac, zone = m.groups()
    stamp = base + (f".{(frac or '0')[:6]}") + ("+00:00" if zone == "Z" else zone)
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return f"{seconds} second{'s' if seconds != 1 else ''} ago"


def _strings(value: object) -> list[str]:
    """A list of strings from the engine (a string alone counts as one)."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _chain_text(exc: BaseException) -> str:
    """The messages of ``exc`` and its causes (docker-py nests the OS error)."""
    parts: list[str] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(f"{type(cur).__name__}: {cur}")
        cur = cur.__cause__ or cur.__context__
    return " | ".join(parts)


def _explanation(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip()


def docker_stop_description(timeout: float) -> StopDescription:
    """What a docker backend's stop does (graceful, kill, and for a bulk stop)."""
    wait = max(0, math.ceil(timeout))
    return StopDescription(
        "Stop sends the container SIGTERM (or its image's stop signal) and waits up to "
        f"{wait}s before SIGKILL; the container is kept, stopped.",
        "Kill now sends SIGKILL at once; the container is kept, stopped.",
        f"SIGTERM, then up to {wait}s before SIGKILL",
    )


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


class _OutsideFilter(SessionNotFound):
    """The container exists but does not carry the backend's ``match_labels``."""

    title = "Outside this backend"


class DockerBackend(BaseBackend):
    """The containers of one engine.

    ``specs`` maps session names to their specs, for what only a spec knows
    (``attach: attach``).  ``environ`` replaces ``os.environ`` when resolving
    the endpoint (``DOCKER_HOST`` ...).
    """

    kind = "docker"
    capabilities = (
        Capability.LIST
        | Capability.LOGS
        | Capability.START
        | Capability.STOP
        | Capability.ATTACH
        | Capability.DELETE
        | Capability.PRUNE
    )

    def __init__(
        self,
        config: BackendConfig,
        *,
        specs: Mapping[str, SessionSpec] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(config, DockerBackendConfig):
            raise TypeError("DockerBackend needs a DockerBackendConfig")
        super().__init__(config.name)
        if config.scope not in SCOPES:
            raise ConfigError(
                f"backend '{config.name}': scope {config.scope!r} must be 'labeled' or 'all'",
                file=config.origin.file,
                line=config.origin.line,
                key=config.origin.key,
            )
        reserved = sorted({SESSION_LABEL, MANAGED_LABEL} & set(config.match_labels))
        if reserved:
            raise ConfigError(
                f"backend '{config.name}': match_labels cannot name {reserved[0]} (sesstui "
                "sets it on each container it starts; scope: labeled filters on it already)",
                file=config.origin.file,
                line=config.origin.line,
                key=config.origin.key,
            )
        self.config = config
        self.specs: dict[str, SessionSpec] = dict(specs or {})
        self._environ = environ
        self._endpoint: Endpoint | None = None
        self._endpoint_error: BackendUnavailable | None = None
        try:
            self._resolve()
        except BackendUnavailable:
            pass  # kept as the health reason; listing raises it again
        self._client: Any = None
        self._connect_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._requests = 0
        self._health: BackendHealth | None = None
        self._planned: dict[str, str] = {}  # session id -> container id, from plans
        self._streams: weakref.WeakSet[ContainerLogStream] = weakref.WeakSet()

    # -- identity and connection -----------------------------------------------

    def _resolve(self) -> Endpoint:
        if self._endpoint is None:
            try:
                self._endpoint = resolve(self.config, self._environ)
                self._endpoint_error = None
            except BackendUnavailable as e:
                self._endpoint_error = e
                raise
        return self._endpoint

    @property
    def endpoint(self) -> str:
        """Which engine, for people (credentials redacted)."""
        if self._endpoint is not None:
            return self._endpoint.display
        return self.config.context or self.config.base_url or "(unresolved)"

    @property
    def requests(self) -> int:
        """API requests sent since connecting (one per :meth:`list_sessions`)."""
        return self._requests

    def _count(self) -> None:
        with self._count_lock:
            self._requests += 1

    def _api(self) -> Any:
        """The docker-py low-level client, connected on first use."""
        if self._client is not None:
            return self._client.api
        with self._connect_lock:
            if self._client is None:
                self._client = self._connect(self._resolve())
        return self._client.api

    def _connect(self, endpoint: Endpoint) -> Any:
        import docker
        import docker.errors
        import docker.tls

        tls: Any = False
        try:
            if endpoint.tls:
                cert = (
                    (endpoint.client_cert, endpoint.client_key)
                    if endpoint.client_cert and endpoint.client_key
                    else None
                )
                tls = docker.tls.TLSConfig(
                    client_cert=cert,
                    ca_cert=endpoint.ca_cert if endpoint.tls_verify else None,
                    verify=endpoint.tls_verify,
                )
            client = docker.DockerClient(
                base_url=endpoint.host,
                version="auto",
                timeout=max(1, math.ceil(self.config.timeout)),
                tls=tls,
                use_ssh_client=endpoint.host.startswith("ssh://"),
            )
        except docker.errors.DockerException as e:
            raise self._connect_error(endpoint, e) from e
        api = client.api
        send = api.send

        def counted_send(request: Any, **kwargs: Any) -> Any:
            self._count()
            return send(request, **kwargs)

        # every request of the client goes through Session.send: counting
        # here counts what reaches the engine, streams and errors included
        api.send = counted_send
        return client

    def _connect_error(self, endpoint: Endpoint, exc: BaseException) -> BackendUnavailable:
        text = _chain_text(exc)
        if "Invalid bind address" in text or "protocol is only supported" in text:
            what = (
                f"DOCKER_HOST={endpoint.host!r}"
                if endpoint.source == "environment"
                else f"engine address {endpoint.host!r}"
            )
            return BackendUnavailable(
                f"{what} cannot be used: {exc}; use unix:///path/to/docker.sock, "
                "tcp://host:2376 or ssh://user@host"
            )
        if "Error while fetching server API version" in text:
            return self._unreachable(exc)
        return BackendUnavailable(f"cannot use the Docker engine at {endpoint.display}: {exc}")

    def _unreachable(self, exc: BaseException) -> BackendUnavailable:
        """A clear reason why the engine did not answer."""
        endpoint = self._endpoint
        display = endpoint.display if endpoint else self.endpoint
        socket = endpoint.socket_path if endpoint else None
        text = _chain_text(exc)
        if "Permission denied" in text or "PermissionError" in text:
            where = f"the socket {socket}" if socket else display
            return BackendUnavailable(
                f"permission denied on {where}: add your user to the 'docker' group and log in "
                "again, or set base_url to an engine this user may use"
            )
        if socket and ("No such file or directory" in text or "FileNotFoundError" in text):
            return BackendUnavailable(
                f"no Docker engine at {display}: {socket} does not exist; start the daemon "
                "(systemctl start docker, or `podman system service` for Podman) or fix "
                "base_url / DOCKER_HOST"
            )
        if "Connection refused" in text or "ConnectionRefusedError" in text:
            return BackendUnavailable(
                f"the Docker engine at {display} refused the connection; is the daemon running?"
            )
        if "Timeout" in text or "timed out" in text:
            return BackendUnavailable(
                f"the Docker engine at {display} did not answer within "
                f"{self.config.timeout:g}s (the backend's timeout)"
            )
        short = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return BackendUnavailable(f"cannot reach the Docker engine at {display}: {short}")

    @contextmanager
    def _engine(self, action: str) -> Iterator[None]:
        """Turn docker-py and requests errors into core errors."""
        import docker.errors
        import requests.exceptions

        try:
            yield
        except SesstuiError:
            raise
        except docker.errors.APIError as e:
            raise ActionFailed(f"{action}: {_explanation(e)}") from e
        except requests.exceptions.RequestException as e:
            raise self._unreachable(e) from e
        except docker.errors.DockerException as e:
            raise BackendUnavailable(f"{action}: {e}") from e

    # -- health and listing -----------------------------------------------------

    def health(self) -> BackendHealth:
        if self._health is not None:
            return self._health
        if self._endpoint_error is not None:
            return self._make_health(HealthStatus.UNAVAILABLE, self._endpoint_error.message)
        return self._make_health(HealthStatus.OK)

    def _make_health(
        self, status: HealthStatus, reason: str = "", sessions: int = 0
    ) -> BackendHealth:
        return BackendHealth(self.name, self.kind, status, reason, sessions, endpoint=self.endpoint)

    def _label_terms(self) -> list[str]:
        """The backend's ``match_labels`` as engine label filter terms (AND)."""
        return [f"{k}={v}" for k, v in sorted(self.config.match_labels.items())]

    def _filters(self, **extra: object) -> dict[str, object]:
        filters: dict[str, object] = dict(extra)
        labels = [SESSION_LABEL] if self.config.scope == "labeled" else []
        labels += self._label_terms()
        if labels:
            filters["label"] = labels
        return filters

    def _matches(self, labels: Mapping[str, Any]) -> bool:
        """Whether a container's labels carry every one of ``match_labels``."""
        return all(labels.get(k) == v for k, v in self.config.match_labels.items())

    def _outside(self, name: str) -> _OutsideFilter:
        wanted = ", ".join(self._label_terms())
        return _OutsideFilter(
            f"container {name!r} on {self.endpoint} is outside backend '{self.name}': it does "
            f"not carry the label{'s' if len(self.config.match_labels) > 1 else ''} {wanted} "
            "(match_labels); sesstui leaves it alone"
        )

    def list_sessions(self) -> list[Session]:
        """Every container in scope, newest first, from one API request.

        Raises :class:`BackendUnavailable` with the reason when the engine
        cannot be reached or used.
        """
        try:
            api = self._api()
            with self._engine(f"cannot list containers on {self.endpoint}"):
                rows = api.containers(all=True, filters=self._filters())
        except SesstuiError as e:
            status = (
                HealthStatus.UNAVAILABLE
                if isinstance(e, BackendUnavailable)
                else HealthStatus.DEGRADED
            )
            self._health = self._make_health(status, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        sessions = self._sessions(rows if isinstance(rows, list) else [])
        self._health = self._make_health(HealthStatus.OK, "", len(sessions))
        return sessions

    def _sessions(self, rows: list[Any]) -> list[Session]:
        endpoint = self.endpoint
        # the engine filtered on match_labels; an engine that ignored the
        # filter must still not show what is outside it
        mine = [_as_dict(r) for r in rows]
        if self.config.match_labels:
            mine = [r for r in mine if self._matches(_as_dict(r.get("Labels")))]
        sessions = [session_of(r, self.name, endpoint) for r in mine]
        sessions.sort(key=lambda s: s.name)
        sessions.sort(key=lambda s: s.created.timestamp() if s.created else 0.0, reverse=True)
        return sessions

    def get(self, session_id: str) -> Session:
        """One session, from one filtered list request."""
        api = self._api()
        pattern = f"^/{re.escape(session_id)}$"
        with self._engine(f"cannot look up container {session_id!r}"):
            rows = api.containers(all=True, filters=self._filters(name=pattern))
        for session in self._sessions(rows if isinstance(rows, list) else []):
            if session.id == session_id:
                return session
        raise self._not_found(session_id)

    def _not_found(self, session_id: str) -> SessionNotFound:
        scope = " labelled sesstui.session" if self.config.scope == "labeled" else ""
        carrying = f" carrying {', '.join(self._label_terms())}" if self.config.match_labels else ""
        return SessionNotFound(
            f"no{scope} container {session_id!r}{carrying} on {self.endpoint} "
            f"(backend '{self.name}')"
        )

    def _inspect(self, session_id: str) -> dict[str, Any]:
        """The container ``session_id`` names (its name, or an id of 12+ hex
        digits), within this backend's scope; else :class:`SessionNotFound`
        (one that names the container and the labels when it exists but
        lacks the backend's ``match_labels``)."""
        import docker.errors

        api = self._api()
        try:
            with self._engine(f"cannot inspect container {session_id!r}"):
                data = _as_dict(api.inspect_container(session_id))
        except ActionFailed as e:
            if isinstance(e.__cause__, docker.errors.NotFound):
                raise self._not_found(session_id) from e
            raise
        name = str(data.get("Name", "")).lstrip("/")
        full_id = str(data.get("Id", ""))
        # the engine also matches any id prefix: "ab" must not reach a container
        if session_id != name and not (
            len(session_id) >= _SHORT_ID and full_id.startswith(session_id)
        ):
            raise self._not_found(session_id)
        labels = _as_dict(_as_dict(data.get("Config")).get("Labels"))
        if self.config.scope == "labeled" and SESSION_LABEL not in labels:
            raise self._not_found(session_id)
        if not self._matches(labels):
            raise self._outside(name or session_id)
        return data

    @staticmethod
    def _status(data: Mapping[str, Any]) -> str:
        return str(_as_dict(data.get("State")).get("Status", ""))

    # -- start ------------------------------------------------------------------

    def _spec_error(self, spec: SessionSpec, message: str) -> SesstuiError:
        if spec.origin.file is not None:
            return ConfigError(
                message, file=spec.origin.file, line=spec.origin.line, key=spec.origin.key
            )
        return UsageError(message)

    def start(self, spec: SessionSpec) -> Session:
        """Create and start the spec's container, or start it again when it
        exists stopped.

        Raises :class:`UsageError` (:class:`ConfigError` with file, line and
        key for specs from config) for a bad name, image reference, volume,
        port, env or working_dir; :class:`ActionFailed` when it runs already,
        its name belongs to a container sesstui did not start, the image is
        not on the engine, or the engine refuses.
        """
        name = spec.name
        try:
            plan = plan_create(spec)
        except SpecProblem as e:
            raise self._spec_error(spec, f"cannot start docker session {name!r}: {e}") from e
        api = self._api()
        existing = self._existing(name)
        if existing is not None:
            return self._restart(name, existing)
        self._check_image(plan.image)
        with self._engine(f"the engine could not create container {name!r}"):
            host_config = api.create_host_config(
                binds=plan.binds or None,
                port_bindings=plan.port_bindings() or None,
                network_mode=plan.network,
            )
            created = _as_dict(
                api.create_container(
                    plan.image,
                    command=plan.command,
                    name=name,
                    environment=plan.environment or None,
                    working_dir=plan.working_dir,
                    labels={**self.config.match_labels, **plan.labels},
                    ports=plan.exposed() or None,
                    host_config=host_config,
                    tty=plan.tty,
                    stdin_open=plan.tty,
                    detach=True,
                    stop_timeout=max(0, math.ceil(spec.stop_timeout)),
                )
            )
        container_id = str(created.get("Id", ""))
        try:
            with self._engine(f"the engine could not start container {name!r}"):
                api.start(container_id)
        except SesstuiError as e:
            self._discard(container_id)
            raise ActionFailed(
                f"{e.message}; the container was removed", title="Start failed"
            ) from e
        return self.get(name)

    def _existing(self, name: str) -> dict[str, Any] | None:
        import docker.errors

        api = self._api()
        try:
            with self._engine(f"cannot inspect container {name!r}"):
                data = _as_dict(api.inspect_container(name))
        except ActionFailed as e:
            if isinstance(e.__cause__, docker.errors.NotFound):
                return None
            raise
        if str(data.get("Name", "")).lstrip("/") != name:
            return None  # an id prefix, not the name: the name is free
        return data

    def _restart(self, name: str, data: Mapping[str, Any]) -> Session:
        labels = _as_dict(_as_dict(data.get("Config")).get("Labels"))
        if SESSION_LABEL not in labels:
            raise ActionFailed(
                f"a container named {name!r} already exists on {self.endpoint} and sesstui did "
                "not start it (no sesstui.session label); remove or rename it, or choose "
                "another session name",
                title="Name taken",
            )
        if not self._matches(labels):
            raise self._outside(name)
        if self._status(data) in _LIVE:
            raise ActionFailed(
                f"docker session {name!r} is already running on {self.endpoint}; stop it first "
                f"(sesstui stop {self.name}:{name}) or attach to it",
                title="Already running",
            )
        with self._engine(f"the engine could not start container {name!r} again"):
            self._api().start(str(data.get("Id", name)))
        return self.get(name)

    def resume(self, session_id: str) -> Session:
        """Start a stopped container of this backend again, as it was
        created (no spec needed; with ``scope: all`` one sesstui did not
        start too, as stop and delete act on it).  Raises
        :class:`ActionFailed` when it runs already."""
        data = self._inspect(session_id)
        name = str(data.get("Name", "")).lstrip("/") or session_id
        if self._status(data) in _LIVE:
            raise ActionFailed(
                f"container {name!r} is already running on {self.endpoint}; nothing to start",
                title="Already running",
            )
        with self._engine(f"the engine could not start container {name!r}"):
            self._api().start(str(data.get("Id", name)))
        return self.get(name)

    def restart(self, session_id: str, *, timeout: float = 10.0) -> Session:
        """The engine's restart: SIGTERM (or the image's stop signal), up to
        ``timeout`` s (whole seconds, rounded up), SIGKILL, then start; a
        stopped container is just started."""
        data = self._inspect(session_id)
        name = str(data.get("Name", "")).lstrip("/") or session_id
        with self._engine(f"the engine could not restart container {name!r}"):
            self._api().restart(str(data.get("Id", name)), timeout=max(0, math.ceil(timeout)))
        return self.get(name)

    def _check_image(self, image: str) -> None:
        import docker.errors

        try:
            with self._engine(f"cannot look up image {image!r}"):
                self._api().inspect_image(image)
        except ActionFailed as e:
            if isinstance(e.__cause__, docker.errors.NotFound):
                raise ActionFailed(
                    f"image {image!r} is not on the engine at {self.endpoint}; pull or import it "
                    f"first (docker {shlex.join(self._cli_args())} pull {image}); sesstui never "
                    "pulls images",
                    title="Image missing",
                ) from e
            raise

    def _discard(self, container_id: str) -> None:
        try:
            with self._engine("cleanup"):
                self._api().remove_container(container_id, force=True)
        except SesstuiError:
            pass  # the start error is what the user needs to see

    # -- stop and attach ----------------------------------------------------------

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription:
        """What :meth:`stop` does."""
        return docker_stop_description(timeout)

    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """Stop the container.  Graceful: SIGTERM (or the image's stop
        signal), then SIGKILL after ``timeout`` s (whole seconds, rounded up);
        ``graceful=False`` kills it at once.  A stopped container is left as
        it is."""
        data = self._inspect(session_id)
        if self._status(data) not in _LIVE:
            return
        container_id = str(data.get("Id", session_id))
        api = self._api()
        with self._engine(f"cannot stop container {session_id!r}"):
            if graceful:
                api.stop(container_id, timeout=max(0, math.ceil(timeout)))
                return
            try:
                api.kill(container_id)
            except Exception as e:
                if "is not running" in _explanation(e):
                    return  # it stopped by itself meanwhile
                raise

    def _cli_args(self) -> list[str]:
        return self._resolve().cli_args()

    def attach_argv(self, session_id: str) -> list[str]:
        """``docker <endpoint flags> exec -it NAME <shell>``, or ``docker ...
        attach NAME`` when the session's spec says ``attach: attach``."""
        data = self._inspect(session_id)
        name = str(data.get("Name", "")).lstrip("/") or session_id
        if self._status(data) != "running":
            raise ActionFailed(
                f"container {name!r} is not running ({self._status(data) or 'unknown'}); "
                f"start it first (sesstui start {name})",
                title="Not running",
            )
        cli = shutil.which(self.config.docker)
        if cli is None:
            raise ActionFailed(
                f"the docker CLI is not installed (looked for {self.config.docker!r}); attach "
                "needs it (apt install docker.io / docker-ce-cli), or set docker: to its path",
                title="docker CLI missing",
            )
        spec = self.specs.get(name)
        if spec is not None and spec.backend == self.name and spec.attach == "attach":
            return [cli, *self._cli_args(), "attach", name]
        shell = shlex.split(self.config.shell) or ["sh"]
        return [cli, *self._cli_args(), "exec", "-it", name, *shell]

    # -- inspect ------------------------------------------------------------------

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The engine's inspect of the container, in sections; every env
        value is shown redacted (a variable naming a secret as ``***``)."""
        from core.inspection import Section

        data = self._inspect(session_id)
        state = _as_dict(data.get("State"))
        config = _as_dict(data.get("Config"))
        host = _as_dict(data.get("HostConfig"))
        net = _as_dict(data.get("NetworkSettings"))
        health = _as_dict(state.get("Health")).get("Status")
        container = {
            "id": data.get("Id"),
            "name": str(data.get("Name", "")).lstrip("/"),
            "image": config.get("Image"),
            "image id": data.get("Image"),
            "created": data.get("Created"),
            "status": state.get("Status"),
            "pid": state.get("Pid") or None,
            "exit code": state.get("ExitCode"),
            "started": _parse_time(state.get("StartedAt")),
            "finished": _parse_time(state.get("FinishedAt")),
            "restarts": data.get("RestartCount"),
            "engine": self.endpoint,
        }
        if health:
            container["health"] = health
        if state.get("Error"):
            container["error"] = state.get("Error")
        command = {
            "entrypoint": shlex.join(_strings(config.get("Entrypoint"))) or None,
            "cmd": shlex.join(_strings(config.get("Cmd"))) or None,
            "working dir": config.get("WorkingDir") or None,
            "user": config.get("User") or None,
            "tty": bool(config.get("Tty")),
            "stop signal": config.get("StopSignal") or None,
            "stop timeout": config.get("StopTimeout"),
        }
        env = [(k, v) for k, _eq, v in (e.partition("=") for e in _strings(config.get("Env")))]
        labels = sorted((str(k), str(v)) for k, v in _as_dict(config.get("Labels")).items())
        ports = [
            f"{port} -> "
            + (", ".join(f"{b.get('HostIp', '')}:{b.get('HostPort', '')}" for b in binds)
               if isinstance(binds, list) else "not published")
            for port, binds in sorted(_as_dict(net.get("Ports")).items())
        ]  # fmt: skip
        mounts = [
            f"{m.get('Source', '')} -> {m.get('Destination', '')} "
            f"({m.get('Type', '')}{'' if m.get('RW', True) else ', read-only'})"
            for m in (data.get("Mounts") or [])
            if isinstance(m, dict)
        ]
        networks = {
            name: _as_dict(n).get("IPAddress") or "-"
            for name, n in _as_dict(net.get("Networks")).items()
        }
        return [
            Section.make("container", container),
            Section.make("command", command),
            Section.make(f"environment ({len(env)})", env),
            Section.make(f"labels ({len(labels)})", labels),
            Section.make(
                "network",
                {"mode": host.get("NetworkMode"), **networks},
                [*ports, *(["mounts:"] if mounts else []), *mounts],
            ),
        ]

    # -- stats --------------------------------------------------------------------

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
            cid = s.metadata.get("container_id") or s.id
            try:
                with self._engine(f"cannot read the stats of container {s.id!r}"):
                    return s.id, _as_dict(api.stats(cid, stream=False))
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
                pids = _as_dict(raw.get("pids_stats")).get("current")
                out[s.id] = SessionStats(
                    s.ref,
                    self.kind,
                    cpu_percent=docker_cpu_percent(raw),
                    memory_bytes=used,
                    memory_limit=limit,
                    processes=pids if isinstance(pids, int) else None,
                )
        return out

    # -- logs ---------------------------------------------------------------------

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
        """The last ``lines`` lines of stdout and stderr; when ``follow``,
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
        count = max(0, lines)
        api = self._api()
        with self._engine(f"cannot read the logs of container {name!r}"):
            if not follow:
                raw = api.logs(container_id, stdout=True, stderr=True, tail=count, stream=False)
                got = split_lines(raw if isinstance(raw, bytes) else b"")
                return ContainerLogStream(got[-count:] if count else [])
            # one request for the last lines and what follows: nothing falls
            # between them, nothing is shown twice
            chunks = api.logs(
                container_id, stdout=True, stderr=True, tail=count, stream=True, follow=True
            )
        stream = ContainerLogStream(
            [],
            chunks,
            closer=_StreamCloser(chunks),
            ending=self._ending_for(container_id),
            name=name,
        )
        self._streams.add(stream)
        return stream

    def _ending_for(self, container_id: str) -> Callable[[], LogLine | None]:
        def ending() -> LogLine | None:
            import docker.errors

            api = self._api()
            for attempt in range(2):
                try:
                    data = _as_dict(api.inspect_container(container_id))
                except docker.errors.NotFound:
                    return LogLine("— container removed —", notice=True)
                except Exception:  # noqa: BLE001 - any failure here means the engine is gone
                    return LogLine(f"— lost the connection to {self.endpoint} —", notice=True)
                state = _as_dict(data.get("State"))
                status = str(state.get("Status", ""))
                if status in ("removing", "dead"):
                    return LogLine("— container removed —", notice=True)
                if status != "exited":
                    return LogLine(f"— the engine ended the log stream ({status}) —", notice=True)
                if attempt == 0:
                    time.sleep(_REMOVAL_GRACE)
            return LogLine(f"— container exited (code {state.get('ExitCode', '?')}) —", notice=True)

        return ending

    # -- delete and prune --------------------------------------------------------

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        """Entries for the named containers; a live one is skipped unless
        ``force``.  An unknown id raises :class:`SessionNotFound`."""
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            data = self._inspect(sid)
            name = str(data.get("Name", "")).lstrip("/") or sid
            status = self._status(data)
            if status in _LIVE and not force:
                skipped.append(
                    PlanSkip(self.name, name, None, f"{status} (stop it first, or --force)")
                )
                continue
            self._planned[name] = str(data.get("Id", ""))
            detail = f"{status}; removed by force" if status in _LIVE else status
            entries.append(PlanEntry(self.name, name, None, PruneReason.REQUESTED, None, detail))
        return PrunePlan(self.name, tuple(entries), tuple(skipped), base=self.endpoint)

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        """Stopped containers sesstui started (labelled ``sesstui.session`` or
        ``sesstui.managed``, whatever the scope) that exited longer ago than
        ``prune_after_days`` (or ``policy.max_age``; with a policy, beyond its
        ``max_sessions`` newest too).  Running containers are never candidates.
        Only containers within ``match_labels`` (a term of the same filter).
        One list request, then one inspect per candidate for its exit time."""
        api = self._api()
        filters: dict[str, object] = {"status": _PRUNABLE}
        if self.config.match_labels:
            filters["label"] = self._label_terms()
        with self._engine(f"cannot list containers on {self.endpoint}"):
            rows = api.containers(all=True, filters=filters)
        now = datetime.now(UTC)
        if policy is not None:
            max_age = policy.max_age
        elif self.config.prune_after_days >= 0:
            max_age = timedelta(days=self.config.prune_after_days)
        else:
            max_age = None
        candidates: list[tuple[datetime, str, str, str]] = []  # (ended, name, id, how)
        for row in rows if isinstance(rows, list) else []:
            r = _as_dict(row)
            labels = _as_dict(r.get("Labels"))
            if SESSION_LABEL not in labels and MANAGED_LABEL not in labels:
                continue
            if not self._matches(labels):
                continue  # the engine filtered already; never trust it alone
            session = session_of(r, self.name, self.endpoint)
            try:
                with self._engine("inspect"):
                    data = _as_dict(api.inspect_container(str(r.get("Id", ""))))
            except SesstuiError:
                continue  # removed meanwhile
            if self._status(data) in _LIVE:
                continue  # started since the list
            state = _as_dict(data.get("State"))
            finished = _parse_time(state.get("FinishedAt"))
            how = "exited"
            if finished is None:  # never started: its age is its creation
                finished = _parse_time(data.get("Created")) or now
                how = "created"
            candidates.append((finished, session.name, str(data.get("Id", "")), how))
        candidates.sort()  # oldest first
        chosen: dict[str, PlanEntry] = {}
        keep = policy.max_sessions if policy is not None else -1
        if keep >= 0 and len(candidates) > keep:
            for ended, name, _cid, how in candidates[: len(candidates) - keep]:
                chosen[name] = PlanEntry(
                    self.name, name, None, PruneReason.COUNT, None,
                    f"{how} {_ago(now - ended)}; beyond the newest {keep}",
                    ended.timestamp(),
                )  # fmt: skip
        if max_age is not None:
            for ended, name, _cid, how in candidates:
                if name not in chosen and now - ended > max_age:
                    chosen[name] = PlanEntry(
                        self.name, name, None, PruneReason.AGE, None,
                        f"{how} {_ago(now - ended)}", ended.timestamp(),
                    )  # fmt: skip
        for _ended, name, cid, _how in candidates:
            if name in chosen:
                self._planned[name] = cid
        entries = tuple(chosen[n] for _e, n, _c, _h in candidates if n in chosen)
        return PrunePlan(self.name, entries, (), policy, base=self.endpoint)

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Remove exactly the plan's containers, re-checking each first: one
        that runs now is removed only by force (never for an age or count
        entry), one replaced since the plan is left alone.  Errors are per
        entry."""
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        try:
            self._api()
        except SesstuiError as e:
            return PruneResult(self.name, (), error=e.message)
        return PruneResult(self.name, tuple(self._remove_one(e, force) for e in plan.entries))

    def _remove_one(self, entry: PlanEntry, force: bool) -> EntryResult:
        try:
            data = self._inspect(entry.id)
        except _OutsideFilter as e:
            return EntryResult(entry, False, e.message)
        except SessionNotFound:
            return EntryResult(entry, False, "no longer exists")
        except SesstuiError as e:
            return EntryResult(entry, False, e.message)
        container_id = str(data.get("Id", ""))
        planned = self._planned.get(entry.id)
        if planned and planned != container_id:
            return EntryResult(
                entry, False, "a different container has this name since the plan; left as it is"
            )
        live = self._status(data) in _LIVE
        if live and (not force or entry.reason is not PruneReason.REQUESTED):
            why = (
                "started again since the plan" if entry.reason is not PruneReason.REQUESTED else ""
            )
            return EntryResult(
                entry, False, why or f"{self._status(data)} (stop it first, or --force)"
            )
        try:
            with self._engine(f"cannot remove container {entry.id!r}"):
                self._api().remove_container(container_id, force=live)
        except SesstuiError as e:
            return EntryResult(entry, False, e.message)
        self._planned.pop(entry.id, None)
        return EntryResult(entry, True)

    # -- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Close every open log stream and the client's connections."""
        for stream in list(self._streams):
            stream.close()
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass
