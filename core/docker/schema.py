"""The ``docker`` kind: its configuration keys and how its backend is built.

``backends: [{kind: docker, base_url: unix:///run/docker.sock}]`` -- one Docker
(or Podman Docker-compatible) engine.  Adding a key: declare it here with
``key()``, use it in :mod:`core.docker`, document it in the README and
``config.example.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec

from core.config.fields import key
from core.config.kinds import BuildContext, Kind
from core.config.records import KIND_KEY, BackendConfig
from core.config.schema import Problem

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.loader import Node
    from core.config.reader import Context

# the labels core.docker.specs puts on each container (not imported: that
# module loads the container-create helpers)
_OWN_LABELS = ("sesstui.session", "sesstui.managed")


def _scope(node: Node, ctx: Context) -> str:
    scope = ctx.text(node, "labeled", allow_empty=False)
    if scope not in ("labeled", "all"):
        raise ctx.error(
            f"scope must be 'labeled' (containers sesstui labels) or 'all'; got {scope!r}", node
        )
    return scope


class DockerBackendConfig(BackendConfig, frozen=True, kw_only=True):
    """One Docker (or Podman Docker-compatible) engine."""

    kind: Annotated[str, KIND_KEY] = "docker"
    # unix:///path, tcp://host:2376, ssh://user@host; None = the environment
    # (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), like `docker` itself
    base_url: Annotated[
        str, key("the engine's URL; unset = the environment", "unix:///run/docker.sock",
                 empty=False)
    ] | None = None  # fmt: skip
    context: Annotated[
        str, key("a docker CLI context name (~/.docker/contexts)", "remote", empty=False)
    ] | None = None  # fmt: skip
    tls_verify: Annotated[bool, key("verify the engine's TLS certificate")] | None = None
    cert_path: Annotated[
        Path, key("folder of ca.pem, cert.pem, key.pem for tcp:// with TLS", "~/.docker")
    ] | None = None  # fmt: skip
    scope: Annotated[
        str, key("labeled: only containers sesstui labels; all: every one", "labeled",
                 read=_scope)
    ] = "labeled"  # fmt: skip
    shell: Annotated[str, key("what attach runs with docker exec -it", "sh", empty=False)] = "sh"
    docker: Annotated[
        str, key("the docker CLI used for attach", "/usr/bin/docker", empty=False)
    ] = "docker"
    prune_after_days: Annotated[
        float, key("exited labelled containers older than this are pruned", "1", ge=0)
    ] = 1.0
    # only containers carrying every one of these labels with exactly this value
    # (a server-side filter, whatever the scope); containers the backend starts
    # get them too.  Empty = no such filter.  The demo narrows to its own token.
    match_labels: Annotated[
        Mapping[str, str],
        key(
            "only containers with these labels (and values)",
            "{team: data}",
            entries="labels to values",
        ),
    ] = msgspec.field(default_factory=dict)

    def validate(self) -> None:
        if self.base_url is not None and self.context is not None:
            raise Problem("context", "give base_url or context, not both")
        for label in _OWN_LABELS:
            if label in self.match_labels:
                raise Problem(
                    ("match_labels", label),
                    f"match_labels cannot name {label}: sesstui sets it on each container it "
                    "starts (scope: labeled filters on sesstui.session already)",
                    at_key=True,
                )


def build(config: BackendConfig, context: BuildContext) -> Backend:
    """The backend, with the session specs that run on it."""
    from core.docker.backend import DockerBackend

    return DockerBackend(config, specs=context.specs_for(config.name))


KIND = Kind("docker", DockerBackendConfig, build)
