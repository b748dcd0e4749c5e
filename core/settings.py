"""Typed configuration records.  ``core.config`` parses YAML into these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.model import PrunePolicy


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from, for error messages: file, line and key path."""

    file: str | None = None
    line: int | None = None
    key: str = ""

    def __str__(self) -> str:
        where = self.file or "<embedded default>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.key}" if self.key else where


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """Settings common to every backend entry."""

    name: str
    kind: str
    origin: Origin = field(default_factory=Origin)
    protected: bool = False
    timeout: float = 5.0  # per-backend listing timeout, seconds


@dataclass(frozen=True, slots=True)
class DirsBackendConfig(BackendConfig):
    """A folder of session directories (vcti-session convention)."""

    base: Path = Path()
    prefix: str = "session_"
    timestamp_format: str = "%Y-%m-%d-%H-%M-%S"
    retention: PrunePolicy = field(default_factory=PrunePolicy)
    log_glob: str = "*.log"
    create_base: bool = False


@dataclass(frozen=True, slots=True)
class TmuxBackendConfig(BackendConfig):
    """One tmux server: the default one, a named socket (-L) or a socket path (-S)."""

    socket_name: str | None = None
    socket_path: Path | None = None
    tmux: str = "tmux"  # the binary, found on PATH unless a path is given
    # where pipe-pane logs go for sessions whose spec names no session_dir;
    # None = <state dir>/tmux-logs/<backend name>
    log_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class DockerBackendConfig(BackendConfig):
    """One Docker (or Podman Docker-compatible) engine."""

    # unix:///path, tcp://host:2376, ssh://user@host; None = the environment
    # (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), like `docker` itself
    base_url: str | None = None
    context: str | None = None  # a docker CLI context name (~/.docker/contexts)
    tls_verify: bool | None = None  # None = from the environment / URL scheme
    cert_path: Path | None = None  # ca.pem, cert.pem, key.pem for tcp:// with TLS
    scope: str = "labeled"  # "labeled": only sesstui.session containers; "all"
    shell: str = "sh"  # what `attach` runs with docker exec -it
    docker: str = "docker"  # the CLI used for attach
    prune_after_days: float = 1.0  # exited labelled containers older than this are pruned
    # only containers carrying every one of these labels with exactly this value
    # (a server-side filter, whatever the scope); containers the backend starts
    # get them too.  Empty = no such filter.  The demo narrows to its own token.
    match_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KvBackendConfig(BackendConfig):
    """KV session records with TTLs (chuk-sessions convention), memory or Redis."""

    provider: str = "memory"  # "memory" (this process; the demo) or "redis"
    # redis://[:password@]host:port/db, rediss:// (TLS), unix:///path.sock?db=0;
    # None = $SESSION_REDIS_URL, else $REDIS_URL, else redis://localhost:6379/0
    url: str | None = None
    sandbox: str | None = None  # show only this sandbox; None = all
    key_prefix: str = "session:"  # keys outside it are never shown or touched
    connect_timeout: float = 2.0
    socket_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class JsonBackendConfig(BackendConfig):
    """JSON-file session records (calute convention): {base}/[{workspace}/]{id}.json."""

    base: Path = Path()
    create_base: bool = False
    prune_after_days: float = 30.0  # prune removes ended sessions older than this


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """A named session that ``start`` knows (kstlib.ops-style config)."""

    name: str
    backend: str
    command: tuple[str, ...] = ()
    shell: bool = False
    working_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    origin: Origin = field(default_factory=Origin)
    window_name: str | None = None  # tmux
    # a dirs backend: start makes a session directory there for this session's
    # logs (pipe-pane output), so they outlive the session
    session_dir: str | None = None
    stop_timeout: float = 10.0
    # docker
    image: str | None = None
    volumes: tuple[str, ...] = ()  # "host:container[:ro|rw]"
    ports: tuple[str, ...] = ()  # "8080:80", "127.0.0.1:8080:80/tcp", "9000/udp"
    network: str | None = None  # e.g. "none"; None = the engine's default
    attach: str = "exec"  # "exec" (docker exec -it ... shell) or "attach" (docker attach)


@dataclass(frozen=True, slots=True)
class UIConfig:
    theme: str = "sesstui-dark"
    refresh_seconds: float = 2.0
    log_lines: int = 200
    keymap: Mapping[str, str] = field(default_factory=dict)
    # "since last open": a session that grew by this many bytes is named
    grow_notice: int = 100 * 1024**2
    # where ui.theme was set (file, line), for "unknown theme" errors
    theme_origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True, slots=True)
class AppConfig:
    backends: tuple[BackendConfig, ...]
    sessions: Mapping[str, SessionSpec] = field(default_factory=dict)
    ui: UIConfig = field(default_factory=UIConfig)
    source: Path | None = None  # None = embedded default
    # saved views: name -> filter query (core.query), checked when loaded
    views: Mapping[str, str] = field(default_factory=dict)

    def backend(self, name: str) -> BackendConfig | None:
        for b in self.backends:
            if b.name == name:
                return b
        return None
