"""Session specs checked and turned into container-create arguments.

Everything here runs before the engine is asked anything, so a typo in the
config is reported with the spec, the key and the bad value, not as an
engine error halfway through a start.  Each ``*_problem`` / ``parse_*``
function raises :class:`SpecProblem` with a message that names the value;
the backend adds the spec's name and origin.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field

from core.config.records import SessionSpec

SESSION_LABEL = "sesstui.session"
MANAGED_LABEL = "sesstui.managed"
ATTACH_MODES = ("exec", "attach")
PROTOCOLS = ("tcp", "udp", "sctp")
VOLUME_MODES = ("ro", "rw")

# the engine's own rule for container names (moby: daemon/names)
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
# image references, after the distribution/reference grammar: an optional
# registry host[:port], lowercase path components, then :tag and/or @digest
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_MAX_REPOSITORY = 255


class SpecProblem(ValueError):
    """A spec value the engine would refuse (or misread); the message names it."""


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a container, or None."""
    if not _NAME.fullmatch(name):
        return (
            f"{name!r} is not a valid container name (two or more of letters, digits, "
            "'_', '.', '-', starting with a letter or digit)"
        )
    return None


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """``repository[:tag][@digest]`` -> (repository, tag, digest)."""
    rest, _, digest = ref.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    # a colon before the last slash belongs to a registry port, not a tag
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def image_problem(ref: str) -> str | None:
    """Why ``ref`` is not an image reference, or None."""
    if not ref:
        return "the image is empty"
    if any(c.isspace() for c in ref):
        return f"image {ref!r} contains whitespace"
    repository, tag, digest = split_image(ref)
    if "@" in ref and digest is None:
        return f"image {ref!r} has an empty digest after '@'"
    if digest is not None and not _DIGEST.fullmatch(digest):
        return (
            f"image {ref!r} has an invalid digest {digest!r} "
            "(expected algorithm:hex, e.g. sha256:<64 hex digits>)"
        )
    if tag is not None and not _TAG.fullmatch(tag):
        return (
            f"image {ref!r} has an invalid tag {tag!r} (letters, digits, '_', '.', '-'; "
            "at most 128, not starting with '.' or '-')"
        )
    if len(repository) > _MAX_REPOSITORY:
        return f"image {ref!r}: the repository name is longer than {_MAX_REPOSITORY} characters"
    if not _REPOSITORY.fullmatch(repository):
        path = repository.split("/", 1)[-1] if "/" in repository else repository
        hint = " (repository names are lowercase)" if path != path.lower() else ""
        return f"image {ref!r} is not a valid image reference{hint}"
    return None


def parse_volume(text: str) -> str:
    """``host:container[:ro|rw]`` -> the engine's bind string.

    The host side is an absolute path (``~`` expands) or a named volume; the
    container side an absolute path.
    """
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise SpecProblem(
            f"volume {text!r} is not host:container[:ro|rw] "
            "(e.g. /srv/data:/data:ro or a named volume, cache:/cache)"
        )
    host, container = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if host.startswith("~"):
        host = os.path.expanduser(host)  # noqa: PTH111 - a string for the engine
    if not host.startswith("/") and not _NAME.fullmatch(host):
        raise SpecProblem(
            f"volume {text!r}: host side {parts[0]!r} must be an absolute path or a volume "
            "name (letters, digits, '_', '.', '-')"
        )
    if not container.startswith("/") or container == "/":
        raise SpecProblem(
            f"volume {text!r}: container side {container!r} must be an absolute path below /"
        )
    if mode not in VOLUME_MODES:
        raise SpecProblem(f"volume {text!r}: mode {mode!r} must be ro or rw")
    return f"{host}:{container}:{mode}"


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One published (or only exposed) container port."""

    container: int
    protocol: str = "tcp"
    host_ip: str = ""  # "" = every address
    host_port: int | None = None  # None = a port the engine picks

    @property
    def key(self) -> str:
        return f"{self.container}/{self.protocol}"


def _port_number(text: str, spec: str, what: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise SpecProblem(f"port {spec!r}: {what} {text!r} is not a port number (1-65535)")
    return int(text)


def parse_port(text: str) -> PortSpec:
    """``[[ip:]host_port:]container_port[/tcp|udp|sctp]`` -> a :class:`PortSpec`.

    IPv6 host addresses go in brackets: ``[::1]:8080:80``.  Ranges are not
    supported.
    """
    body, protocol = text, "tcp"
    if "/" in text:
        body, _, protocol = text.rpartition("/")
        if protocol.lower() not in PROTOCOLS:
            raise SpecProblem(f"port {text!r}: protocol {protocol!r} must be tcp, udp or sctp")
        protocol = protocol.lower()
    host_ip = ""
    if body.startswith("["):
        end = body.find("]:")
        if end < 0:
            raise SpecProblem(f"port {text!r}: an IPv6 address needs [addr]:host_port:port")
        host_ip, body = body[1:end], body[end + 2 :]
        parts = ["", *body.split(":")]
        if len(parts) != 3:
            raise SpecProblem(f"port {text!r} is not [ip:]host_port:container_port[/proto]")
    else:
        parts = body.split(":")
        if len(parts) > 3:
            raise SpecProblem(
                f"port {text!r} has too many ':' (IPv6 addresses go in brackets: [::1]:8080:80)"
            )
        if len(parts) == 3:
            host_ip = parts[0]
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise SpecProblem(f"port {text!r}: {host_ip!r} is not an IP address") from None
    container = _port_number(parts[-1], text, "container port")
    host_port: int | None = None
    if len(parts) >= 2 and parts[-2]:
        host_port = _port_number(parts[-2], text, "host port")
    elif len(parts) == 2:
        raise SpecProblem(f"port {text!r}: the host port is empty")
    return PortSpec(container, protocol, host_ip, host_port)


@dataclass(frozen=True, slots=True)
class CreatePlan:
    """The container-create arguments for a spec, all checked."""

    name: str
    image: str
    command: list[str] | None
    environment: dict[str, str]
    binds: list[str]
    ports: list[PortSpec]
    working_dir: str | None
    network: str | None
    tty: bool
    labels: dict[str, str] = field(default_factory=dict)

    def exposed(self) -> list[tuple[int, str]]:
        seen: dict[str, tuple[int, str]] = {}
        for p in self.ports:
            seen.setdefault(p.key, (p.container, p.protocol))
        return list(seen.values())

    def port_bindings(self) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for p in self.ports:
            binding = {
                "HostIp": p.host_ip,
                "HostPort": "" if p.host_port is None else str(p.host_port),
            }
            out.setdefault(p.key, []).append(binding)
        return out


def command_of(spec: SessionSpec) -> list[str] | None:
    """The container's argv: the spec's list, ``sh -c LINE`` with ``shell``,
    or None for the image's default command."""
    command = list(spec.command)
    if any("\0" in part for part in command):
        raise SpecProblem("command contains a NUL byte")
    if spec.shell:
        if len(command) != 1:
            raise SpecProblem(
                "with shell: true the command must be one string (a shell command line), "
                f"not {len(command)} items"
            )
        return ["sh", "-c", command[0]]
    return command or None


def plan_create(spec: SessionSpec) -> CreatePlan:
    """Check every docker field of ``spec``; the first problem raises."""
    problem = name_problem(spec.name)
    if problem is not None:
        raise SpecProblem(problem)
    if not spec.image:
        raise SpecProblem("no image given (set image: for a docker session)")
    problem = image_problem(spec.image)
    if problem is not None:
        raise SpecProblem(problem)
    if spec.attach not in ATTACH_MODES:
        raise SpecProblem(f"attach {spec.attach!r} must be 'exec' or 'attach'")
    env: dict[str, str] = {}
    for key, value in spec.env.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise SpecProblem(f"env name {key!r} is invalid (non-empty, without '=' or NUL)")
        env[key] = value
    working_dir = None
    if spec.working_dir is not None:
        working_dir = spec.working_dir.as_posix()
        if not working_dir.startswith("/"):
            raise SpecProblem(
                f"working_dir {working_dir!r} must be an absolute path inside the container"
            )
    network = spec.network
    if network is not None and (not network or any(c.isspace() for c in network)):
        raise SpecProblem(f"network {network!r} is not a network name (e.g. none, host, bridge)")
    return CreatePlan(
        name=spec.name,
        image=spec.image,
        command=command_of(spec),
        environment=env,
        binds=[parse_volume(v) for v in spec.volumes],
        ports=[parse_port(p) for p in spec.ports],
        working_dir=working_dir,
        network=network,
        # `docker attach` wants a terminal to attach to, as with `docker run -it`
        tty=spec.attach == "attach",
        labels={SESSION_LABEL: spec.name, MANAGED_LABEL: "true"},
    )
