"""The core every part of :class:`core.docker.backend.DockerBackend` builds
on: its state, the connection to the engine (counted requests, one timeout),
engine errors turned into :mod:`core.errors` types, health, and the scope
checks (``scope``, ``match_labels``) every action makes through
:meth:`DockerBase._inspect`.

docker-py is imported only inside methods: ``import core`` never loads it.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from core.backend import BaseBackend
from core.config.records import BackendConfig, SessionSpec
from core.docker.endpoint import Endpoint, resolve
from core.docker.schema import DockerBackendConfig
from core.docker.specs import MANAGED_LABEL, SESSION_LABEL
from core.docker.stream import ContainerLogStream
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    SesstuiError,
    UsageError,
)
from core.model import BackendHealth, HealthStatus, Session

SCOPES = ("labeled", "all")
LIVE = ("running", "restarting", "paused")
SHORT_ID = 12

# what a listing keeps of each container (by id): its row, the session built
# from it and the session's place in the order (see core.docker.listing)
Seen = tuple[dict[str, Any], Session, tuple[float, str]]


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_time(text: object) -> datetime | None:
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


def strings(value: object) -> list[str]:
    """A list of strings from the engine (a string alone counts as one)."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def chain_text(exc: BaseException) -> str:
    """The messages of ``exc`` and its causes (docker-py nests the OS error)."""
    parts: list[str] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts.append(f"{type(cur).__name__}: {cur}")
        cur = cur.__cause__ or cur.__context__
    return " | ".join(parts)


def explanation(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip()


class OutsideFilter(SessionNotFound):
    """The container exists but does not carry the backend's ``match_labels``."""

    title = "Outside this backend"


class DockerBase(BaseBackend):
    """State, connection, errors, health and scope of one engine's backend."""

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
        # the last full listing's endpoint and rows (see ListingMixin._sessions)
        self._seen: tuple[str, dict[str, Seen]] = ("", {})
        self._planned: dict[str, str] = {}  # session id -> container id, from plans
        self._streams: weakref.WeakSet[ContainerLogStream] = weakref.WeakSet()

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
        text = chain_text(exc)
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
        text = chain_text(exc)
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
            raise ActionFailed(f"{action}: {explanation(e)}") from e
        except requests.exceptions.RequestException as e:
            raise self._unreachable(e) from e
        except docker.errors.DockerException as e:
            raise BackendUnavailable(f"{action}: {e}") from e

    def health(self) -> BackendHealth:
        if self._health is not None:
            return self._health
        if self._endpoint_error is not None:
            return self._make_health(HealthStatus.UNAVAILABLE, self._endpoint_error.message)
        return self._make_health(HealthStatus.OK)

    def _make_health(
        self,
        status: HealthStatus,
        reason: str = "",
        sessions: int = 0,
        *,
        endpoint: str | None = None,
    ) -> BackendHealth:
        """``endpoint``: :attr:`endpoint` when the caller has read it already."""
        shown = self.endpoint if endpoint is None else endpoint
        return BackendHealth(self.name, self.kind, status, reason, sessions, endpoint=shown)

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

    def _outside(self, name: str) -> OutsideFilter:
        wanted = ", ".join(self._label_terms())
        return OutsideFilter(
            f"container {name!r} on {self.endpoint} is outside backend '{self.name}': it does "
            f"not carry the label{'s' if len(self.config.match_labels) > 1 else ''} {wanted} "
            "(match_labels); sesstui leaves it alone"
        )

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
                data = as_dict(api.inspect_container(session_id))
        except ActionFailed as e:
            if isinstance(e.__cause__, docker.errors.NotFound):
                raise self._not_found(session_id) from e
            raise
        name = str(data.get("Name", "")).lstrip("/")
        full_id = str(data.get("Id", ""))
        # the engine also matches any id prefix: "ab" must not reach a container
        if session_id != name and not (
            len(session_id) >= SHORT_ID and full_id.startswith(session_id)
        ):
            raise self._not_found(session_id)
        labels = as_dict(as_dict(data.get("Config")).get("Labels"))
        if self.config.scope == "labeled" and SESSION_LABEL not in labels:
            raise self._not_found(session_id)
        if not self._matches(labels):
            raise self._outside(name or session_id)
        return data

    @staticmethod
    def _status(data: Mapping[str, Any]) -> str:
        return str(as_dict(data.get("State")).get("Status", ""))

    def _spec_error(self, spec: SessionSpec, message: str) -> SesstuiError:
        if spec.origin.file is not None:
            return ConfigError(
                message, file=spec.origin.file, line=spec.origin.line, key=spec.origin.key
            )
        return UsageError(message)

    def _cli_args(self) -> list[str]:
        return self._resolve().cli_args()

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
