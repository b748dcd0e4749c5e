"""The operator's console (#13) against a real, private dockerd: start a stopped
container, restart, inspect (env redacted), stats, what stop does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from core.config.records import AppConfig, SessionSpec
from core.docker.backend import DockerBackend
from core.errors import ActionFailed
from core.inventory import Inventory
from core.model import LogLine, SessionRef, State
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.docker_helpers import untimed
from tests.helpers import run_cli, unique, wait_for

pytestmark = pytest.mark.docker
LOOP = "while true; do sleep 0.1; done"


@pytest.fixture(name="dk")
def _dk_fixture(docker_engine: DockerEngine) -> Iterator[DockerBackend]:
    backend = DockerBackend(docker_engine.config())
    try:
        yield backend
    finally:
        backend.close()


def shell_spec(name: str, image: str, line: str, **kwargs: Any) -> SessionSpec:
    base = SessionSpec(
        name=name, backend="dk", command=(line,), shell=True, image=image, network="none"
    )
    return replace(base, **kwargs)


def started_at(engine: DockerEngine, name: str) -> str:
    return str(engine.client.api.inspect_container(name)["State"]["StartedAt"])


def cli_config(tmp_path: Path, engine: DockerEngine) -> Path:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: dk, kind: docker, base_url: '{engine.host}'}}\n")
    return cfg


def test_a_stopped_container_without_a_spec_is_offered_and_started(
    docker_engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    dk.start(shell_spec(name, docker_engine.image, LOOP))
    dk.stop(name, graceful=False)
    inv = Inventory([dk])  # no config: no spec knows this container
    choices = inv.startable(inv.refresh())
    mine = [c for c in choices if c.name == name]
    assert len(mine) == 1 and mine[0].key == f"dk:{name}" and mine[0].spec is None
    assert mine[0].session is not None and mine[0].session.state is State.STOPPED
    session = inv.start(f"dk:{name}")
    assert session.state is State.RUNNING
    # running now: no longer offered, and starting it again says so
    assert name not in {c.name for c in inv.startable(inv.refresh())}
    with pytest.raises(ActionFailed, match="already running"):
        inv.start(f"dk:{name}")


def test_a_stopped_spec_container_is_offered_and_nothing_says_why(
    docker_engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    spec = shell_spec(name, docker_engine.image, LOOP)
    config = AppConfig(backends=(docker_engine.config(),), sessions={name: spec})
    inv = Inventory([dk], config=config)
    first = inv.startable(inv.refresh())
    assert [c.key for c in first if c.name == name] == [name]  # the spec, never started
    inv.start(name)
    running = inv.startable(inv.refresh())
    assert name not in {c.name for c in running}
    if not running:  # a private daemon has nothing else: the reason names the spec
        assert "running already" in running.reason and name in running.reason
    inv.stop(SessionRef("dk", name), graceful=False)
    again = [c for c in inv.startable(inv.refresh()) if c.name == name]
    assert len(again) == 1 and again[0].spec is spec and "stopped" in again[0].what


def test_restart_is_the_engines_restart(docker_engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    first = dk.start(
        shell_spec(name, docker_engine.image, f"trap 'exit 0' TERM; echo ready; {LOOP}")
    )
    # the restart's TERM must find the trap set (else the exit code is the shell's)
    wait_for(lambda: "ready" in untimed(dk.tail(name, lines=5)), what="the trap set")
    before = started_at(docker_engine, name)
    inv = Inventory([dk])
    after = inv.restart(SessionRef("dk", name), timeout=5)
    assert after.state is State.RUNNING
    assert after.metadata["container_id"] == first.metadata["container_id"]  # same container
    assert started_at(docker_engine, name) != before  # started again
    assert docker_engine.client.api.inspect_container(name)["State"]["ExitCode"] == 0


def test_cli_start_list_start_and_restart(docker_engine: DockerEngine, tmp_path: Path) -> None:
    cfg = cli_config(tmp_path, docker_engine)
    dk = DockerBackend(docker_engine.config())
    name = f"t-{unique()}"
    try:
        dk.start(shell_spec(name, docker_engine.image, LOOP))
        dk.stop(name, graceful=False)
    finally:
        dk.close()
    r = run_cli("--config", str(cfg), "start", "--list", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    offered = [c for c in doc["startable"] if c["name"] == name]
    assert offered == [
        {
            "key": f"dk:{name}",
            "backend": "dk",
            "name": name,
            "what": offered[0]["what"],
            "spec": False,
            "state": "stopped",
        }
    ]
    r = run_cli("--config", str(cfg), "start", f"dk:{name}")
    assert r.returncode == 0, r.stderr
    assert f"started dk:{name}" in r.stdout
    r = run_cli("--config", str(cfg), "restart", f"dk:{name}")
    assert r.returncode == 2 and "--yes" in r.stderr  # no terminal: needs --yes
    before = started_at(docker_engine, name)
    r = run_cli("--config", str(cfg), "restart", f"dk:{name}", "--yes", "--timeout", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["restarted"] == f"dk:{name}"
    assert started_at(docker_engine, name) != before


def test_inspect_a_container_with_its_env_redacted(
    docker_engine: DockerEngine, dk: DockerBackend, tmp_path: Path
) -> None:
    name = f"t-{unique()}"
    env = {
        "API_TOKEN": "tok-s3cret",
        "DATABASE_URL": "postgres://app:hunter2@db:5432/app",
        "GREETING": "hi",
    }
    dk.start(shell_spec(name, docker_engine.image, LOOP, env=env, working_dir=Path("/tmp")))
    inv = Inventory([dk])
    ins = inv.inspect(SessionRef("dk", name))
    titles = [s.title for s in ins.sections]
    assert titles[:3] == ["session", "container", "command"]
    container = dict(ins.section("container").fields)
    assert container["name"] == name and container["status"] == "running"
    assert container["image"] == docker_engine.image
    assert dict(ins.section("command").fields)["working dir"] == "/tmp"
    shown = dict(ins.section("environment").fields)
    assert shown["API_TOKEN"] == "***" and shown["GREETING"] == "hi"
    assert shown["DATABASE_URL"] == "postgres://app:***@db:5432/app"
    assert dict(ins.section("labels").fields)["sesstui.session"] == name
    assert dict(ins.section("network").fields)["mode"] == "none"
    r = run_cli("--config", str(cli_config(tmp_path, docker_engine)), "inspect", f"dk:{name}",
                "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "tok-s3cret" not in r.stdout and "hunter2" not in r.stdout
    assert json.loads(r.stdout)["kind"] == "docker"


def test_stats_of_a_busy_container_in_one_request(
    docker_engine: DockerEngine, dk: DockerBackend
) -> None:
    busy, idle = f"t-{unique()}", f"t-{unique()}"
    dk.start(shell_spec(busy, docker_engine.image, "while true; do :; done"))
    dk.start(shell_spec(idle, docker_engine.image, LOOP))
    dk.stop(idle, graceful=False)
    inv = Inventory([dk])
    sessions = [dk.get(busy), dk.get(idle)]
    before = dk.requests

    def no_sleep(seconds: float) -> None:
        raise AssertionError("the engine's answer holds both readings")

    hot, stopped = inv.stats(sessions, sleep=no_sleep)
    assert dk.requests - before == 1  # one request for the running one, none for the stopped
    assert hot.cpu_percent is not None and hot.cpu_percent > 10
    assert hot.memory_bytes and hot.memory_limit and hot.processes is not None
    assert stopped.cpu_percent is None and stopped.note == "not running (stopped)"


def test_stop_says_what_it_does_and_kill_says_killed(
    docker_engine: DockerEngine, dk: DockerBackend, tmp_path: Path
) -> None:
    name = f"t-{unique()}"
    dk.start(shell_spec(name, docker_engine.image, LOOP))
    told = Inventory([dk]).stop_description(SessionRef("dk", name), timeout=2.5)
    assert told.can_stop and "SIGTERM" in told.stop and "up to 3s before SIGKILL" in told.stop
    assert "Ctrl+C" not in told.dialog and told.kill.startswith("Kill now sends SIGKILL")
    assert told.brief == "SIGTERM, then up to 3s before SIGKILL"
    cfg = cli_config(tmp_path, docker_engine)
    r = run_cli("--config", str(cfg), "stop", f"dk:{name}", "--force", "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"killed dk:{name}\n"
    assert docker_engine.client.api.inspect_container(name)["State"]["ExitCode"] == 137


def test_scope_all_starts_a_stopped_container_sesstui_did_not_start(
    docker_engine: DockerEngine,
) -> None:
    name = f"raw-{unique()}"
    docker_engine.make_container({}, name=name)  # created, never started, no sesstui label
    everything = DockerBackend(docker_engine.config("all", scope="all"))
    try:
        inv = Inventory([everything])
        offered = [c.key for c in inv.startable(inv.refresh())]
        assert f"all:{name}" in offered
        assert inv.start(f"all:{name}").state is State.RUNNING
        labelled_only = Inventory([DockerBackend(docker_engine.config("lab"))])
        keys = {c.key for c in labelled_only.startable(labelled_only.refresh())}
        labelled_only.close()
        assert f"lab:{name}" not in keys  # the default scope does not show it at all
    finally:
        everything.close()


def test_cli_logs_print_a_containers_lines_with_the_engines_times(
    docker_engine: DockerEngine, dk: DockerBackend, tmp_path: Path
) -> None:
    name = f"t-{unique()}"
    dk.start(shell_spec(name, docker_engine.image, "echo one; sleep 0.2; echo two >&2; exit 4"))
    wait_for(lambda: dk.get(name).state is State.STOPPED, what="the exit")
    r = run_cli("--config", str(cli_config(tmp_path, docker_engine)), "logs", f"dk:{name}")
    assert r.returncode == 0, r.stderr
    printed = [LogLine(text) for text in r.stdout.splitlines()]
    assert untimed(printed) == ["one", "two"]
    assert printed == dk.tail(name).read_available(0), "the CLI prints what the backend gives"
