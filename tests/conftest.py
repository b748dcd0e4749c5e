"""Shared fixtures.  Real files, real processes; nothing mocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """XDG_STATE_HOME in a tmp dir for the whole run: the journal, the saved
    inventory and tmux logs of every test (and of the CLI subprocesses, which
    inherit the environment) never land in the real ~/.local/state."""
    state = tmp_path_factory.mktemp("xdg-state")
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    yield state
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(autouse=True)
def state_dir_per_test(
    private_state_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """And a state dir of its own for each test, so the journal and the
    since-last-open inventory of one test never show up in another."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


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
