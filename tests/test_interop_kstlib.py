"""kstlib.ops interop with the REAL package (in the peers' venv, see
tests/peers.py), on a private tmux server: what kstlib starts, core's facade
sees, reads and stops; what core starts, kstlib sees, reads and stops; a
spec written for kstlib's config file is read by sesstui's config; a name in
tmux and in a container (private dockerd) is ambiguous to both.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.errors import AmbiguousSession, SessionNotFound
from core.model import State
from core.ops import SessionManager, auto_detect_backend
from tests.docker_fixtures import DockerEngine, _docker_engine_fixture  # noqa: F401 - fixture
from tests.helpers import wait_for
from tests.ops_helpers import NO_BACKENDS, container_session, tmux_and_docker, tmux_config
from tests.peers import run_peer
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _tmux_server_fixture,
)

KSTLIB = "kstlib.ops"


def kstlib(code: str, cwd: Path) -> object:
    return run_peer(KSTLIB, code, cwd=cwd)


def script(tmp_path: Path, text: str) -> Path:
    """A program that prints ``text`` and stays: kstlib refuses ';' and 'exec'
    in a command, so the work goes in a file."""
    path = tmp_path / "bot.sh"
    path.write_text(f"#!/bin/sh\necho {text}\nsleep 60\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_what_kstlib_starts_core_sees_reads_and_stops(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    bot = script(tmp_path, "hello-from-kstlib")
    status = kstlib(
        f"""
        import json
        from kstlib.ops import SessionManager
        s = SessionManager("astro", backend="tmux", socket_name={tmux_server.socket!r})
        st = s.start("sh {bot}")
        print(json.dumps({{"state": st.state.value, "running": s.is_running()}}))
        """,
        tmp_path,
    )
    assert status == {"state": "running", "running": True}
    ours = SessionManager(
        "astro", backend="tmux", socket_name=tmux_server.socket, config=NO_BACKENDS
    )
    assert ours.exists() and ours.is_running()
    assert ours.status().state is State.RUNNING
    wait_for(lambda: "hello-from-kstlib" in ours.logs(10), 10, "kstlib's output")
    assert ours.stop(timeout=5)
    after = kstlib(
        f"""
        import json
        from kstlib.ops import SessionManager
        s = SessionManager("astro", backend="tmux", socket_name={tmux_server.socket!r})
        print(json.dumps([s.exists(), s.is_running()]))
        """,
        tmp_path,
    )
    assert after == [False, False]


def test_what_core_starts_kstlib_sees_reads_and_stops(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    bot = script(tmp_path, "hello-from-core")
    ours = SessionManager("bot", backend="tmux", socket_name=tmux_server.socket, config=NO_BACKENDS)
    ours.start(f"sh {bot}")
    wait_for(lambda: "hello-from-core" in ours.logs(10), 10, "core's output")
    seen = kstlib(
        f"""
        import json
        from kstlib.ops import SessionManager
        s = SessionManager("bot", backend="tmux", socket_name={tmux_server.socket!r})
        st = s.status()
        out = {{"exists": s.exists(), "running": s.is_running(), "state": st.state.value,
               "windows": st.window_count, "logs": s.logs(lines=10)}}
        s.stop()
        out["after"] = s.exists()
        print(json.dumps(out))
        """,
        tmp_path,
    )
    assert isinstance(seen, dict)
    assert (seen["exists"], seen["running"], seen["state"]) == (True, True, "running")
    assert seen["windows"] == 1 and "hello-from-core" in seen["logs"]
    assert seen["after"] is False
    assert not ours.exists()
    with pytest.raises(SessionNotFound):
        ours.status()


def test_a_kstlib_config_spec_is_read_by_sesstui(tmux_server: TmuxServer, tmp_path: Path) -> None:
    """The same ``sessions`` entry: kstlib starts it from kstlib.conf.yml, and
    sesstui's config reads it (the command string split without a shell)."""
    bot = script(tmp_path, "hello-from-the-spec")
    spec = {
        "backend": "tmux",
        "command": f"sh {bot} --name 'the astro bot'",
        "working_dir": str(tmp_path),
        "env": {"ASTRO_MODE": "paper"},
        "socket_name": tmux_server.socket,
    }
    (tmp_path / "kstlib.conf.yml").write_text(
        json.dumps({"ops": {"sessions": {"astro": spec}}})  # JSON is YAML
    )
    started = kstlib(
        """
        import json
        from kstlib.ops import SessionManager
        s = SessionManager.from_config("astro")
        s.start()
        print(json.dumps([s.backend.value, s.is_running()]))
        """,
        tmp_path,
    )
    assert started == ["tmux", True]
    cfg = tmux_config(tmp_path, tmux_server, f"astro: {json.dumps(spec)}\n")
    read = cfg.sessions["astro"]
    assert read.backend == "bots" and read.shell is False
    assert read.command == ("sh", str(bot), "--name", "the astro bot")
    assert read.env == {"ASTRO_MODE": "paper"} and read.working_dir == tmp_path
    ours = SessionManager.from_config("astro", config=cfg)
    assert ours.is_running()  # the session kstlib started from the same spec
    wait_for(lambda: "hello-from-the-spec" in ours.logs(), 10, "the spec's output")
    ours.stop(timeout=5)
    ours.start()  # and sesstui starts it from its reading of the spec
    assert tmux_server.value("=astro:", "#{pane_current_path}") == str(tmp_path)
    wait_for(lambda: "hello-from-the-spec" in ours.logs(), 10, "output after our start")
    ours.stop(graceful=False)


def test_the_same_name_in_tmux_and_a_container_is_ambiguous_to_both(
    tmux_server: TmuxServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    name, cfg = tmux_and_docker(tmux_server, docker_engine)
    with container_session(docker_engine, name, cfg, command="sleep 60") as box:
        box.start()
        tmux_server.run("new-session", "-d", "-s", name, "sleep 60")
        theirs = run_peer(
            KSTLIB,
            f"""
            import json
            from kstlib.ops import SessionAmbiguousError, auto_detect_backend
            try:
                found = auto_detect_backend({name!r}, socket_name={tmux_server.socket!r})
                print(json.dumps(["found", str(found)]))
            except SessionAmbiguousError as e:
                print(json.dumps(["ambiguous", e.backends]))
            """,
            cwd=tmp_path,
            env={"DOCKER_HOST": docker_engine.host},
        )
        assert theirs == ["ambiguous", ["tmux", "container"]]
        with pytest.raises(AmbiguousSession) as info:
            auto_detect_backend(name, config=cfg)
        assert info.value.backends == ["tm", "dk"]
