"""`sesstui demo`: the sandbox is real (files, a live process, a private tmux
server, containers on a private dockerd) and leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.docker.schema import DockerBackendConfig
from core.errors import SessionNotFound
from core.inventory import Inventory
from core.model import SessionRef, State
from core.orphans import find_orphans
from core.paths import state_dir
from core.relations import related
from core.tmux.schema import TmuxBackendConfig
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    Daemon,
    DockerEngine,
    _docker_engine_fixture,
    _spare_daemon_fixture,
)
from tests.helpers import wait_for
from tests.pilot_helpers import dash, wait_until
from tests.tmux_fixtures import Terminal, need_tmux
from tui.demo import DEMO_LABEL, DemoDocker, Sandbox, build, demo_app, environment, pick_image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sandboxes(isolated_home: Path) -> Iterator[list[Sandbox]]:
    """Sandboxes a test built; closed at the end even when the test failed."""
    made: list[Sandbox] = []
    yield made
    for s in made:
        s.close()


def no_docker(tmp_path: Path) -> str:
    """An engine URL where nothing answers."""
    return f"unix://{tmp_path}/no-docker.sock"


def tmux_alive(tmux: str, socket: Path) -> bool:
    proc = subprocess.run(
        [tmux, "-S", str(socket), "list-sessions"], capture_output=True, check=False
    )
    return proc.returncode == 0


def pane(tmux: str, socket: Path, session: str, fmt: str) -> str:
    out = subprocess.run(
        [tmux, "-S", str(socket), "display-message", "-p", "-t", f"={session}:", fmt],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.mark.tmux
def test_tmux_sessions_on_a_private_socket_related_to_a_session_dir(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    tmux = need_tmux()
    sb = build(parent=tmp_path, docker_url=no_docker(tmp_path))
    sandboxes.append(sb)
    assert sb.tmux is not None
    socket = sb.tmux.socket
    # -S: a socket file inside the sandbox, not the user's server
    assert socket.is_relative_to(sb.root) and socket.is_socket()
    listed = subprocess.run(
        [tmux, "-S", str(socket), "list-sessions", "-F", "#{session_name}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert sorted(listed) == ["build", "shell"]
    # build's pane works inside one of the demo's session directories
    cwd = Path(pane(tmux, socket, "build", "#{pane_current_path}"))
    assert cwd.parent == sb.runs and cwd.name.startswith("session_")

    # and prints a line a second, so following it shows something
    def screen() -> str:
        return subprocess.run(
            [tmux, "-S", str(socket), "capture-pane", "-p", "-t", "=build:"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip

    wait_for(lambda: "build: step 2" in screen(), 10, "the build loop's second line")

    config = sb.config()
    backend = config.backend("tmux")
    assert isinstance(backend, TmuxBackendConfig) and backend.socket_path == socket
    inv = Inventory.from_config(config, memory=sb.memory)
    try:
        snap = inv.refresh()
    finally:
        inv.close()
    tmux_rows = {s.name: s for s in snap.sessions if s.kind == "tmux"}
    assert set(tmux_rows) == {"build", "shell"}
    assert all(s.state is State.RUNNING for s in tmux_rows.values())
    links = related(snap.sessions)
    assert [r.id for r in links[tmux_rows["build"].ref]] == [cwd.name]
    # 12 sandbox dirs (+ the live one once it has started), 6 KV, 3 JSON, 2 tmux
    assert {h.backend: h.sessions for h in snap.health if h.backend != "runs"} == {
        "web": 6, "agents": 3, "tmux": 2,
    }  # fmt: skip

    worker = sb.worker
    assert worker is not None and worker.poll() is None
    sb.close()
    assert not tmux_alive(tmux, socket)
    assert not sb.root.exists()
    assert worker.poll() is not None
    sb.close()  # twice is harmless


@pytest.mark.tmux
def test_a_deep_temp_dir_gets_a_short_socket_that_goes_too(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    tmux = need_tmux()
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    deep.mkdir(parents=True)
    sb = build(parent=deep, docker=False, live_worker=False)
    sandboxes.append(sb)
    assert sb.tmux is not None
    socket = sb.tmux.socket
    assert len(os.fsencode(socket)) <= 100 and tmux_alive(tmux, socket)
    sb.close()
    assert not tmux_alive(tmux, socket)
    assert not socket.parent.exists() and not sb.root.exists()


def test_without_tmux_the_demo_says_so(sandboxes: list[Sandbox], tmp_path: Path) -> None:
    sb = build(parent=tmp_path, tmux=str(tmp_path / "no-tmux"), docker=False, live_worker=False)
    sandboxes.append(sb)
    assert sb.tmux is None
    assert any("tmux" in n and "not installed" in n for n in sb.notices), sb.notices
    assert sb.config().backend("tmux") is None
    assert {b.kind for b in sb.config().backends} == {"dirs", "kv", "json"}


def test_an_unreachable_engine_is_a_notice_not_a_failure(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    url = no_docker(tmp_path)
    sb = build(parent=tmp_path, tmux=None, docker_url=url, live_worker=False)
    sandboxes.append(sb)
    assert sb.docker is None
    (notice,) = sb.notices
    assert "no engine reachable" in notice and url in notice and "DOCKER_HOST" in notice
    assert sb.config().backend("docker") is None


async def test_notices_show_in_the_app_and_state_stays_in_the_sandbox(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    users_state = state_dir()
    # build() runs its own event loop (the KV producer API is async)
    sb = await asyncio.to_thread(
        build, parent=tmp_path, tmux=None, docker_url=no_docker(tmp_path), live_worker=False
    )
    sandboxes.append(sb)
    with environment(sb.env()):
        assert state_dir().is_relative_to(sb.root)
        app = demo_app(sb)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: len(app._notifications) > 0, "the notice")
            shown = [n.message for n in app._notifications]
            assert any("no engine reachable" in m for m in shown), shown
    assert state_dir() == users_state  # put back afterwards
    assert not users_state.exists()


async def test_the_demo_app_shows_the_kv_sessions_its_producer_wrote(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    """The demo's producer and its dashboard share the sandbox's own memory
    stores (no process-wide registry): the six KV sessions are rows, and a
    second sandbox's stores are its own."""
    sb = await asyncio.to_thread(build, parent=tmp_path, tmux=None, docker=False, live_worker=False)
    sandboxes.append(sb)
    other = await asyncio.to_thread(
        build, parent=tmp_path, tmux=None, docker=False, live_worker=False
    )
    sandboxes.append(other)
    assert sb.memory is not other.memory
    with environment(sb.env()):
        app = demo_app(sb)
        async with app.run_test(size=(100, 30)) as pilot:
            t = dash(pilot).table
            await wait_until(
                pilot, lambda: sum(s.backend == "web" for s in t.shown.values()) == 6, "KV rows"
            )
    sb.close()
    assert sb.memory.store("web").scan("") == []  # the cleanup empties them
    assert len(other.memory.store("web").scan("")) == 6


def test_pick_image_prefers_busybox_and_never_guesses() -> None:
    tags = ["python:3.11", "docker.io/library/alpine:3.20", "sesstui-busybox:test"]
    assert pick_image(tags) == "sesstui-busybox:test"
    assert pick_image(["python:3.11", "alpine:3.20"]) == "alpine:3.20"
    assert pick_image(["python:3.11", "myalpine:1", "busyboxer:2"]) is None
    assert pick_image([]) is None


def test_the_demo_backend_shows_only_this_runs_containers() -> None:
    # no engine needed: the config is what keeps the user's containers out
    backend = DemoDocker(None, "unix:///x.sock", "tok123").config()
    assert dict(backend.match_labels) == {DEMO_LABEL: "tok123"}
    assert backend.scope == "labeled" and backend.base_url == "unix:///x.sock"


def demo_containers(engine: DockerEngine) -> list[dict[str, object]]:
    found: list[dict[str, object]] = engine.client.api.containers(
        all=True, filters={"label": DEMO_LABEL}
    )
    return found


@pytest.mark.docker
def test_containers_on_the_engine_then_removed(
    sandboxes: list[Sandbox], tmp_path: Path, docker_engine: DockerEngine
) -> None:
    # somebody else's sesstui container on the same engine (running, labelled
    # as sesstui labels its own) must neither show in the demo nor be touched
    keep = f"t-keep-{uuid.uuid4().hex[:6]}"
    docker_engine.client.containers.create(
        docker_engine.image, ["sleep", "60"], name=keep, network_mode="none",
        labels={"sesstui.session": keep, "sesstui.managed": "true"},
    ).start()  # fmt: skip
    sb = build(parent=tmp_path, tmux=None, docker_url=docker_engine.host, live_worker=False)
    sandboxes.append(sb)
    assert sb.notices == []
    assert sb.docker is not None
    local = [t for image in docker_engine.client.images.list() for t in image.tags]
    assert sb.docker.image == pick_image(local) and sb.docker.image is not None
    rows = demo_containers(docker_engine)
    assert sorted(str(r["Labels"][DEMO_LABEL]) for r in rows) == [sb.token, sb.token]  # type: ignore[index]
    assert all(r["State"] == "running" for r in rows)

    backend = sb.config().backend("docker")
    assert isinstance(backend, DockerBackendConfig) and backend.base_url == docker_engine.host
    assert dict(backend.match_labels) == {DEMO_LABEL: sb.token}
    inv = Inventory.from_config(sb.config())
    try:
        listed = {s.name for s in inv.refresh().sessions if s.kind == "docker"}
        # the user's container is out of the demo's reach
        with pytest.raises(SessionNotFound, match=f"'{keep}' .*is outside"):
            inv.stop(SessionRef("docker", keep), graceful=False)
        with pytest.raises(SessionNotFound, match=f"'{keep}' .*is outside"):
            inv.plan_delete([SessionRef("docker", keep)], force=True)
    finally:
        inv.close()
    assert listed == set(sb.docker.names)
    # the demo's containers come from its specs, like a user's: no orphans
    specs = sb.config().sessions
    assert set(specs) == set(sb.docker.names)
    assert {s.backend for s in specs.values()} == {"docker"}
    inv = Inventory.from_config(sb.config())
    try:
        report = find_orphans(inv.refresh(), sb.config())
    finally:
        inv.close()
    assert [o for o in report.orphans if o.category == "container"] == []
    assert docker_engine.client.api.inspect_container(keep)["State"]["Running"]

    sb.close()
    assert demo_containers(docker_engine) == []
    assert docker_engine.client.containers.get(keep).name == keep
    assert not sb.root.exists()


@pytest.mark.docker
@pytest.mark.slow
def test_an_engine_without_a_small_image_is_skipped_with_a_message(
    sandboxes: list[Sandbox], tmp_path: Path, spare_daemon: Daemon
) -> None:
    sb = build(parent=tmp_path, tmux=None, docker_url=spare_daemon.host, live_worker=False)
    sandboxes.append(sb)
    (notice,) = sb.notices
    assert "no busybox or alpine image" in notice and "never pulls" in notice
    assert sb.config().backend("docker") is not None  # the engine itself is fine
    sb.close()


def test_a_tmux_that_fails_is_a_notice_and_leaves_nothing(
    sandboxes: list[Sandbox], tmp_path: Path
) -> None:
    # a real binary that exits 1 whatever it is asked
    sb = build(parent=tmp_path, tmux="/bin/false", docker=False, live_worker=False)
    sandboxes.append(sb)
    assert sb.tmux is None
    (notice,) = sb.notices
    assert "could not start the demo's tmux server" in notice
    assert sb.config().backend("tmux") is None
    assert not (sb.root / "tmux.sock").exists()


@pytest.mark.tmux
@pytest.mark.slow
def test_a_closed_terminal_sighup_cleans_up(tmp_path: Path) -> None:
    term = Terminal(need_tmux(), "sesstui-demo-test")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = (
        f"TMPDIR={tmpdir} PYTHONPATH={ROOT} TERM=xterm-256color "
        f"DOCKER_HOST={no_docker(tmp_path)} XDG_STATE_HOME={tmp_path / 'state'}"
    )
    try:
        term.start(f"cd {ROOT} && exec env {env} {sys.executable} -m tui.cli demo")
        wait_for(lambda: "tmux 2" in term.screen(), 30, "the dashboard with the tmux chip")
        (root,) = tmpdir.glob("sesstui-demo-*")
        socket = root / "tmux.sock"
        assert tmux_alive(term.tmux, socket)
        pid = term.pane_pid()
        os.kill(pid, signal.SIGHUP)  # what a closing terminal sends
        wait_for(lambda: not root.exists(), 20, "the sandbox to go")
    finally:
        term.kill()
    assert not tmux_alive(term.tmux, socket)
    wait_for(
        lambda: (
            not subprocess.run(
                ["pgrep", "-f", f"tui.demo worker {root}"], capture_output=True, check=False
            ).stdout
        ),
        10,
        "the live worker to stop",
    )
    assert not (tmp_path / "state").exists()  # the user's state dir was never written
