"""A container's inspect, in sections for the details screen."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from core.docker.base import DockerBase, as_dict, parse_time, strings

if TYPE_CHECKING:
    from core.inspection import Section


class InspectMixin(DockerBase):
    """inspect_sections of a :class:`DockerBackend`."""

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The engine's inspect of the container, in sections; every env
        value is shown redacted (a variable naming a secret as ``***``)."""
        from core.inspection import Section

        data = self._inspect(session_id)
        state = as_dict(data.get("State"))
        config = as_dict(data.get("Config"))
        host = as_dict(data.get("HostConfig"))
        net = as_dict(data.get("NetworkSettings"))
        health = as_dict(state.get("Health")).get("Status")
        container = {
            "id": data.get("Id"),
            "name": str(data.get("Name", "")).lstrip("/"),
            "image": config.get("Image"),
            "image id": data.get("Image"),
            "created": data.get("Created"),
            "status": state.get("Status"),
            "pid": state.get("Pid") or None,
            "exit code": state.get("ExitCode"),
            "started": parse_time(state.get("StartedAt")),
            "finished": parse_time(state.get("FinishedAt")),
            "restarts": data.get("RestartCount"),
            "engine": self.endpoint,
        }
        if health:
            container["health"] = health
        if state.get("Error"):
            container["error"] = state.get("Error")
        command = {
            "entrypoint": shlex.join(strings(config.get("Entrypoint"))) or None,
            "cmd": shlex.join(strings(config.get("Cmd"))) or None,
            "working dir": config.get("WorkingDir") or None,
            "user": config.get("User") or None,
            "tty": bool(config.get("Tty")),
            "stop signal": config.get("StopSignal") or None,
            "stop timeout": config.get("StopTimeout"),
        }
        env = [(k, v) for k, _eq, v in (e.partition("=") for e in strings(config.get("Env")))]
        labels = sorted((str(k), str(v)) for k, v in as_dict(config.get("Labels")).items())
        ports = [
            f"{port} -> "
            + (", ".join(f"{b.get('HostIp', '')}:{b.get('HostPort', '')}" for b in binds)
               if isinstance(binds, list) else "not published")
            for port, binds in sorted(as_dict(net.get("Ports")).items())
        ]  # fmt: skip
        mounts = [
            f"{m.get('Source', '')} -> {m.get('Destination', '')} "
            f"({m.get('Type', '')}{'' if m.get('RW', True) else ', read-only'})"
            for m in (data.get("Mounts") or [])
            if isinstance(m, dict)
        ]
        networks = {
            name: as_dict(n).get("IPAddress") or "-"
            for name, n in as_dict(net.get("Networks")).items()
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
