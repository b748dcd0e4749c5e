"""core.ops.SessionManager: kstlib.ops' per-name facade, on real tmux servers
(private sockets), with specs written the kstlib way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config.records import AppConfig
from core.errors import ActionFailed, AmbiguousSession, SessionNotFound, UsageError
from core.model import State
from core.ops import SessionManager, auto_detect_backend
from core.tmux.schema import TmuxBackendConfig
from tests.docker_fixtures import DockerEngine, _docker_engine_fixture  # noqa: F401 - fixture
from tests.helpers import wait_for
from tests.ops_helpers import NO_BACKENDS, container_session, tmux_and_docker, tmux_config
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _tmux_server_fixture,
    need_tmux,
    sessions_on,
)

# a program that prints, then stays: written as one string, split without a shell
STAYS = 'sh -c \'printf "%s\\n" "semi;colon" "$((6 * 7))"; exec sleep 60\''


@pytest.fixture(name="second_server")
def _second_server(isolated_home: Path) -> Iterator[TmuxServer]:
    server = TmuxServer(need_tmux())
    server.boot()
    try:
        yield server
    finally:
        server.kill()


def test_start_status_logs_stop_on_a_tmux_socket(tmux_server: TmuxServer) -> None:
    # no tmux backend configured: backend="tmux" + socket_name is that server, as in kstlib
    s = SessionManager("astro", backend="tmux", socket_name=tmux_server.socket, config=NO_BACKENDS)
    assert (s.name, s.kind, s.configured) == ("astro", "tmux", False)
    assert not s.exists() and not s.is_running()
    with pytest.raises(SessionNotFound):
        s.status()
    started = s.start(STAYS)
    assert started.state is State.RUNNING and tmux_server.has("astro")
    assert s.exists() and s.is_running()
    assert s.status().name == "astro"
    # the string reached sh as one argument: ';' and '$((...))' were sh's to read, not ours
    wait_for(lambda: "42" in s.logs(20), 10, "the output")
    assert "semi;colon\n42\n" in s.logs(20)
    argv = s.attach_argv()
    assert argv[0].endswith("tmux") and tmux_server.socket in argv and "astro" in " ".join(argv)
    with pytest.raises(ActionFailed, match="already running"):
        s.start(STAYS)
    assert s.stop(timeout=5) is True
    assert not s.exists() and not tmux_server.has("astro")
    with pytest.raises(SessionNotFound):
        s.stop()
    with pytest.raises(SessionNotFound):
        s.logs()


def test_a_command_string_never_reaches_a_silent_shell(tmux_server: TmuxServer) -> None:
    s = SessionManager("bot", backend="tmux", socket_name=tmux_server.socket, config=NO_BACKENDS)
    for line in ("sleep 60; rm -rf /tmp/x", "sleep $DELAY", "sleep 60 > out.txt"):
        with pytest.raises(UsageError, match="shell: true"):
            s.start(line)
    assert not tmux_server.has("bot")
    # said explicitly, the line is a shell command line
    s.start("echo one; echo two; exec sleep 60", shell=True)
    wait_for(lambda: "two" in s.logs(), 10, "shell output")
    assert "one\ntwo\n" in s.logs()
    s.stop(graceful=False)
    with pytest.raises(UsageError, match="one string"):
        SessionManager("x", config=NO_BACKENDS, command=["a", "b"], shell=True)


def test_from_config_reads_a_kstlib_style_spec(tmux_server: TmuxServer, tmp_path: Path) -> None:
    cfg = tmux_config(
        tmp_path,
        tmux_server,
        f"""\
        astro:
          backend: tmux
          command: {json.dumps(STAYS)}
          working_dir: {tmp_path}
          env: {{ASTRO_MODE: paper}}
        """,
    )
    s = SessionManager.from_config("astro", config=cfg)
    assert (s.backend, s.configured, s.config.working_dir) == ("bots", True, tmp_path)
    s.start()
    assert tmux_server.value("=astro:", "#{pane_current_path}") == str(tmp_path)
    wait_for(lambda: "42" in s.logs(), 10, "output")
    s.stop(timeout=5)
    # kstlib's keyword overrides, for one start: env is added to the spec's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    s.start(
        "sh -c 'echo \"mode=$ASTRO_MODE extra=$EXTRA\"; exec sleep 60'",
        working_dir=elsewhere,
        env={"EXTRA": "yes"},
    )
    assert tmux_server.value("=astro:", "#{pane_current_path}") == str(elsewhere)
    wait_for(lambda: "mode=paper extra=yes" in s.logs(), 10, "the merged env")
    s.stop(timeout=5)
    assert s.config.working_dir == tmp_path  # the spec itself is unchanged
    with pytest.raises(SessionNotFound, match="specs: astro"):
        SessionManager.from_config("nope", config=cfg)


def test_a_name_in_two_backends_is_ambiguous(
    tmux_server: TmuxServer, second_server: TmuxServer
) -> None:
    cfg = AppConfig(
        backends=(
            TmuxBackendConfig(name="dev", kind="tmux", socket_name=tmux_server.socket),
            TmuxBackendConfig(name="prod", kind="tmux", socket_name=second_server.socket),
        )
    )
    for server in (tmux_server, second_server):
        server.run("new-session", "-d", "-s", "astro", "sleep 60")
    tmux_server.run("new-session", "-d", "-s", "solo", "sleep 60")
    with pytest.raises(AmbiguousSession) as info:
        auto_detect_backend("astro", config=cfg)
    assert info.value.backends == ["dev", "prod"]
    assert "dev, prod" in str(info.value)
    with pytest.raises(AmbiguousSession):
        SessionManager("astro", backend=None, config=cfg)
    # one backend, or the socket, settles it
    assert auto_detect_backend("astro", config=cfg, socket_name=second_server.socket) == "prod"
    assert auto_detect_backend("solo", config=cfg) == "dev"
    assert SessionManager("solo", backend=None, config=cfg).backend == "dev"
    assert auto_detect_backend("none-such", config=cfg) is None
    with pytest.raises(SessionNotFound, match="none-such"):
        SessionManager("none-such", backend=None, config=cfg)
    # backend: tmux with two tmux backends is ambiguous too, as in the config
    with pytest.raises(UsageError, match=r"ambiguous.*dev, prod"):
        SessionManager("astro", backend="tmux", config=cfg)
    by_socket = SessionManager(
        "astro", backend="tmux", socket_name=second_server.socket, config=cfg
    )
    assert (by_socket.backend, by_socket.configured) == ("prod", True)
    s = SessionManager("astro", backend="prod", config=cfg)
    s.stop(graceful=False)
    assert "astro" not in sessions_on(second_server.socket)
    assert "astro" in sessions_on(tmux_server.socket)


def test_bad_names_backends_and_fields_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="invalid session name"):
        SessionManager("bad name", config=NO_BACKENDS)
    with pytest.raises(UsageError, match=r"invalid backend 'kubernetes'.*'tmux', 'container'"):
        SessionManager("a", backend="kubernetes", config=NO_BACKENDS)
    with pytest.raises(UsageError, match="container backend, not tmux"):
        SessionManager("a", backend="tmux", image="busybox", config=NO_BACKENDS)
    with pytest.raises(UsageError, match="lines must be at least 1"):
        SessionManager("a", config=NO_BACKENDS).logs(0)
    container = SessionManager("a", backend="container", config=NO_BACKENDS, image="busybox")
    assert (container.kind, container.backend) == ("docker", "container")


def test_container_sessions_and_a_name_in_tmux_and_a_container(
    tmux_server: TmuxServer, docker_engine: DockerEngine
) -> None:
    """kstlib's ambiguity case: the same name as a tmux session and a container."""
    name, cfg = tmux_and_docker(tmux_server, docker_engine)
    with container_session(
        docker_engine,
        name,
        cfg,
        command="sh -c 'echo hello-container && echo \"  indented\" && exec sleep 60'",
        stop_timeout=2,
    ) as box:
        assert (box.backend, box.kind) == ("dk", "docker")
        assert not box.exists()
        box.start()
        assert box.is_running() and box.status().state is State.RUNNING
        wait_for(lambda: "indented" in box.logs(5), 15, "the container's output")
        assert box.logs(5) == "hello-container\n  indented\n"  # as `docker logs`: no times
        tmux_server.run("new-session", "-d", "-s", name, "sleep 60")
        with pytest.raises(AmbiguousSession) as info:
            SessionManager(name, backend=None, config=cfg)
        assert info.value.backends == ["tm", "dk"]
        box.stop(timeout=2)
        assert not box.is_running() and box.exists()  # stopped, not removed
