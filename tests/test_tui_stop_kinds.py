"""Pilot: the stop dialog says what stop does per kind (a container gets SIGTERM,
not Ctrl+C), and Kill now reports killed, against a real private dockerd."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from core.config.records import AppConfig, SessionSpec, UIConfig
from core.docker.backend import DockerBackend
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.helpers import unique
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.docker


async def test_stop_dialog_for_a_container_and_kill_says_killed(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    name = f"t-{unique()}"
    spec = SessionSpec(
        name=name,
        backend="dk",
        command=("while true; do sleep 0.1; done",),
        shell=True,
        image=docker_engine.image,
        network="none",
    )
    dk = DockerBackend(docker_engine.config())
    try:
        dk.start(replace(spec, stop_timeout=3))
    finally:
        dk.close()
    config = AppConfig(
        backends=(docker_engine.config(),),
        sessions={name: replace(spec, stop_timeout=3)},
        ui=UIConfig(refresh_seconds=0.3),
    )
    app = SesstuiApp(config)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        key = f"dk:{name}"
        await wait_until(pilot, lambda: key in t.shown, "the container row")
        t.move_cursor(row=t.get_row_index(key))
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "SIGTERM" in dialog.message and "Ctrl+C" not in dialog.message
        assert "up to 3s before SIGKILL" in dialog.message
        app.clear_notifications()
        await pilot.press("tab", "tab", "enter")  # -> Kill now
        await wait_until(
            pilot,
            lambda: any(n.message == f"Killed {key}" for n in app._notifications),
            "the killed notice",
        )
        state = docker_engine.client.api.inspect_container(name)["State"]
        assert not state["Running"] and state["ExitCode"] == 137
