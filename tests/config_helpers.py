"""Shared by the configuration tests: write a file, load it, expect an error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import load_config
from core.dirs.schema import DirsBackendConfig
from core.errors import ConfigError

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


def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An env with its own HOME and XDG dirs, run from an empty working directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
