"""core.config: session specs (kstlib.ops spellings included), ui, and the tmux and
docker keys of backends and sessions.  Every error test checks file, line and key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from msgspec.structs import replace

from core.config import (
    config_to_dict,
    default_config,
    load_config,
)
from core.config.records import AppConfig
from core.docker.schema import DockerBackendConfig
from core.tmux.schema import TmuxBackendConfig
from tests.config_helpers import (
    MINIMAL,
    dirs,
    isolated_env,
    load_error,
    write,
)

# --- sessions and ui ---------------------------------------------------------------


def test_sessions_parse(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """
sessions:
  bot:
    backend: runs
    command: [sleep, 10]
    working_dir: work
    env: {VERSION: 1.10, DEBUG: yes}
  sh:
    backend: runs
    shell: true
    command: "make run | tee log"
""",
    )
    cfg = load_config(path, env={})
    bot = cfg.sessions["bot"]
    assert bot.command == ("sleep", "10")
    assert bot.working_dir == tmp_path / "work"
    assert bot.env == {"VERSION": "1.10", "DEBUG": "yes"}  # as written, not 1.1 / True
    assert bot.origin.line == 7
    assert cfg.sessions["sh"].command == ("make run | tee log",)
    assert cfg.sessions["sh"].shell is True


def test_a_command_string_is_split_into_words_without_a_shell(tmp_path: Path) -> None:
    # kstlib.ops writes commands as one string: read as words, never through sh
    path = write(
        tmp_path,
        MINIMAL
        + "sessions:\n"
        + "  bot: {backend: runs, command: \"python -m bot --name 'my bot' a\\\\ b\"}\n",
    )
    bot = load_config(path, env={}).sessions["bot"]
    assert bot.command == ("python", "-m", "bot", "--name", "my bot", "a b")
    assert bot.shell is False


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ("make run && echo done", "'&'"),
        ("make run | tee log", "'|'"),
        ("echo $HOME", "'$'"),
        ("ls *.log", "'*'"),
        ("cd ~/bot", "'~'"),
        ("LOG=1 bot", "put variables under 'env:'"),
        ("echo 'open", "cannot be split"),
    ],
)
def test_a_command_string_with_shell_syntax_needs_shell_true(
    tmp_path: Path, command: str, found: str
) -> None:
    path = write(
        tmp_path, MINIMAL + f"sessions:\n  bot:\n    backend: runs\n    command: {command!r}\n"
    )
    err = load_error(path)
    assert (err.line, err.key) == (8, "sessions.bot.command")
    assert found in str(err)
    if "env:" not in found and "split" not in found:
        assert "shell: true" in str(err)
    # with shell: true the same line is one shell command line
    path = write(
        tmp_path,
        MINIMAL
        + f"sessions:\n  bot:\n    backend: runs\n    shell: true\n    command: {command!r}\n",
    )
    assert load_config(path, env={}).sessions["bot"].command == (command,)


KSTLIB_BACKENDS = """\
backends:
  - name: runs
    kind: dirs
    base: /srv/runs
  - name: work
    kind: tmux
  - name: bots
    kind: tmux
    socket_name: bots
  - name: engine
    kind: docker
sessions:
"""


def test_kstlib_backend_kinds_name_the_one_backend_of_that_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        KSTLIB_BACKENDS
        + """\
  astro:
    backend: tmux
    socket_name: bots
    command: "python -m astro.bot"
  prod:
    backend: container
    image: astro-bot:latest
    volumes: ["./data:/app/data"]
    log_volume: "./logs:/app/logs"
    runtime: podman
""",
    )
    cfg = load_config(path, env={})
    astro, prod = cfg.sessions["astro"], cfg.sessions["prod"]
    assert (astro.backend, astro.command) == ("bots", ("python", "-m", "astro.bot"))
    assert prod.backend == "engine"
    assert prod.volumes == ("./data:/app/data", "./logs:/app/logs")


def test_kstlib_backend_kind_errors_say_what_to_write(tmp_path: Path) -> None:
    # two tmux backends and no socket_name: which one is meant?
    err = load_error(write(tmp_path, KSTLIB_BACKENDS + "  a: {backend: tmux, command: [x]}\n"))
    assert err.key == "sessions.a.backend"
    assert "ambiguous" in str(err) and "work, bots" in str(err)
    # no backend: kstlib's default, tmux; still ambiguous here
    err = load_error(write(tmp_path, KSTLIB_BACKENDS + "  a: {command: [x]}\n"))
    assert "ambiguous" in str(err)
    # no such socket
    err = load_error(write(tmp_path, KSTLIB_BACKENDS + "  a: {backend: tmux, socket_name: nope}\n"))
    assert "no tmux backend with socket_name 'nope'" in str(err)
    assert "socket_name: nope" in str(err)  # the example to add
    # no container backend at all
    err = load_error(write(tmp_path, MINIMAL + "sessions:\n  a: {backend: container, image: x}\n"))
    assert "no docker backend is configured" in str(err) and "kind: docker" in str(err)
    # a socket_name that contradicts the named backend
    err = load_error(write(tmp_path, KSTLIB_BACKENDS + "  a: {backend: work, socket_name: bots}\n"))
    assert err.key == "sessions.a.socket_name" and "not the socket of backend 'work'" in str(err)
    err = load_error(
        write(tmp_path, KSTLIB_BACKENDS + "  a: {backend: engine, image: x, runtime: lxc}\n")
    )
    assert err.key == "sessions.a.runtime"
    err = load_error(write(tmp_path, KSTLIB_BACKENDS + "  a: {backend: work, log_volume: a:b}\n"))
    assert "does not apply to a tmux backend" in str(err)


def test_a_spec_without_backend_is_the_one_tmux_backend(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL + "  - {name: work, kind: tmux}\nsessions:\n  bot: {command: 'sleep 60'}\n",
    )
    assert load_config(path, env={}).sessions["bot"].backend == "work"


def test_session_backend_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "sessions:\n  bot:\n    backend: work\n")
    err = load_error(path)
    assert (err.line, err.key) == (7, "sessions.bot.backend")
    assert "configured backends: runs" in str(err)


def test_session_unknown_key_and_bad_name(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, MINIMAL + "sessions:\n  bot: {backend: runs, imgae: x}\n"))
    assert err.key == "sessions.bot.imgae"
    assert "allowed: backend, command, shell, working_dir, env" in str(err)
    err = load_error(write(tmp_path, MINIMAL + "sessions:\n  bot: {backend: runs, image: x}\n"))
    assert err.key == "sessions.bot.image"
    assert "does not apply to a dirs backend" in str(err)
    err = load_error(write(tmp_path, MINIMAL + "sessions:\n  a.b: {backend: runs}\n"))
    assert (err.line, err.key) == (6, "sessions.a.b")
    assert "invalid session name" in str(err)


def test_session_env_rejects_lists(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "sessions:\n  bot:\n    backend: runs\n    env: {A: [1]}\n")
    err = load_error(path)
    assert (err.line, err.key) == (8, "sessions.bot.env.A")


def test_ui_values_and_errors(tmp_path: Path) -> None:
    path = write(
        # (a YAML number as a key name; 1-9 are the saved views' keys, 0 is free)
        tmp_path,
        "ui: {theme: t, refresh_seconds: 0.5, log_lines: 10, keymap: {app.help: 0}}\n",
    )
    ui = load_config(path, env={}).ui
    assert (ui.theme, ui.refresh_seconds, ui.log_lines) == ("t", 0.5, 10)
    assert ui.keymap == {"app.help": "0"}
    err = load_error(write(tmp_path, "ui:\n  log_lines: 0\n"))
    assert (err.line, err.key) == (2, "ui.log_lines")
    err = load_error(write(tmp_path, "ui:\n  refresh_seconds: -1\n"))
    assert err.key == "ui.refresh_seconds"
    err = load_error(write(tmp_path, "ui:\n  colour: red\n"))
    assert "allowed: theme, refresh_seconds, log_lines, keymap" in str(err)


def test_null_value_means_default(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "    prefix:\n    retention:\n")
    runs = dirs(load_config(path, env={}).backends[0])
    assert runs.prefix == "session_"
    assert runs.retention.max_sessions == 20


def test_tmux_backend_and_session_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "backends:\n"
        "  - {name: runs, kind: dirs, base: runs}\n"
        "  - {name: work, kind: tmux, socket_name: work}\n"
        "  - {name: ops, kind: tmux, socket_path: sock/ops.sock, log_dir: logs}\n"
        "sessions:\n"
        "  bot:\n"
        "    backend: work\n"
        "    command: [python, -m, bot]\n"
        "    window_name: main\n"
        "    session_dir: runs\n"
        "    stop_timeout: 3\n",
    )
    cfg = load_config(path, env={})
    work, ops = cfg.backends[1], cfg.backends[2]
    assert isinstance(work, TmuxBackendConfig) and work.socket_name == "work"
    assert isinstance(ops, TmuxBackendConfig)
    assert ops.socket_path == tmp_path / "sock" / "ops.sock"  # relative to the file
    assert ops.log_dir == tmp_path / "logs"
    bot = cfg.sessions["bot"]
    assert (bot.window_name, bot.session_dir, bot.stop_timeout) == ("main", "runs", 3)
    again = load_config(_round_trip(tmp_path, cfg), env={}).sessions["bot"]
    assert replace(again, origin=bot.origin) == bot


def _round_trip(tmp_path: Path, cfg: AppConfig) -> Path:
    out = tmp_path / "again.yml"
    out.write_text(yaml.safe_dump(config_to_dict(cfg, redact=False)))
    return out


def test_tmux_socket_name_and_path_together_is_an_error(tmp_path: Path) -> None:
    text = "backends:\n  - name: w\n    kind: tmux\n    socket_name: a\n    socket_path: /b\n"
    err = load_error(write(tmp_path, text))
    assert (err.line, err.key) == (5, "backends[0].socket_path")
    assert "not both" in str(err)


def test_session_dir_must_name_a_dirs_backend(tmp_path: Path) -> None:
    text = (
        "backends:\n  - {name: work, kind: tmux}\n"
        "sessions:\n  bot:\n    backend: work\n    command: [x]\n    session_dir: work\n"
    )
    err = load_error(write(tmp_path, text))
    assert err.line == 7 and "dirs backend" in str(err)


def test_docker_backend_and_session_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "backends:\n"
        "  - {name: dk, kind: docker, base_url: 'tcp://user:pw@h:2376', tls_verify: true,"
        " cert_path: certs, scope: all, prune_after_days: 2}\n"
        "sessions:\n"
        "  web:\n"
        "    backend: dk\n"
        "    image: busybox:1.36\n"
        "    command: [httpd, -f]\n"
        "    volumes: [/srv/www:/www:ro]\n"
        "    ports: ['8080:80', 9000/udp]\n"
        "    network: none\n"
        "    attach: attach\n",
    )
    cfg = load_config(path, env={})
    (dk,) = cfg.backends
    assert isinstance(dk, DockerBackendConfig)
    assert (dk.scope, dk.tls_verify, dk.prune_after_days) == ("all", True, 2)
    assert dk.cert_path == tmp_path / "certs"
    web = cfg.sessions["web"]
    assert (web.image, web.volumes, web.ports) == (
        "busybox:1.36",
        ("/srv/www:/www:ro",),
        ("8080:80", "9000/udp"),
    )
    assert (web.network, web.attach) == ("none", "attach")
    assert "pw" not in json.dumps(config_to_dict(cfg))  # the URL password is redacted
    again = load_config(_round_trip(tmp_path, cfg), env={})
    assert replace(again.sessions["web"], origin=web.origin) == web


def test_docker_session_needs_an_image_and_no_tmux_keys(tmp_path: Path) -> None:
    base = "backends:\n  - {name: dk, kind: docker}\nsessions:\n  web:\n    backend: dk\n"
    err = load_error(write(tmp_path, base + "    command: [x]\n"))
    assert "missing required key 'image'" in str(err) and err.line == 5
    err = load_error(write(tmp_path, base + "    image: busybox\n    window_name: w\n"))
    assert err.key == "sessions.web.window_name" and "docker backend" in str(err)
    err = load_error(write(tmp_path, base + "    image: busybox\n    attach: ssh\n"))
    assert "attach must be" in str(err)
    bad = "backends:\n  - {name: dk, kind: docker, scope: mine}\n"
    assert "scope must be" in str(load_error(write(tmp_path, bad)))


def test_embedded_default_has_docker_only_when_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated = isolated_env(tmp_path, monkeypatch)
    with_host = default_config({**isolated, "DOCKER_HOST": "unix:///tmp/x.sock"})
    assert [b.kind for b in with_host.backends][-1] == "docker"
    docker = with_host.backends[-1]
    assert isinstance(docker, DockerBackendConfig) and docker.base_url is None  # from the env
    if not Path("/var/run/docker.sock").exists():
        assert "docker" not in [b.kind for b in default_config(isolated).backends]
