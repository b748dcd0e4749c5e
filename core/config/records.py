"""The records every configuration has, whatever its backend kinds.

``Origin`` (where a value came from), ``BackendConfig`` (the keys every backend
entry has; each kind's package subclasses it in its ``schema`` module),
``SessionSpec``, ``UIConfig`` and ``AppConfig``.  They are frozen
``msgspec.Struct`` records: the declaration of their keys is the schema the
reader validates against, the defaults here are the configuration's defaults,
and ``config_to_dict`` writes them back from the same declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from core.config.fields import key

if TYPE_CHECKING:
    from core.config.loader import Node
    from core.config.reader import Context


def _read_keymap(node: Node, ctx: Context) -> object:
    from core.config.ui import read_keymap

    return read_keymap(node, ctx)


def _read_size(node: Node, ctx: Context) -> object:
    from core.config.ui import read_size

    return read_size(node, ctx)


class Origin(msgspec.Struct, frozen=True):
    """Where a value came from, for error messages: file, line and key path."""

    file: str | None = None
    line: int | None = None
    key: str = ""

    def __str__(self) -> str:
        where = self.file or "<embedded default>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.key}" if self.key else where


KIND_KEY = key("the backend kind: dirs, tmux, docker, kv or json", "dirs")
"""The metadata of ``kind``: a kind's record redeclares ``kind`` with its own default."""


class BackendConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings common to every backend entry.

    A kind subclasses this in its package's ``schema`` module, sets ``kind``'s
    default to its name (``kind: Annotated[str, KIND_KEY] = "dirs"``) and adds its own keys.
    """

    derived: ClassVar[tuple[str, ...]] = ("origin",)  # not written in the file
    what: ClassVar[str] = "one backend"
    example: ClassVar[str] = "- {name: runs, kind: dirs, base: ~/runs}"

    name: Annotated[str, key("a short name used in refs such as runs:<id>", "runs")]
    kind: Annotated[str, KIND_KEY]
    origin: Origin = msgspec.field(default_factory=Origin)
    protected: Annotated[bool, key("prune and delete here need a typed confirmation")] = False
    timeout: Annotated[float, key("listing timeout in seconds", "5", gt=0)] = 5.0


_TMUX = ("tmux",)
_DOCKER = ("docker",)


class SessionSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A named session that ``start`` knows (kstlib.ops-style config)."""

    derived: ClassVar[tuple[str, ...]] = ("name", "origin")
    # kstlib.ops spellings, read into the fields above them (never stored)
    file_only: ClassVar[dict[str, tuple[str, ...]]] = {
        "socket_name": _TMUX,
        "log_volume": _DOCKER,
        "runtime": _DOCKER,
    }

    name: str
    backend: Annotated[
        str,
        key(
            "the backend (or a kind: tmux, container) that runs it; unset = the tmux backend",
            "work",
            required=False,  # sessions.py resolves it
        ),
    ]
    command: Annotated[
        tuple[str, ...], key("what to run: a list of words, or one line", "[python, -m, bot]")
    ] = ()
    shell: Annotated[bool, key("run command as one line through sh -c")] = False
    working_dir: Annotated[Path, key("the working directory", "~/bot")] | None = None
    env: Annotated[
        Mapping[str, str],
        key(
            "environment variables for the command",
            "{LOG_LEVEL: info}",
            entries="variable names to values",
        ),
    ] = msgspec.field(default_factory=dict)
    origin: Origin = msgspec.field(default_factory=Origin)
    window_name: (
        Annotated[str, key("the tmux window name", "main", empty=False, kinds=_TMUX)] | None
    ) = None
    session_dir: (
        Annotated[
            str,
            key("a dirs backend that keeps this session's logs", "runs", empty=False, kinds=_TMUX),
        ]
        | None
    ) = None
    stop_timeout: Annotated[float, key("seconds a stop waits before killing", "10", gt=0)] = 10.0
    image: (
        Annotated[str, key("the image to run", "busybox:latest", empty=False, kinds=_DOCKER)] | None
    ) = None
    volumes: Annotated[
        tuple[str, ...], key("host:container[:ro|rw] mounts", "[/srv/data:/data:ro]", kinds=_DOCKER)
    ] = ()
    ports: Annotated[
        tuple[str, ...], key("published ports, e.g. 8080:80 or 9000/udp", "['8080:80']",
                             kinds=_DOCKER)
    ] = ()  # fmt: skip
    network: (
        Annotated[str, key("the network, e.g. none", "none", empty=False, kinds=_DOCKER)] | None
    ) = None
    attach: Annotated[
        str, key("exec (a shell in the container) or attach (its own terminal)", "exec",
                 kinds=_DOCKER)
    ] = "exec"  # fmt: skip


class UIConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Display settings (``ui:``)."""

    derived: ClassVar[tuple[str, ...]] = ("theme_origin",)
    what: ClassVar[str] = "display settings"
    example: ClassVar[str] = "{theme: sesstui-dark}"

    theme: Annotated[str, key("the theme name", "sesstui-dark", empty=False)] = "sesstui-dark"
    refresh_seconds: Annotated[float, key("seconds between refreshes", "2", gt=0)] = 2.0
    log_lines: Annotated[int, key("log lines kept per pane", "200", ge=1)] = 200
    keymap: Annotated[
        Mapping[str, str], key("action ids to keys", "{sessions.prune: P}", read=_read_keymap)
    ] = msgspec.field(default_factory=dict)
    # "since last open": a session that grew by this many bytes is named
    grow_notice: Annotated[
        int, key("growth (bytes, or 100M, 1.5G) a session is named for", "100M", read=_read_size)
    ] = 100 * 1024**2
    # where ui.theme was set (file, line), for "unknown theme" errors
    theme_origin: Origin = msgspec.field(default_factory=Origin)


class AppConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The whole configuration: backends, session specs, display settings, views."""

    backends: tuple[BackendConfig, ...]
    sessions: Mapping[str, SessionSpec] = msgspec.field(default_factory=dict)
    ui: UIConfig = msgspec.field(default_factory=UIConfig)
    source: Path | None = None  # None = embedded default
    # saved views: name -> filter query (core.query), checked when loaded
    views: Mapping[str, str] = msgspec.field(default_factory=dict)

    def backend(self, name: str) -> BackendConfig | None:
        for b in self.backends:
            if b.name == name:
                return b
        return None
