"""Shared fixtures.  Real files, real processes; nothing mocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME and the XDG dirs inside tmp_path, so no test reads the user's config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.delenv("SESSTUI_CONFIG", raising=False)
    yield home


def needs_root(what: str) -> pytest.MarkDecorator:
    """Skip when not root; under CI=true run anyway, so the test fails."""
    if os.geteuid() == 0 or os.environ.get("CI") == "true":
        # under CI a missing capability must fail the test, never skip it
        return pytest.mark.root
    return pytest.mark.skip(reason=f"{what} needs root")
