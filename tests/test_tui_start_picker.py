"""Pilot: the start picker (`s`) offers a stopped container (no spec needed) and
starts it; with nothing to start it says why. Real dockerd, real directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config.records import AppConfig, SessionSpec
from core.docker.backend import DockerBackend
from core.model import State
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.helpers import dirs_config, make_session, unique
from tests.pilot_helpers import dash, wait_until
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture
from tui.app import SesstuiApp
from tui.screens.start import StartScreen


@pytest.mark.tmux
async def test_nothing_to_start_says_why(tmp_path: Path, tmux_server: TmuxServer) -> None:
    make_session(tmp_path / "runs")
    # a tmux server can start sessions whose panes exited: `s` is offered, with a reason
    backends = (dirs_config(tmp_path / "runs"), tmux_server.config())
    app = SesstuiApp(AppConfig(backends=backends))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(dash(pilot).table.shown) == 1, "the row")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StartScreen), "the picker")
        label = str(app.screen.query_one("#start-empty").render())
        assert label == (
            "Nothing to start: no session specs are configured (add them under `sessions:`, "
            "see config.example.yml) and no stopped session in tm."
        )


@pytest.mark.docker
async def test_a_stopped_container_is_offered_and_started(docker_engine: DockerEngine) -> None:
    name = f"t-{unique()}"
    dk = DockerBackend(docker_engine.config())
    try:
        spec = SessionSpec(
            name=name, backend="dk", command=("sleep", "600"), image=docker_engine.image,
            network="none",
        )  # fmt: skip
        dk.start(spec)
        dk.stop(name, graceful=False)
    finally:
        dk.close()
    app = SesstuiApp(AppConfig(backends=(docker_engine.config(),)))  # no spec for it
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: f"dk:{name}" in t.shown, "the stopped row")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StartScreen), "the picker")
        picker = app.screen
        assert isinstance(picker, StartScreen)
        keys = [c.key for c in picker.specs]
        assert f"dk:{name}" in keys
        picker.query_one("#specs").highlighted = keys.index(f"dk:{name}")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                t.shown.get(f"dk:{name}") is not None
                and t.shown[f"dk:{name}"].state is State.RUNNING
            ),
            "the container running",
            timeout=30,
        )
