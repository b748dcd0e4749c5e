"""Which engine a docker backend talks to, and how to reach it.

Three ways to name an engine, in this order:

* ``base_url`` in the config: ``unix:///path`` (Docker, or Podman's
  Docker-compatible socket), ``tcp://host:port`` (TLS with ``tls_verify`` /
  ``cert_path``, else from ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``;
  ``https://`` also means TLS), ``ssh://user@host`` (through the ``ssh``
  binary, so ``~/.ssh/config`` applies, as with the docker CLI);
* ``context``: a docker CLI context by name, read from
  ``$DOCKER_CONFIG/contexts/meta/*/meta.json`` (``~/.docker`` by default),
  with its TLS files from ``contexts/tls/<sha256 of the name>/docker``;
* neither: the environment, as ``docker.from_env()`` reads it (``DOCKER_HOST``,
  ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``), else the default socket.

An endpoint never falls back to another: the one named is the one used.  The
same endpoint is handed to the docker CLI for attach (``-H`` and ``--tls*``
flags, or ``--context``), so both talk to the same daemon.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.docker.schema import DockerBackendConfig
from core.errors import BackendUnavailable
from core.redaction import redact, remember_url_secrets

DEFAULT_HOST = "unix:///var/run/docker.sock"
_TLS_SCHEMES = ("tcp://", "https://")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A resolved engine address and its TLS material."""

    host: str
    tls: bool = False
    tls_verify: bool = False
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    context: str | None = None  # the CLI context it came from
    source: str = "config"  # config | context | environment | default

    def __post_init__(self) -> None:
        # docker errors may echo the address: hide its password in them too
        remember_url_secrets(self.host)

    @property
    def display(self) -> str:
        """The address for people: credentials redacted, the context named."""
        shown = redact(self.host)
        return f"{shown} (context {self.context})" if self.context else shown

    @property
    def socket_path(self) -> str | None:
        """The socket file of a ``unix://`` endpoint."""
        if self.host.startswith("unix://"):
            return self.host[len("unix://") :]
        return None

    def cli_args(self) -> list[str]:
        """Global docker CLI flags that reach this same engine."""
        if self.context is not None:
            return ["--context", self.context]
        args = ["-H", self.host]
        if self.tls:
            args.append("--tlsverify" if self.tls_verify else "--tls")
            for flag, path in (
                ("--tlscacert", self.ca_cert),
                ("--tlscert", self.client_cert),
                ("--tlskey", self.client_key),
            ):
                if path:
                    args += [flag, path]
        return args


def _tls_files(directory: Path) -> tuple[str | None, str | None, str | None]:
    def present(name: str) -> str | None:
        path = directory / name
        return str(path) if path.is_file() else None

    return present("ca.pem"), present("cert.pem"), present("key.pem")


def _with_tls(host: str, *, verify: bool, cert_dir: Path, source: str) -> Endpoint:
    ca, cert, key = _tls_files(cert_dir)
    return Endpoint(host, True, verify, ca, cert, key, source=source)


def _env_tls(environ: Mapping[str, str]) -> tuple[bool, bool, Path | None]:
    """(tls on, verify, cert dir) as docker-py's ``kwargs_from_env`` reads them:
    ``DOCKER_TLS_VERIFY`` set and non-empty -> verify; a cert path alone -> TLS."""
    cert = environ.get("DOCKER_CERT_PATH") or None
    raw = environ.get("DOCKER_TLS_VERIFY")
    verify = raw is not None and raw != ""
    return (bool(cert) or verify), verify, Path(cert) if cert else None


def docker_config_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get("DOCKER_CONFIG")
    if configured:
        return Path(configured)
    return Path(environ.get("HOME") or os.path.expanduser("~")) / ".docker"  # noqa: PTH111


def from_context(name: str, environ: Mapping[str, str]) -> Endpoint:
    """The endpoint of docker CLI context ``name`` (``default``: the environment)."""
    if name == "default":
        return from_environment(environ)
    base = docker_config_dir(environ) / "contexts"
    known: list[str] = []
    meta_dir = base / "meta"
    for meta in sorted(meta_dir.glob("*/meta.json")):
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        ctx_name = data.get("Name")
        if isinstance(ctx_name, str):
            known.append(ctx_name)
        if ctx_name != name:
            continue
        endpoints = data.get("Endpoints")
        docker_ep = endpoints.get("docker") if isinstance(endpoints, dict) else None
        host = docker_ep.get("Host") if isinstance(docker_ep, dict) else None
        if not isinstance(host, str) or not host:
            raise BackendUnavailable(
                f"docker context {name!r} ({meta}) has no docker endpoint Host; "
                f"check it with `docker context inspect {name}`"
            )
        skip_verify = bool(docker_ep.get("SkipTLSVerify")) if isinstance(docker_ep, dict) else False
        digest = hashlib.sha256(name.encode()).hexdigest()
        ca, cert, key = _tls_files(base / "tls" / digest / "docker")
        tls = any((ca, cert, key)) or host.startswith("https://")
        return Endpoint(host, tls, tls and not skip_verify, ca, cert, key, name, "context")
    listed = ", ".join(["default", *known])
    raise BackendUnavailable(
        f"no docker context named {name!r} in {meta_dir} (known: {listed}); "
        "create it with `docker context create`, or set base_url instead"
    )


def from_environment(environ: Mapping[str, str]) -> Endpoint:
    """``DOCKER_HOST`` / ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``, like
    ``docker.from_env()``; without ``DOCKER_HOST`` the default socket."""
    host = environ.get("DOCKER_HOST") or ""
    source = "environment" if host else "default"
    host = host or DEFAULT_HOST
    tls, verify, cert_dir = _env_tls(environ)
    if tls:
        cert_dir = cert_dir or docker_config_dir(environ)
        return _with_tls(host, verify=verify, cert_dir=cert_dir, source=source)
    return Endpoint(host, source=source)


def resolve(config: DockerBackendConfig, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint ``config`` names (see the module docstring)."""
    env = os.environ if environ is None else environ
    if config.base_url and config.context:
        raise BackendUnavailable(
            f"backend '{config.name}' sets both base_url and context; keep one of them"
        )
    if config.context:
        return from_context(config.context, env)
    if not config.base_url:
        endpoint = from_environment(env)
        if config.tls_verify is None and config.cert_path is None:
            return endpoint
        host = endpoint.host
    else:
        host = config.base_url
    if not host.startswith(_TLS_SCHEMES):
        return Endpoint(host)
    env_tls, env_verify, env_dir = _env_tls(env)
    verify = env_verify if config.tls_verify is None else config.tls_verify
    cert_dir = Path(os.path.expanduser(config.cert_path)) if config.cert_path else env_dir  # noqa: PTH111
    tls = verify or cert_dir is not None or host.startswith("https://") or env_tls
    if not tls:
        return Endpoint(host)
    return _with_tls(
        host, verify=verify, cert_dir=cert_dir or docker_config_dir(env), source="config"
    )
