"""Starting, stopping, restarting and attaching to containers.

Starting a spec checks the spec first (see :mod:`core.docker.specs`), then
that the image is on the engine: sesstui never pulls.  A stopped container
of the same name that sesstui started is started again, as it was created.
"""

from __future__ import annotations

import math
import shlex
import shutil
from collections.abc import Mapping
from typing import Any

from core.config.records import SessionSpec
from core.docker.base import LIVE, DockerBase, as_dict, explanation
from core.docker.specs import SESSION_LABEL, SpecProblem, plan_create
from core.errors import ActionFailed, SesstuiError
from core.model import Session, StopDescription


def docker_stop_description(timeout: float) -> StopDescription:
    """What a docker backend's stop does (graceful, kill, and for a bulk stop)."""
    wait = max(0, math.ceil(timeout))
    return StopDescription(
        "Stop sends the container SIGTERM (or its image's stop signal) and waits up to "
        f"{wait}s before SIGKILL; the container is kept, stopped.",
        "Kill now sends SIGKILL at once; the container is kept, stopped.",
        f"SIGTERM, then up to {wait}s before SIGKILL",
    )


class ActionsMixin(DockerBase):
    """start / resume / restart / stop / attach of a :class:`DockerBackend`."""

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
            created = as_dict(
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
                data = as_dict(api.inspect_container(name))
        except ActionFailed as e:
            if isinstance(e.__cause__, docker.errors.NotFound):
                return None
            raise
        if str(data.get("Name", "")).lstrip("/") != name:
            return None  # an id prefix, not the name: the name is free
        return data

    def _restart(self, name: str, data: Mapping[str, Any]) -> Session:
        labels = as_dict(as_dict(data.get("Config")).get("Labels"))
        if SESSION_LABEL not in labels:
            raise ActionFailed(
                f"a container named {name!r} already exists on {self.endpoint} and sesstui did "
                "not start it (no sesstui.session label); remove or rename it, or choose "
                "another session name",
                title="Name taken",
            )
        if not self._matches(labels):
            raise self._outside(name)
        if self._status(data) in LIVE:
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
        if self._status(data) in LIVE:
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

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription:
        """What :meth:`stop` does."""
        return docker_stop_description(timeout)

    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """Stop the container.  Graceful: SIGTERM (or the image's stop
        signal), then SIGKILL after ``timeout`` s (whole seconds, rounded up);
        ``graceful=False`` kills it at once.  A stopped container is left as
        it is."""
        data = self._inspect(session_id)
        if self._status(data) not in LIVE:
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
                if "is not running" in explanation(e):
                    return  # it stopped by itself meanwhile
                raise

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
