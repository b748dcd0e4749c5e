"""``sesstui demo``: a throwaway sandbox of real sessions, then the dashboard.

The sandbox holds session directories made with the producer API (some old
enough for the retention policy to prune, and one whose creating process is
alive and keeps logging, so its log grows while you watch), in-memory KV
sessions whose TTLs tick, JSON agent sessions, two tmux sessions on a private
server (when tmux is installed) and two containers (when a Docker engine is
reachable and already has a busybox or alpine image: the demo never pulls).

Nothing touches the user's own things: tmux runs on a socket inside the
sandbox (``tmux -S``), containers carry a ``sesstui.demo`` label with this
sandbox's token and only those are shown (the docker backend's
``match_labels``: the user's other containers on the same engine never appear
and cannot be stopped or deleted from the demo) and removed, and the app's
state directory (``XDG_STATE_HOME``) points into the sandbox.  Everything is
removed on exit: quit, Ctrl+C, SIGHUP/SIGTERM or an error.  What the demo had
to leave out (no tmux, no engine, no image) is printed before the dashboard
starts and shown in it as a notification.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config.records import AppConfig, BackendConfig, SessionSpec, UIConfig
from core.dirs.naming import make_name
from core.dirs.producer import LogConfig, SessionDir, SessionHandler
from core.dirs.schema import DirsBackendConfig
from core.docker.schema import DockerBackendConfig
from core.docker.specs import MANAGED_LABEL, SESSION_LABEL
from core.jsonstore.schema import JsonBackendConfig
from core.kv.schema import KvBackendConfig
from core.model import PrunePolicy
from core.tmux.schema import TmuxBackendConfig

if TYPE_CHECKING:
    from core.kv.providers import MemoryStores
    from tui.app import SesstuiApp

_JOBS = ("ingest", "train", "render", "export", "backfill", "reindex")

DEMO_LABEL = "sesstui.demo"  # value: the sandbox's token; cleanup removes exactly these
TMUX_SESSIONS = ("build", "shell")
DOCKER_TIMEOUT = 3.0  # seconds for the reachability check and each demo request
# a unix socket path must fit in sun_path (108 bytes on Linux, 104 on macOS)
_MAX_SOCKET_PATH = 100
# images the demo may use when present: tiny, with a POSIX sh
_DEMO_IMAGE = re.compile(r"(^|[/-])(busybox|alpine)(:|$)")

# a build that prints a line a second, so `follow` has something to show
_BUILD_SCRIPT = r"""
n=0
while :; do
  n=$((n+1))
  echo "$(date +%H:%M:%S) build: step $n, compiled $((n * 7 % 40 + 3)) files"
  [ $((n % 12)) -eq 0 ] && echo "$(date +%H:%M:%S) build: warning: 2 deprecations"
  sleep 1
done
"""
# the demo containers: a web server's access log and a queue worker
_CONTAINERS = (
    ("web", 'echo "GET /api/items/$n 200 $((n % 9 + 2))ms"', 1),
    ("worker", 'echo "job $n: done, $((n * 13 % 97)) rows"', 2),
)


def build_sandbox(root: Path, *, count: int = 12, seed: int = 7) -> Path:
    """Session dirs of various ages and sizes under ``root/runs``."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    base = root / "runs"
    base.mkdir(parents=True)
    now = datetime.now()
    for i in range(count):
        age = timedelta(hours=rng.uniform(1, 24 * 18)) if i else timedelta(minutes=5)
        when = now - age
        path = base / make_name(now=when, pid=rng.randint(40_000, 90_000) * 40)
        job = _JOBS[i % len(_JOBS)]
        (path / "logs").mkdir(parents=True)
        lines = []
        count = rng.randint(20, 400)
        step = min(age.total_seconds(), 4 * 3600) / count  # never past "now"
        t = when
        for n in range(count):
            t += timedelta(seconds=step * rng.uniform(0.5, 1.0))
            level = rng.choices(["INFO", "WARNING", "ERROR"], [90, 8, 2])[0]
            lines.append(f"{t:%Y-%m-%d %H:%M:%S} {level:<7} {job}: step {n} done")
        (path / "logs" / "app.log").write_text("\n".join(lines) + "\n")
        (path / "output.bin").write_bytes(os.urandom(rng.randint(1, 64) * 4096))
        ts = when.timestamp()
        for f in (path / "logs" / "app.log", path / "output.bin", path / "logs", path):
            os.utime(f, (ts, ts))
    return base


def build_kv_sessions(stores: MemoryStores, store_name: str) -> None:
    """In-memory KV sessions (the store ``store_name`` of ``stores``) with TTLs that tick."""
    import asyncio

    from core.kv.manager import SessionManager as KvSessions

    async def fill() -> None:
        provider = stores.provider(store_name)
        app = KvSessions("web-app", default_ttl_hours=1, provider=provider)
        api = KvSessions("api-gw", default_ttl_hours=0.5, provider=provider)
        for user, minutes in (("alice", 42), ("bob", 1.5), ("carol", 15)):
            await app.allocate_session(
                user_id=user, ttl_hours=minutes / 60, custom_metadata={"plan": "pro"}
            )
        for n in range(3):
            await api.allocate_session(ttl_hours=(n + 1) * 0.2, custom_metadata={"route": "/v1"})

    asyncio.run(fill())


def build_json_sessions(base: Path) -> None:
    """JSON-file agent sessions, one ended, some in workspaces."""
    from core.jsonstore.manager import SessionManager as JsonSessions
    from core.jsonstore.store import FileSessionStore

    manager = JsonSessions(FileSessionStore(base))
    lookup = {"tool_name": "carrier_lookup", "arguments": {"order": 1182},
              "result": "in transit", "duration_ms": 84}  # fmt: skip
    talk: list[tuple[str, str, list[dict[str, object]]]] = [
        ("my order #1182 is late", "checking the carrier", [lookup]),
        ("when will it arrive?", "it ships tomorrow", []),
        ("thanks", "you're welcome", []),
    ]
    for ws, agent, turns, ended in (
        ("support", "triage", 3, False),
        ("support", "billing", 2, True),
        (None, "researcher", 1, False),
    ):
        rec = manager.start_session(workspace_id=ws, agent_id=agent)
        for prompt, response, calls in talk[:turns]:
            manager.record_turn(rec.session_id, prompt=prompt, response=response, tool_calls=calls)
        if ended:
            manager.end_session(rec.session_id)


def demo_config(
    base: Path,
    kv_store: str = "demo-kv",
    agents: Path | None = None,
    *,
    tmux: TmuxBackendConfig | None = None,
    docker: DockerBackendConfig | None = None,
    sessions: Mapping[str, SessionSpec] | None = None,
) -> AppConfig:
    """The demo's configuration: its dirs, KV and JSON backends, plus tmux and
    docker when the sandbox has them."""
    backends: list[BackendConfig] = [
        DirsBackendConfig(
            name="runs",
            kind="dirs",
            base=base,
            retention=PrunePolicy(max_sessions=8, max_age=timedelta(days=7)),
        ),
        KvBackendConfig(name=kv_store, kind="kv", provider="memory"),
    ]
    if agents is not None:
        backends.append(JsonBackendConfig(name="agents", kind="json", base=agents))
    if tmux is not None:
        backends.append(tmux)
    if docker is not None:
        backends.append(docker)
    return AppConfig(
        backends=tuple(backends), sessions=dict(sessions or {}), ui=UIConfig(refresh_seconds=2.0)
    )


def _tmux_env() -> dict[str, str]:
    # inside the user's tmux, TMUX would point new clients at that server
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


@dataclass
class DemoTmux:
    """A private tmux server on a socket file (``tmux -S``)."""

    tmux: str
    socket: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.tmux, "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            check=False,
            env=_tmux_env(),
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {proc.stderr.strip()}")
        return proc

    def start(self, build_dir: Path, shell_dir: Path) -> None:
        """``build`` prints a line a second with its pane inside ``build_dir``
        (a session directory, so the two are related); ``shell`` waits idle."""
        # -f /dev/null: the user's tmux.conf has no say in the demo's server
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "build", "-c", str(build_dir),
                 "--", "sh", "-c", _BUILD_SCRIPT)  # fmt: skip
        self.run("new-session", "-d", "-s", "shell", "-c", str(shell_dir))

    def config(self, log_dir: Path) -> TmuxBackendConfig:
        return TmuxBackendConfig(
            name="tmux", kind="tmux", socket_path=self.socket, tmux=self.tmux, log_dir=log_dir
        )

    def kill(self) -> None:
        self.run("kill-server", check=False)
        self.socket.unlink(missing_ok=True)


@dataclass
class DemoDocker:
    """The demo's containers on one engine, found again by their demo label."""

    client: Any  # docker.DockerClient (the SDK is untyped)
    base_url: str | None  # None = the environment's engine
    token: str
    image: str | None = None
    names: list[str] = field(default_factory=list)

    def start(self, image: str) -> None:
        self.image = image
        for spec in self.specs().values():
            # create + start: unlike run(), create never pulls a missing image
            container = self.client.containers.create(
                image,
                list(spec.command),
                name=spec.name,
                network_mode=spec.network,  # needs no bridge; the demo talks to nothing
                labels={SESSION_LABEL: spec.name, MANAGED_LABEL: "true", DEMO_LABEL: self.token},
            )
            self.names.append(spec.name)
            container.start()

    def specs(self) -> dict[str, SessionSpec]:
        """A ``sessions:`` spec for each demo container, as a user's config
        would have: the containers are not orphans, and ``s`` can start a
        stopped one again."""
        specs: dict[str, SessionSpec] = {}
        for name, line, every in _CONTAINERS:
            full = f"demo-{name}-{self.token[:6]}"
            script = f"trap 'exit 0' TERM; n=0; while :; do n=$((n+1)); {line}; sleep {every}; done"
            specs[full] = SessionSpec(
                name=full,
                backend="docker",
                command=("sh", "-c", script),
                image=self.image,
                network="none",
                stop_timeout=3.0,
            )
        return specs

    def config(self) -> DockerBackendConfig:
        """The demo's backend: only this sandbox's containers (its demo label
        and token, filtered by the engine), never the user's own."""
        return DockerBackendConfig(
            name="docker",
            kind="docker",
            base_url=self.base_url,
            timeout=DOCKER_TIMEOUT + 2,
            match_labels={DEMO_LABEL: self.token},
        )

    def containers(self) -> list[Any]:
        """Every container carrying this sandbox's demo label."""
        found: list[Any] = self.client.containers.list(
            all=True, filters={"label": f"{DEMO_LABEL}={self.token}"}
        )
        return found

    def remove_containers(self) -> None:
        for c in self.containers():
            with suppress(Exception):  # gone already, or being removed
                c.remove(force=True)

    def remove(self) -> None:
        """Remove the demo's containers and close the client."""
        try:
            self.remove_containers()
        finally:
            self.client.close()


def pick_image(tags: list[str]) -> str | None:
    """A busybox (preferred) or alpine image among local ``tags``, or None."""
    usable = sorted(t for t in tags if _DEMO_IMAGE.search(t))
    busybox = [t for t in usable if "busybox" in t]
    preferred = busybox or usable
    return preferred[0] if preferred else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def _unreachable(where: str, error: BaseException) -> str:
    """Why the engine at ``where`` did not answer, in a few words."""
    socket = where.removeprefix("unix://") if where.startswith("unix://") else None
    if socket is not None and not Path(socket).exists():
        return f"no socket {socket}"
    text = _first_line(error).removeprefix("Error while fetching server API version: ")
    return text[:100]


def open_docker(base_url: str | None, token: str) -> tuple[DemoDocker | None, str | None]:
    """The demo's engine and, when it cannot be used, why (a notice)."""
    from core.docker.endpoint import from_environment

    where = base_url or from_environment(os.environ).display
    try:
        import docker
    except ImportError:
        return None, "Docker: the docker Python package is not installed; no containers."
    try:
        if base_url is None:
            client = docker.from_env(timeout=DOCKER_TIMEOUT)
        else:
            client = docker.DockerClient(base_url=base_url, timeout=DOCKER_TIMEOUT)
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        return None, (
            f"Docker: no engine reachable at {where} ({_unreachable(where, e)}); no demo "
            "containers. Start Docker or set DOCKER_HOST to see them."
        )
    return DemoDocker(client, base_url, token), None


def _memory_stores() -> MemoryStores:
    from core.kv.providers import MemoryStores

    return MemoryStores()


@dataclass
class Sandbox:
    """Everything ``sesstui demo`` made; :meth:`close` removes all of it."""

    root: Path
    token: str
    kv_store: str = "web"
    # the demo's in-memory KV stores: the producer fills them, the app's inventory reads them
    memory: MemoryStores = field(default_factory=_memory_stores)
    tmux: DemoTmux | None = None
    docker: DemoDocker | None = None
    worker: subprocess.Popen[bytes] | None = None
    notices: list[str] = field(default_factory=list)
    extra_dirs: list[Path] = field(default_factory=list)

    @property
    def runs(self) -> Path:
        """The session directories (the dirs backend's base)."""
        return self.root / "runs"

    @property
    def agents(self) -> Path:
        """The JSON agent sessions."""
        return self.root / "agents"

    @property
    def state_home(self) -> Path:
        """The app's ``XDG_STATE_HOME`` while the demo runs."""
        return self.root / "state"

    def env(self) -> dict[str, str]:
        """Environment for the app: its state files (journal, last inventory)
        go into the sandbox, never into the user's state directory."""
        return {"XDG_STATE_HOME": str(self.state_home)}

    def config(self) -> AppConfig:
        return demo_config(
            self.runs,
            self.kv_store,
            self.agents,
            tmux=self.tmux.config(self.root / "tmux-logs") if self.tmux else None,
            docker=self.docker.config() if self.docker else None,
            sessions=self.docker.specs() if self.docker and self.docker.image else None,
        )

    def close(self) -> None:
        """Stop the worker, kill the tmux server, remove the containers, the
        KV records and every directory.  Safe to call twice; each step runs
        even when an earlier one failed."""
        steps = (self._stop_worker, self._kill_tmux, self._remove_containers, self._remove_files)
        errors: list[BaseException] = []
        for step in steps:
            try:
                step()
            except Exception as e:  # noqa: BLE001 - the rest must still run
                errors.append(e)
        if errors:
            print(f"sesstui demo: cleanup: {_first_line(errors[0])}", file=sys.stderr)

    def _stop_worker(self) -> None:
        proc, self.worker = self.worker, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _kill_tmux(self) -> None:
        tmux, self.tmux = self.tmux, None
        if tmux is not None:
            tmux.kill()

    def _remove_containers(self) -> None:
        docker, self.docker = self.docker, None
        if docker is not None:
            docker.remove()

    def _remove_files(self) -> None:
        self.memory.clear()
        for d in (*self.extra_dirs, self.root):
            shutil.rmtree(d, ignore_errors=True)


def _socket_path(root: Path, sandbox: Sandbox) -> Path:
    path = root / "tmux.sock"
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    # a deep TMPDIR: a short directory of its own, removed with the sandbox
    short = Path(tempfile.mkdtemp(prefix="sesstui-demo-tmux-", dir="/tmp"))
    sandbox.extra_dirs.append(short)
    return short / "tmux.sock"


def build(
    *,
    parent: Path | None = None,
    tmux: str | None = "tmux",
    docker: bool = True,
    docker_url: str | None = None,
    live_worker: bool = True,
    kv_store: str = "web",
) -> Sandbox:
    """Make the whole sandbox in a new directory under ``parent`` (default
    the temp dir).  ``tmux`` is the binary (on PATH unless a path; None: no
    tmux sessions); ``docker_url`` names the engine (None: the environment's,
    as ``docker`` does); ``docker=False`` leaves containers out.

    Whatever fails half-way is cleaned up before the error propagates.
    """
    root = Path(tempfile.mkdtemp(prefix="sesstui-demo-", dir=parent)).resolve()
    sandbox = Sandbox(root=root, token=uuid.uuid4().hex[:12], kv_store=kv_store)
    try:
        build_sandbox(root)
        build_kv_sessions(sandbox.memory, kv_store)
        build_json_sessions(sandbox.agents)
        sandbox.state_home.mkdir()
        if tmux is not None:
            _add_tmux(sandbox, tmux)
        if docker:
            _add_docker(sandbox, docker_url)
        if live_worker:
            sandbox.worker = subprocess.Popen(
                [sys.executable, "-m", "tui.demo", "worker", str(sandbox.runs)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            )
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def _add_tmux(sandbox: Sandbox, binary: str) -> None:
    found = shutil.which(binary)
    if found is None:
        sandbox.notices.append(
            f"tmux: {binary!r} is not installed; the demo shows no tmux sessions "
            "(install tmux to see them)."
        )
        return
    server = DemoTmux(found, _socket_path(sandbox.root, sandbox))
    # the newest session directory: its row and the build's are related
    newest = max(sandbox.runs.iterdir(), key=lambda p: p.name)
    try:
        server.start(build_dir=newest, shell_dir=sandbox.root)
    except (OSError, RuntimeError) as e:
        server.kill()
        sandbox.notices.append(
            f"tmux: could not start the demo's tmux server ({_first_line(e)}); "
            "the demo shows no tmux sessions."
        )
        return
    sandbox.tmux = server


def _add_docker(sandbox: Sandbox, base_url: str | None) -> None:
    engine, problem = open_docker(base_url, sandbox.token)
    if engine is None:
        sandbox.notices.append(problem or "Docker: unavailable")
        return
    sandbox.docker = engine
    try:
        tags = [t for image in engine.client.images.list() for t in image.tags]
    except Exception as e:  # noqa: BLE001 - the engine went away after the ping
        sandbox.notices.append(f"Docker: cannot list the engine's images ({_first_line(e)}).")
        return
    image = pick_image(tags)
    if image is None:
        sandbox.notices.append(
            "Docker: no busybox or alpine image on the engine and the demo never pulls; "
            "`docker pull busybox` to see demo containers."
        )
        return
    try:
        engine.start(image)
    except Exception as e:  # noqa: BLE001 - the demo goes on without containers
        engine.remove_containers()
        engine.names.clear()
        sandbox.notices.append(
            f"Docker: could not start the demo containers from {image} ({_first_line(e)})."
        )


@contextmanager
def environment(overrides: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overrides`` set, restored afterwards."""
    before = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def demo_app(sandbox: Sandbox, theme: str | None = None) -> SesstuiApp:
    """The dashboard on ``sandbox``, telling what the demo left out.  Build
    it inside ``environment(sandbox.env())``."""
    from core.inventory import Inventory
    from tui.app import SesstuiApp

    config = sandbox.config()
    inventory = Inventory.from_config(config, source="tui", memory=sandbox.memory)
    return SesstuiApp(config, inventory=inventory, theme=theme, startup_notices=sandbox.notices)


def run_demo(theme: str | None = None, *, docker_url: str | None = None) -> int:
    """Build the sandbox, open the dashboard on it, and clean up afterwards
    (quit, Ctrl+C, SIGHUP, SIGTERM, a terminal gone without a signal, or an
    error).  ``docker_url`` names the engine for the demo containers (default:
    the environment's)."""
    from tui.hangup import HangupGuard

    def hang_up_early(signum: int, frame: object) -> None:
        # while the sandbox is being built: leave through the cleanup below
        raise SystemExit(128 + signum)

    early = (signal.SIGHUP, signal.SIGTERM)
    previous = {sig: signal.signal(sig, hang_up_early) for sig in early}
    sandbox: Sandbox | None = None
    try:
        sandbox = build(docker_url=docker_url)
        for notice in sandbox.notices:
            print(f"sesstui demo: {notice}", file=sys.stderr)
        # set before the app builds its inventory, which may open state files
        with environment(sandbox.env()):
            app = demo_app(sandbox, theme)
            # while the app runs, a hang-up asks it to exit, and ends the
            # process (after cleaning up) if it does not
            with HangupGuard(app, cleanup=sandbox.close) as guard:
                app.run()
        return guard.code or app.return_code or 0
    finally:
        if sandbox is not None:
            for sig in early:  # a second hang-up must not cut the cleanup short
                signal.signal(sig, signal.SIG_IGN)
            sandbox.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker(base: Path) -> None:
    """A live session: created by this process, logging until it is stopped."""
    handler = SessionHandler(
        SessionDir(base, max_session_dirs=-1, max_age_days=-1),
        LogConfig(file_path="logs/app.log", level="info"),
        change_directory=False,
        prune_on_exit=False,
    )
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    log = logging.getLogger("demo.worker")
    with handler.session_context():
        n = 0
        # a parent that died without cleaning up (SIGKILL) must not leave us running
        while not stop and os.getppid() == parent:
            n += 1
            log.info("processed batch %d (%d rows)", n, 1000 + n * 7)
            if n % 9 == 0:
                log.warning("slow batch %d: retrying", n)
            time.sleep(0.7)


if __name__ == "__main__":  # the live worker entry point used by build()
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        worker(Path(sys.argv[2]))
