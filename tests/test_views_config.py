"""Saved views (``views:``) in the configuration: parsed at load time, errors
with file, line, key and the column inside the query."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.config import config_to_dict, default_config, load_config
from core.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "sesstui.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value


VIEWS = """\
ui: {theme: sesstui-dark}
views:
  stale: "backend:runs age>7d"
  short-ttl: kind:kv ttl<10m
  bots: 'kind:tmux attached:no name:"my bot"'
  everything:
"""


def test_views_load_as_written(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, VIEWS), env={})
    assert cfg.views == {
        "stale": "backend:runs age>7d",
        "short-ttl": "kind:kv ttl<10m",
        "bots": 'kind:tmux attached:no name:"my bot"',
        "everything": "",
    }
    assert list(cfg.views) == ["stale", "short-ttl", "bots", "everything"]


def test_default_has_no_views_and_round_trips(tmp_path: Path) -> None:
    assert default_config({}).views == {}
    assert config_to_dict(default_config({}))["views"] == {}
    cfg = load_config(write(tmp_path, VIEWS), env={})
    data = config_to_dict(cfg, redact=False)
    assert data["views"] == dict(cfg.views)
    again = load_config(write(tmp_path, yaml.safe_dump(data), "b.yml"), env={})
    assert again.views == cfg.views


def test_views_expand_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "views:\n  mine: 'meta.user:${USER_NAME}'\n")
    assert load_config(path, env={"USER_NAME": "ann"}).views == {"mine": "meta.user:ann"}


def test_a_bad_query_names_file_line_key_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "views:\n  stale: backend:runs age>7d\n  broken: 'state:idle agee>1d'\n")
    err = load_error(path)
    assert (err.file, err.line, err.key) == (str(path), 3, "views.broken")
    first, query, caret = str(err).splitlines()
    assert first.startswith(f"{path}:3: views.broken: bad query at column 12: unknown field")
    assert "did you mean 'age'" in first
    assert query == "    state:idle agee>1d"
    assert caret == "               ^^^^"


def test_bad_state_and_duration_in_views(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "views:\n  a: state:idel\n"))
    assert (err.line, err.key) == (2, "views.a") and "unknown state 'idel'" in str(err)
    err = load_error(write(tmp_path, "views:\n  a: 'ttl<soon'\n"))
    assert "column 5" in str(err) and "not a duration" in str(err)


def test_views_must_be_a_mapping_of_names(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "views: [a, b]\n"))
    assert err.key == "views" and "expected a mapping" in str(err)
    err = load_error(write(tmp_path, "views:\n  'my view': state:idle\n"))
    assert (err.line, err.key) == (2, "views.my view") and "cannot be a view name" in str(err)
    err = load_error(write(tmp_path, "views:\n  a: [state:idle]\n"))
    assert err.key == "views.a" and "expected text" in str(err)


def test_views_is_a_known_top_key(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "veiws: {}\n"))
    assert "did you mean 'views'" in str(err)
