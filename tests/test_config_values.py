"""core.config: ${VAR} expansion, paths in the file, redaction, writing the
configuration back as data, and import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from core.config import (
    config_to_dict,
    default_config,
    is_secret_key,
    load_config,
    redact,
)
from tests.config_helpers import (
    MINIMAL,
    REPO,
    dirs,
    isolated_env,
    load_error,
    write,
)

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


def test_config_to_dict_round_trips_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated = isolated_env(tmp_path, monkeypatch)
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
