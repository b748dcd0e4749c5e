"""core.config and core.paths against real files: discovery, parsing, validation,
expansion and redaction.  Every error test checks file, line and key path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from msgspec.structs import replace

from core import paths
from core.config import (
    CONFIG_ENV,
    config_to_dict,
    default_config,
    discover_config,
    is_secret_key,
    load_config,
    redact,
)
from core.config.records import AppConfig
from core.dirs.schema import DirsBackendConfig
from core.docker.schema import DockerBackendConfig
from core.errors import ConfigError
from core.jsonstore.schema import JsonBackendConfig
from core.kv.schema import KvBackendConfig
from core.tmux.schema import TmuxBackendConfig

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """\
backends:
  - name: runs
    kind: dirs
    base: /srv/runs
"""


def write(directory: Path, text: str, name: str = "c.yml") -> Path:
    """Write dedented ``text`` (line 1 = its first line) and return the path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env if env is not None else {"HOME": "/home/u"})
    return info.value


def dirs(cfg_backend: object) -> DirsBackendConfig:
    assert isinstance(cfg_backend, DirsBackendConfig)
    return cfg_backend


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An env with its own HOME and XDG dirs, run from an empty working directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }


# --- paths ---------------------------------------------------------------------


def test_xdg_dirs_follow_environment_and_fall_back_to_home() -> None:
    env = {"HOME": "/h", "XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s", "XDG_DATA_HOME": "/d"}
    assert paths.config_dir(env) == Path("/c/sesstui")
    assert paths.state_dir(env) == Path("/s/sesstui")
    assert paths.data_dir(env) == Path("/d/sesstui")
    # Unset, empty and relative values (invalid per the XDG spec) all fall back.
    fallback = {"HOME": "/h", "XDG_CONFIG_HOME": "", "XDG_STATE_HOME": "rel/dir"}
    assert paths.config_dir(fallback) == Path("/h/.config/sesstui")
    assert paths.state_dir(fallback) == Path("/h/.local/state/sesstui")
    assert paths.data_dir(fallback) == Path("/h/.local/share/sesstui")


def test_xdg_dirs_read_os_environ_on_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/first")
    assert paths.config_dir() == Path("/first/sesstui")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/second")
    assert paths.config_dir() == Path("/second/sesstui")


# --- discovery -------------------------------------------------------------------


def test_discovery_order_each_step(tmp_path: Path, isolated: dict[str, str]) -> None:
    user = Path(isolated["XDG_CONFIG_HOME"]) / "sesstui" / "config.yml"
    user.parent.mkdir(parents=True)
    user.write_text(MINIMAL)
    local = Path.cwd() / "sesstui.yml"
    local.write_text(MINIMAL)
    from_env = write(tmp_path, MINIMAL, "env.yml")
    explicit = write(tmp_path, MINIMAL, "explicit.yml")
    env = {**isolated, CONFIG_ENV: str(from_env)}

    assert discover_config(str(explicit), env) == explicit
    assert discover_config(None, env) == from_env
    assert discover_config(None, {**isolated, CONFIG_ENV: ""}) == local  # empty = unset
    local.unlink()
    assert discover_config(None, isolated) == user
    user.unlink()
    assert discover_config(None, isolated) is None


def test_load_config_uses_discovered_file_and_records_source(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    Path("sesstui.yml").write_text(MINIMAL.replace("runs", "local"))
    cfg = load_config(env=isolated)
    assert [b.name for b in cfg.backends] == ["local"]
    assert cfg.source == Path.cwd() / "sesstui.yml"
    assert cfg.source is not None and cfg.source.is_absolute()


def test_explicit_missing_file_is_an_error_not_a_fallback(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    Path("sesstui.yml").write_text(MINIMAL)  # would be found, but must not be used
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError) as info:
        load_config(missing, env=isolated)
    assert info.value.file == str(missing)
    assert "does not exist" in str(info.value)
    assert "--config" in str(info.value)


def test_env_named_missing_file_is_an_error(tmp_path: Path, isolated: dict[str, str]) -> None:
    missing = tmp_path / "gone.yml"
    with pytest.raises(ConfigError) as info:
        discover_config(None, {**isolated, CONFIG_ENV: str(missing)})
    assert info.value.file == str(missing)
    assert CONFIG_ENV in str(info.value)


def test_explicit_directory_is_an_error(tmp_path: Path, isolated: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, env=isolated)


def test_no_file_gives_embedded_default(isolated: dict[str, str]) -> None:
    cfg = load_config(env=isolated)
    assert cfg.source is None
    assert cfg == default_config(isolated)
    runs_cfg, tmux_cfg, *_docker = cfg.backends  # docker only where a socket exists
    runs = dirs(runs_cfg)
    assert isinstance(tmux_cfg, TmuxBackendConfig)
    assert (tmux_cfg.name, tmux_cfg.socket_name, tmux_cfg.socket_path) == ("tmux", None, None)
    assert (runs.name, runs.kind, runs.create_base) == ("runs", "dirs", True)
    assert runs.base == Path(isolated["XDG_DATA_HOME"]) / "sesstui" / "runs"
    assert cfg.sessions == {}


def test_empty_file_means_defaults(tmp_path: Path, isolated: dict[str, str]) -> None:
    path = write(tmp_path, "# only a comment\n")
    cfg = load_config(path, env=isolated)
    assert cfg.source == path
    assert cfg.backends == default_config(isolated).backends
    assert cfg.ui.theme == "sesstui-dark"


def test_file_without_backends_keeps_default_backends(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    path = write(tmp_path, "ui:\n  log_lines: 50\n")
    cfg = load_config(path, env=isolated)
    assert [b.name for b in cfg.backends][:2] == ["runs", "tmux"]
    assert cfg.ui.log_lines == 50


def test_empty_backends_list_is_an_error(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "backends: []\n"))
    assert (err.line, err.key) == (1, "backends")
    assert "remove 'backends'" in str(err)


# --- the example file --------------------------------------------------------------


def test_config_example_loads_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(REPO / "config.example.yml", env={"HOME": "/home/u"})
    runs = dirs(cfg.backend("runs"))
    assert runs.base == Path("/home/u/runs")  # from ${HOME}
    assert runs.retention.max_sessions == 20
    assert runs.retention.max_age == timedelta(days=10)
    nightly = dirs(cfg.backend("nightly"))
    assert nightly.base == Path("/home/u/nightly-runs")  # from ~
    assert nightly.protected is True
    assert nightly.retention.max_sessions == -1
    bot = cfg.sessions["bot"]
    assert bot.command == ("python", "-m", "bot", "--port", "8080")
    assert bot.working_dir == Path("/home/u/bot")
    assert bot.env == {"LOG_LEVEL": "info", "WORKERS": "4"}
    assert cfg.ui.keymap == {"sessions.prune": "P"}


def test_config_example_documents_every_key() -> None:
    text = (REPO / "config.example.yml").read_text()
    keys = [
        "backends", "name", "kind", "protected", "timeout", "base", "prefix",
        "timestamp_format", "retention", "max_sessions", "max_age_days", "log_glob",
        "create_base", "sessions", "backend", "command", "shell", "working_dir", "env",
        "ui", "theme", "refresh_seconds", "log_lines", "keymap",
    ]  # fmt: skip
    missing = [k for k in keys if f"{k}:" not in text]
    assert missing == []
    assert "${HOME}" in text


# --- YAML level errors --------------------------------------------------------------


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backends:
          - name: runs
            kind: dirs
            base: [unclosed
        ui: {}
        """,
    )
    err = load_error(path)
    assert err.file == str(path)
    assert err.line is not None and err.line >= 4
    assert f"{path}:{err.line}: " in str(err)
    assert "YAML syntax error" in str(err)


def test_syntax_error_on_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "ui:\n  theme: a\n log_lines: 3\n")
    err = load_error(path)
    assert err.line == 3
    assert "YAML syntax error" in str(err)


def test_duplicate_key_names_line_of_duplicate_and_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backends:
          - name: runs
            kind: dirs
            base: /a
            retention:
              max_sessions: 3
              max_sessions: 4
        """,
    )
    err = load_error(path)
    assert (err.file, err.line, err.key) == (str(path), 7, "backends[0].retention.max_sessions")
    assert "first at line 6" in str(err)


def test_top_level_duplicate_key(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "ui: {}\nsessions: {}\nui: {}\n"))
    assert (err.line, err.key) == (3, "ui")


def test_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backends:
          - &common {name: a, kind: dirs, base: /a, prefix: run_}
          - <<: *common
            name: b
        """,
    )
    cfg = load_config(path, env={})
    b = dirs(cfg.backend("b"))
    assert (b.base, b.prefix) == (Path("/a"), "run_")


def test_custom_tags_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "ui:\n  theme: !!python/name:os.system x\n")
    err = load_error(path)
    assert (err.line, err.key) == (2, "ui.theme")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "- runs\n"))
    assert err.line == 1
    assert "backends, sessions, ui" in str(err)


def test_not_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_bytes(b"ui:\n  theme: \xff\xfe\n")
    err = load_error(path)
    assert err.line == 2
    assert "UTF-8" in str(err)


# --- schema errors ----------------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "themes: dark\n")
    err = load_error(path)
    assert (err.file, err.line, err.key) == (str(path), 5, "themes")
    assert "allowed: backends, sessions, ui" in str(err)


def test_unknown_backend_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "    prefx: run_\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "backends[0].prefx")
    assert "did you mean 'prefix'" in str(err)
    assert "allowed: name, kind, protected, timeout, base, prefix" in str(err)


def test_unknown_retention_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backends:
          - name: runs
            kind: dirs
            base: /a
          - name: other
            kind: dirs
            base: /b
            retention:
              max_sessions: 5
              max_age: 3
        """,
    )
    err = load_error(path)
    assert (err.line, err.key) == (10, "backends[1].retention.max_age")
    assert str(err).startswith(f"{path}:10: backends[1].retention.max_age: unknown key 'max_age'")
    assert "allowed: max_sessions, max_age_days" in str(err)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("    timeout: soon", "backends[0].timeout", "expected a number, e.g. 5"),
        ("    timeout: 0", "backends[0].timeout", "more than 0"),
        ("    protected: 'yes'", "backends[0].protected", "expected true or false"),
        ("    prefix: 12", "backends[0].prefix", "expected text"),
        ("    prefix: a/b", "backends[0].prefix", "cannot contain '/'"),
        ("    timestamp_format: '%D'", "backends[0].timestamp_format", "'/'"),
        ("    retention: {max_sessions: many}", "backends[0].retention.max_sessions",
         "expected an integer, e.g. 20"),
        ("    retention: {max_sessions: -2}", "backends[0].retention.max_sessions",
         "-1 for no limit"),
        ("    retention: {max_age_days: true}", "backends[0].retention.max_age_days",
         "expected a number"),
        ("    retention: [1]", "backends[0].retention", "expected a mapping"),
    ],
)  # fmt: skip
def test_wrong_types_name_expected_type(tmp_path: Path, line: str, key: str, expected: str) -> None:
    path = write(tmp_path, MINIMAL + line + "\n")
    err = load_error(path)
    assert (err.file, err.line, err.key) == (str(path), 5, key)
    assert expected in str(err)


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, "backends:\n  - name: runs\n    kind: dirs\n")
    err = load_error(path)
    assert (err.line, err.key) == (2, "backends[0].base")
    assert "missing required key 'base'" in str(err)


def test_backend_must_be_a_mapping(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "backends:\n  - runs\n"))
    assert (err.line, err.key) == (2, "backends[0]")
    assert "expected a mapping" in str(err)


def test_unknown_kind_lists_known_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("kind: dirs", "kind: files"))
    err = load_error(path)
    assert (err.line, err.key) == (3, "backends[0].kind")
    assert "unknown kind 'files'; known kinds: dirs" in str(err)


def test_kv_and_json_backends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "backends:\n"
        "  - {name: web, kind: kv, provider: redis_store, url: 'redis://:s3cret@db:6379/0',"
        " sandbox: app-1, connect_timeout: 1}\n"
        "  - {name: mem, kind: kv, provider: mem}\n"
        "  - {name: agents, kind: json, base: agent-sessions, prune_after_days: 7}\n",
    )
    web, mem, agents = load_config(path, env={}).backends
    assert isinstance(web, KvBackendConfig) and isinstance(mem, KvBackendConfig)
    assert (web.provider, web.sandbox, web.connect_timeout) == ("redis", "app-1", 1)
    assert mem.provider == "memory" and mem.url is None
    assert isinstance(agents, JsonBackendConfig)
    assert agents.base == tmp_path / "agent-sessions" and agents.prune_after_days == 7
    shown = json.dumps(config_to_dict(load_config(path, env={})))
    assert "s3cret" not in shown
    bad = "backends:\n  - {name: w, kind: kv, provider: memcached}\n"
    assert "unknown provider" in str(load_error(write(tmp_path, bad)))
    bad = "backends:\n  - {name: w, kind: kv, url: 'http://x'}\n"
    assert "redis://" in str(load_error(write(tmp_path, bad)))


def test_redis_url_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path, "backends:\n  - {name: web, kind: kv, provider: redis, url: '${REDIS_URL}'}\n"
    )
    (web,) = load_config(path, env={"REDIS_URL": "redis://:pw@127.0.0.1:6390/2"}).backends
    assert isinstance(web, KvBackendConfig) and web.url == "redis://:pw@127.0.0.1:6390/2"
    err = load_error(path)  # REDIS_URL unset: a clear error naming the variable
    assert "REDIS_URL" in str(err)


def test_duplicate_backend_name(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  - name: runs\n    kind: dirs\n    base: /b\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "backends[1].name")
    assert "duplicate backend name 'runs' (first at line 2)" in str(err)


@pytest.mark.parametrize("name", ["has space", "-lead", "a:b", "x" * 65, "''"])
def test_bad_backend_name(tmp_path: Path, name: str) -> None:
    err = load_error(write(tmp_path, MINIMAL.replace("name: runs", f"name: {name}")))
    assert (err.line, err.key) == (2, "backends[0].name")
    assert "invalid backend name" in str(err)


def test_good_backend_names(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("name: runs", "name: Web-2.prod_x"))
    assert load_config(path, env={}).backends[0].name == "Web-2.prod_x"


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


# --- ${VAR} expansion --------------------------------------------------------------


def test_expansion_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backends:
          - name: ${NAME}
            kind: dirs
            base: ${ROOT:-/default}/runs
            prefix: ${EMPTY:-p_}
            log_glob: "$$HOME-${NAME}.log"
            timeout: ${TIMEOUT:-7.5}
            create_base: ${CREATE}
            retention: {max_sessions: "${KEEP}"}
        """,
    )
    env = {"NAME": "runs", "EMPTY": "", "CREATE": "yes", "KEEP": "3"}
    runs = dirs(load_config(path, env=env).backends[0])
    assert runs.name == "runs"
    assert runs.base == Path("/default/runs")
    assert runs.prefix == "p_"  # :- also covers an empty variable
    assert runs.log_glob == "$HOME-runs.log"
    assert runs.timeout == 7.5  # numbers accept expanded text
    assert runs.create_base is True
    assert runs.retention.max_sessions == 3
    assert type(runs.name) is str  # a plain str, safe for yaml.safe_dump


def test_literal_string_is_not_a_number(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, MINIMAL + "    timeout: '5'\n"))
    assert "expected a number" in str(err)


def test_unset_variable_names_file_line_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "    prefix: ${RUN_PREFIX}_x\n")
    err = load_error(path, env={})
    assert (err.file, err.line, err.key) == (str(path), 5, "backends[0].prefix")
    assert "RUN_PREFIX is not set" in str(err)


@pytest.mark.parametrize("value", ["'${unclosed'", "'${1BAD}'", "'${A:?x}'"])
def test_bad_references(tmp_path: Path, value: str) -> None:
    err = load_error(write(tmp_path, MINIMAL + f"    prefix: {value}\n"), env={"A": "a"})
    assert (err.line, err.key) == (5, "backends[0].prefix")
    assert "'$$'" in str(err)


def test_expansion_applies_to_values_not_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # ${NOT_SET} in a comment is never expanded
        backends:
          - name: runs  # nor here: ${ALSO_NOT_SET}
            kind: dirs
            base: /srv/${X}
            prefix: ${X}
        """,
    )
    tricky = "a: b\n  - c: d"
    runs = dirs(load_config(path, env={"X": tricky}).backends[0])
    assert runs.prefix == tricky
    assert runs.base == Path("/srv") / tricky


def test_keys_are_not_expanded(tmp_path: Path) -> None:
    path = write(
        tmp_path, MINIMAL + "sessions:\n  bot:\n    backend: runs\n    env:\n      ${K}: v\n"
    )
    env = load_config(path, env={"K": "A"}).sessions["bot"].env
    assert env == {"${K}": "v"}


# --- paths in the file ----------------------------------------------------------------


def test_relative_base_resolves_against_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = write(conf_dir, MINIMAL.replace("/srv/runs", "data/runs"))
    monkeypatch.chdir(elsewhere)
    runs = dirs(load_config(path, env={}).backends[0])
    assert runs.base == conf_dir / "data" / "runs"


def test_tilde_uses_env_home(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("/srv/runs", "~/r"))
    runs = dirs(load_config(path, env={"HOME": "/users/ann"}).backends[0])
    assert runs.base == Path("/users/ann/r")


# --- redaction -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://user:hunter2@host:6379/0", "redis://user:***@host:6379/0"),
        ("rediss://:hunter2@host", "rediss://:***@host"),
        ("url redis://:p@ss@host/1 end", "url redis://:***@host/1 end"),
        ("password=hunter2 next", "password=*** next"),
        ("REDIS_PASSWORD: hunter2", "REDIS_PASSWORD: ***"),
        ("api_key=abc&x=1", "api_key=***&x=1"),
        ('{"auth_token": "abc def"}', '{"auth_token": "***"}'),
        ("client_secret='s3'", "client_secret='***'"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("http://host:8080/path", "http://host:8080/path"),
        ("plain text with no secrets", "plain text with no secrets"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(redact(text)) == expected


def test_secret_key_names() -> None:
    assert all(is_secret_key(k) for k in ["password", "API_TOKEN", "db_passwd", "apiKey"])
    assert not any(is_secret_key(k) for k in ["name", "base", "LOG_LEVEL", "keymap"])


def test_error_messages_are_redacted(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("kind: dirs", "kind: redis://:hunter2@db:6379"))
    err = load_error(path)
    assert "hunter2" not in str(err)
    assert "redis://:***@db:6379" in str(err)
    path = write(tmp_path, MINIMAL + "sessions:\n  bot: {backend: 'api_token=hunter2'}\n")
    err = load_error(path)
    assert "hunter2" not in str(err)
    assert "unknown backend" in str(err)


def test_unset_secret_variable_message_survives_redaction(tmp_path: Path) -> None:
    # The message must stay useful after redaction even for a secret-named variable.
    path = write(tmp_path, MINIMAL + "    prefix: ${API_TOKEN}\n")
    err = load_error(path, env={})
    assert "API_TOKEN is not set" in str(err)
    assert "${NAME:-fallback}" in str(err)


# --- back to data ----------------------------------------------------------------


SECRETS = """\
backends:
  - name: runs
    kind: dirs
    base: /srv/runs
    retention: {max_sessions: -1, max_age_days: 1.5}
sessions:
  bot:
    backend: runs
    command: [client, "redis://:hunter2@db/0", --verbose]
    env: {API_TOKEN: hunter2, LEVEL: debug}
ui: {keymap: {sessions.prune: P}}
"""


def test_config_to_dict_round_trip(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, SECRETS, "a.yml"), env={})
    data = config_to_dict(first, redact=False)
    json.dumps(data)  # JSON-able
    again = load_config(write(tmp_path, yaml.safe_dump(data), "b.yml"), env={})
    assert config_to_dict(again, redact=False) == data
    assert again.backends[0].name == "runs"
    runs = dirs(again.backends[0])
    assert runs.retention.max_age == timedelta(days=1.5)
    assert runs.retention.max_sessions == -1
    assert again.sessions["bot"].env["API_TOKEN"] == "hunter2"


def test_config_to_dict_round_trips_the_defaults(isolated: dict[str, str]) -> None:
    cfg = default_config(isolated)
    data = config_to_dict(cfg)
    backends = data["backends"]
    assert isinstance(backends, list)
    assert backends[:2] == [  # (+ docker where a socket exists)
        {
            "name": "runs",
            "kind": "dirs",
            "protected": False,
            "timeout": 5.0,
            "base": str(Path(isolated["XDG_DATA_HOME"]) / "sesstui" / "runs"),
            "prefix": "session_",
            "timestamp_format": "%Y-%m-%d-%H-%M-%S",
            "retention": {"max_sessions": 20, "max_age_days": 10},
            "log_glob": "*.log",
            "create_base": True,
        },
        {"name": "tmux", "kind": "tmux", "protected": False, "timeout": 5.0, "tmux": "tmux"},
    ]


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


def test_config_to_dict_redacts_by_default(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SECRETS), env={})
    shown = json.dumps(config_to_dict(cfg))
    assert "hunter2" not in shown
    data = config_to_dict(cfg)
    sessions = data["sessions"]
    assert isinstance(sessions, dict)
    assert sessions["bot"]["env"] == {"API_TOKEN": "***", "LEVEL": "debug"}
    assert sessions["bot"]["command"][1] == "redis://:***@db/0"


# --- hygiene ---------------------------------------------------------------------------


def test_config_import_stays_headless() -> None:
    code = (
        "import sys, core.config; "
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


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


def test_embedded_default_has_docker_only_when_reachable(isolated: dict[str, str]) -> None:
    with_host = default_config({**isolated, "DOCKER_HOST": "unix:///tmp/x.sock"})
    assert [b.kind for b in with_host.backends][-1] == "docker"
    docker = with_host.backends[-1]
    assert isinstance(docker, DockerBackendConfig) and docker.base_url is None  # from the env
    if not Path("/var/run/docker.sock").exists():
        assert "docker" not in [b.kind for b in default_config(isolated).backends]
