"""``sessions:``: the session specs ``start`` knows (kstlib.ops-style).

The keys are those ``SessionSpec`` declares (:mod:`core.config.records`), plus
kstlib.ops spellings read into them: ``socket_name`` (picks the tmux backend on
that socket), ``log_volume`` (one more volume) and ``runtime`` (docker or
podman).  A key declared for some kinds (``key(kinds=...)``) is refused on a
backend of another kind.  ``backend:`` may name a kind (``tmux``,
``container``) when exactly one backend of that kind is configured.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.config.loader import Node, describe
from core.config.reader import SESSION_NAME_RE, Context, Section
from core.config.records import BackendConfig, SessionSpec
from core.config.schema import file_keys, kinds_of, read_struct

_COMMAND_EXAMPLE = "[python, -m, bot]"
# kstlib.ops names a backend by its kind; "container" is its word for docker/podman
_BACKEND_KINDS = {"tmux": "tmux", "container": "docker", "docker": "docker", "podman": "docker"}


def _parse_command(node: Node | None, shell: bool, ctx: Context) -> tuple[str, ...]:
    if node is None:
        return ()
    if isinstance(node.value, str):
        if not node.value.strip():
            raise ctx.error("the command is empty; write what to run, e.g. 'make run'", node)
        if shell:
            return (node.value,)
        # kstlib.ops style: one string, split into words without a shell
        from core.cmdline import split_command

        try:
            return tuple(split_command(node.value))
        except ValueError as e:
            raise ctx.error(str(e), node) from None
    if not isinstance(node.value, list):
        raise ctx.error(
            f"expected a list of arguments, e.g. {_COMMAND_EXAMPLE}; got {describe(node.value)}",
            node,
        )
    return tuple(ctx.scalar_text(item, "python") for item in node.value)


def _socket_name(node: Node | None, ctx: Context) -> str | None:
    return None if node is None else ctx.text(node, "bots", allow_empty=False)


def _resolve_backend(
    sec: Section, node: Node, ctx: Context, backends: Sequence[BackendConfig]
) -> BackendConfig:
    """The backend the spec runs on: named, or a kind (kstlib.ops), tmux by default."""
    names = [b.name for b in backends]
    socket_node = sec.get("socket_name")
    socket_name = _socket_name(socket_node, ctx)
    backend_node = sec.get("backend")
    if backend_node is None:
        # kstlib.ops: no backend means its default, tmux
        name = _backend_of_kind(
            "tmux", "tmux", socket_name=socket_name, backends=backends, ctx=ctx, node=node
        )
    else:
        name = ctx.text(backend_node, names[0])
        if name not in names:
            if name not in _BACKEND_KINDS:
                raise ctx.error(
                    f"unknown backend '{name}'; configured backends: "
                    f"{', '.join(names)} (or a kind: tmux, container)",
                    backend_node,
                )
            name = _backend_of_kind(
                name, _BACKEND_KINDS[name], socket_name=socket_name, backends=backends,
                ctx=ctx, node=backend_node,
            )  # fmt: skip
    chosen = next(b for b in backends if b.name == name)
    chosen_socket = getattr(chosen, "socket_name", None)
    if socket_node is not None and chosen.kind == "tmux" and chosen_socket != socket_name:
        raise ctx.error(
            f"socket_name '{socket_name}' is not the socket of backend '{name}' "
            f"({chosen_socket or 'the default server'}); name the tmux backend "
            "with that socket_name, or drop the key",
            socket_node,
        )
    return chosen


def _parse_session(
    name: str, node: Node, ctx: Context, backends: Sequence[BackendConfig]
) -> SessionSpec:
    if not SESSION_NAME_RE.fullmatch(name):
        raise ctx.error(
            f"invalid session name '{name}'; use 1-64 letters, digits, '_' or '-', "
            f"starting with a letter or digit (it becomes a tmux or container name)",
            node,
            at_key=True,
        )
    extra = tuple(SessionSpec.file_only)
    sec = Section(node, ctx, "one session", "{backend: work, command: [python, -m, bot]}")
    sec.check_keys(file_keys(SessionSpec) + extra)
    chosen = _resolve_backend(sec, node, ctx, backends)
    kind = chosen.kind
    applies = {**kinds_of(SessionSpec), **SessionSpec.file_only}
    for key, kinds in applies.items():
        bad = sec.get(key)
        if bad is not None and kinds and kind not in kinds:
            raise ctx.error(
                f"'{key}' does not apply to a {kind} backend ('{chosen.name}')", bad, at_key=True
            )
    session_dir_node = sec.get("session_dir")
    if session_dir_node is not None:
        dirs = [b.name for b in backends if b.kind == "dirs"]
        if ctx.text(session_dir_node, "runs", allow_empty=False) not in dirs:
            raise ctx.error(
                f"session_dir must name a dirs backend (its logs go there); "
                f"dirs backends: {', '.join(dirs) or 'none configured'}",
                session_dir_node,
            )
    runtime_node = sec.get("runtime")
    if runtime_node is not None and ctx.text(runtime_node, "docker") not in ("docker", "podman"):
        raise ctx.error(
            "runtime must be 'docker' or 'podman' (the backend's engine runs it: "
            "podman through its Docker-compatible socket)",
            runtime_node,
        )
    if kind == "docker" and sec.get("image") is None:
        sec.need("image", "the image to run, e.g. busybox:latest")
    attach_node = sec.get("attach")
    if attach_node is not None and ctx.text(attach_node, "exec") not in ("exec", "attach"):
        raise ctx.error(
            f"attach must be 'exec' (a shell in the container) or 'attach' (its own "
            f"terminal); got {ctx.text(attach_node, 'exec')!r}",
            attach_node,
        )
    shell = sec.flag("shell", False)
    command_node = sec.get("command")
    given: dict[str, object] = {"name": name, "backend": chosen.name, "origin": ctx.origin(node)}
    if command_node is not None:
        given["command"] = _parse_command(command_node, shell, ctx)
    spec = read_struct(node, SessionSpec, ctx, given=given, extra_keys=extra,
                       skip=("backend", "command"))  # fmt: skip
    log_volume_node = sec.get("log_volume")
    if log_volume_node is not None:
        volume = ctx.text(log_volume_node, "./logs:/app/logs", allow_empty=False)
        spec = _with_volume(spec, volume)
    return spec


def _with_volume(spec: SessionSpec, volume: str) -> SessionSpec:
    import msgspec

    return msgspec.structs.replace(spec, volumes=(*spec.volumes, volume))


def _backend_of_kind(
    word: str,
    kind: str,
    *,
    socket_name: str | None,
    backends: Sequence[BackendConfig],
    ctx: Context,
    node: Node,
) -> str:
    """The one configured backend of ``kind`` a kstlib-style ``backend: tmux``
    (or ``container``) means; with ``socket_name``, the tmux backend on it."""
    found = [b for b in backends if b.kind == kind]
    if socket_name is not None:
        found = [b for b in found if getattr(b, "socket_name", None) == socket_name]
    what = f"{kind} backend" + (f" with socket_name '{socket_name}'" if socket_name else "")
    if not found:
        example = (
            f"{{name: {socket_name or 'work'}, kind: tmux"
            + (f", socket_name: {socket_name}}}" if socket_name else "}")
            if kind == "tmux"
            else "{name: local-docker, kind: docker}"
        )
        raise ctx.error(
            f"backend '{word}' means the {kind} backend, but no {what} is configured; "
            f"add one under backends:, e.g. {example}",
            node,
        )
    if len(found) > 1:
        names = ", ".join(b.name for b in found)
        raise ctx.error(
            f"backend '{word}' is ambiguous: several {kind} backends are configured "
            f"({names}); name one of them",
            node,
        )
    return found[0].name


def read_sessions(
    node: Node, ctx: Context, backends: tuple[BackendConfig, ...]
) -> dict[str, SessionSpec]:
    """``sessions:``: names to specs, each checked against the configured backends."""
    sec = Section(node, ctx, "session names to specs", "{bot: {backend: work, command: [bot]}}")
    return {name: _parse_session(name, child, ctx, backends) for name, child in sec.entries.items()}
