"""The configuration assembled: the kinds' schemas, sessions, ui and views.

``load_config`` finds the file, loads it with the line-aware loader, expands
``${VAR}``, reads each backend entry with its kind's schema (the ``kind`` key
picks it, :mod:`core.config.kinds`), then the session specs, ``ui`` and
``views``.  ``config_to_dict`` writes the result back from the same schemas.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from core import paths
from core.config.discovery import discover_config
from core.config.kinds import KNOWN_KINDS, kind
from core.config.loader import Node, describe, expand_tree, load_tree, read_text
from core.config.reader import NAME_RE, Context, Section
from core.config.records import AppConfig, BackendConfig, Origin, UIConfig
from core.config.schema import dump_struct, read_struct
from core.config.sessions import read_sessions
from core.config.ui import read_ui, read_views
from core.redaction import MASK, is_secret_key, redact

_TOP_KEYS = ("backends", "sessions", "ui", "views")

# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------


def _default_backends(env: Mapping[str, str]) -> tuple[BackendConfig, ...]:
    """The backends served when the configuration lists none.

    One entry per kind that works without any setup: a dirs folder under
    ``data_dir()``, the default tmux server, and Docker from the environment
    when there is one to reach (``DOCKER_HOST`` set, or the standard socket
    present: checked without connecting, so loading stays instant).  Keep the
    names stable: they appear in session refs such as ``runs:<id>``.
    """
    from core.dirs.schema import DirsBackendConfig
    from core.docker.schema import DockerBackendConfig
    from core.tmux.schema import TmuxBackendConfig

    backends: list[BackendConfig] = [
        DirsBackendConfig(
            name="runs",
            origin=Origin(key="backends[0]"),
            base=paths.data_dir(env) / "runs",
            create_base=True,
        ),
        # the default tmux server; with no tmux or no server it shows as such
        TmuxBackendConfig(name="tmux", origin=Origin(key="backends[1]")),
    ]
    if env.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists():
        backends.append(DockerBackendConfig(name="docker", origin=Origin(key="backends[2]")))
    return tuple(backends)


def default_config(env: Mapping[str, str] | None = None) -> AppConfig:
    """The embedded configuration used when no file is found (``source`` is None)."""
    return AppConfig(backends=_default_backends(os.environ if env is None else env))


# ---------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------


def _read_backend(node: Node, ctx: Context) -> BackendConfig:
    """One entry, read with the schema of the kind it names."""
    example = "- {name: runs, kind: dirs, base: ~/runs}"
    sec = Section(node, ctx, "one backend", example)
    known = ", ".join(KNOWN_KINDS)
    kind_node = sec.need("kind", f"one of {known}")
    name = ctx.text(kind_node, "dirs")
    if name not in KNOWN_KINDS:
        raise ctx.error(f"unknown kind '{name}'; known kinds: {known}", kind_node)
    backend = read_struct(node, kind(name).schema, ctx, given={"origin": ctx.origin(node)})
    if not NAME_RE.fullmatch(backend.name):
        raise ctx.error(
            f"invalid backend name '{backend.name}'; use 1-64 letters, digits, '_', '.' or '-', "
            f"starting with a letter or digit (it appears in refs like {{name}}:<id>)",
            sec.need("name", ""),
        )
    return backend


def _read_backends(node: Node, ctx: Context) -> tuple[BackendConfig, ...]:
    if not isinstance(node.value, list):
        raise ctx.error(
            f"expected a list of backends, e.g. - {{name: runs, kind: dirs, base: ~/runs}}; "
            f"got {describe(node.value)}",
            node,
        )
    if not node.value:
        raise ctx.error(
            "no backends listed; add one, or remove 'backends' to use the built-in defaults",
            node,
        )
    seen: dict[str, Node] = {}
    backends: list[BackendConfig] = []
    for item in node.value:
        backend = _read_backend(item, ctx)
        name_node = item.child("name") or item  # _read_backend accepted it: it has a name
        first = seen.get(backend.name)
        if first is not None:
            raise ctx.error(
                f"duplicate backend name '{backend.name}' (first at line {first.line}); "
                f"give each backend its own name",
                name_node,
            )
        seen[backend.name] = name_node
        backends.append(backend)
    return tuple(backends)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def _load_file(path: Path, env: Mapping[str, str]) -> AppConfig:
    file = redact(str(path))
    source = path.absolute()
    ctx = Context(file=file, base_dir=source.parent, env=env)
    root = load_tree(read_text(path, file), file)
    if root is None or root.value is None:
        # An empty file (or one with only comments) is a valid, empty configuration.
        root = Node({}, 1, 1, "")
    if not isinstance(root.value, dict):
        raise ctx.error(
            f"the top level must be a mapping with the keys {', '.join(_TOP_KEYS)}; "
            f"got {describe(root.value)}",
            root,
        )
    top = Section(root, ctx, "the configuration", "backends: [...]")
    top.check_keys(_TOP_KEYS)
    expand_tree(root, env, file)
    backends_node = top.get("backends")
    backends = (
        _default_backends(env) if backends_node is None else _read_backends(backends_node, ctx)
    )
    sessions_node, ui_node, views_node = top.get("sessions"), top.get("ui"), top.get("views")
    return AppConfig(
        backends=backends,
        sessions={} if sessions_node is None else read_sessions(sessions_node, ctx, backends),
        ui=UIConfig() if ui_node is None else read_ui(ui_node, ctx),
        source=source,
        views={} if views_node is None else read_views(views_node, ctx),
    )


def load_config(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> AppConfig:
    """Read and validate the configuration.

    ``path`` is the ``--config`` value; without it the file is discovered (see
    ``discover_config``), and without any file the result is
    ``default_config()``.  ``env`` (default ``os.environ``) feeds ``${VAR}``
    expansion, ``~``, ``$SESSTUI_CONFIG`` and the XDG directories.  A file with
    no ``backends`` key gets the default backends.  Relative paths in the file
    are relative to the file's folder.

    Raises ``ConfigError`` (file, line, key path, what to do) for anything wrong.
    """
    environ = os.environ if env is None else env
    found = discover_config(path, environ)
    if found is None:
        return default_config(environ)
    return _load_file(found, environ)


# ---------------------------------------------------------------------------
# Back to plain data
# ---------------------------------------------------------------------------


def _redact_tree(value: object, key: str = "") -> object:
    if isinstance(value, dict):
        return {k: _redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, key) for v in value]
    if isinstance(value, str):
        return MASK if value and is_secret_key(key) else redact(value)
    return value


def config_to_dict(cfg: AppConfig, *, redact: bool = True) -> dict[str, object]:
    """The effective configuration as plain JSON-able data, in the file's shape.

    Every value is filled in (defaults included), paths are absolute strings.
    The result is a valid configuration file when written as YAML (``source``
    is not part of it; it is ``cfg.source``).  With ``redact`` (the default),
    values of secret-named keys become ``***`` and URL passwords are hidden:
    use that for anything shown or logged.
    """
    data: dict[str, object] = {
        "backends": [dump_struct(b) for b in cfg.backends],
        "sessions": {name: dump_struct(s) for name, s in cfg.sessions.items()},
        "ui": dump_struct(cfg.ui),
        "views": dict(cfg.views),
    }
    if not redact:
        return data
    redacted = _redact_tree(data)
    assert isinstance(redacted, dict)  # noqa: S101 -- _redact_tree keeps the shape
    return redacted
