"""core.config and core.paths against real files: discovery, the YAML level and the
schema of backends.  Every error test checks file, line and key path.  Sessions and
ui are in test_config_sessions.py; expansion, paths, redaction and writing back in
test_config_values.py."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core import paths
from core.config import (
    CONFIG_ENV,
    config_to_dict,
    default_config,
    discover_config,
    load_config,
)
from core.errors import ConfigError
from core.jsonstore.schema import JsonBackendConfig
from core.kv.schema import KvBackendConfig
from core.tmux.schema import TmuxBackendConfig
from tests.config_helpers import (
    MINIMAL,
    REPO,
    dirs,
    isolated_env,
    load_error,
    write,
)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An env with its own HOME and XDG dirs, run from an empty working directory."""
    return isolated_env(tmp_path, monkeypatch)


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
