"""Setup shared by the ``core.ops`` tests (``tests/test_ops.py``) and the kstlib.ops interop
tests (``tests/test_interop_kstlib.py``): the same facade, the same kinds of configs."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.config import load_config
from core.config.records import AppConfig
from core.ops import SessionManager
from core.tmux.schema import TmuxBackendConfig
from tests.docker_fixtures import DockerEngine
from tests.tmux_fixtures import TmuxServer

NO_BACKENDS = AppConfig(backends=())


def tmux_and_docker(tmux_server: TmuxServer, docker_engine: DockerEngine) -> tuple[str, AppConfig]:
    """kstlib's ambiguity case: a fresh session name, and a config with the tmux backend
    ``tm`` (on ``tmux_server``) and the Docker backend ``dk``, in that order."""
    name = f"astro-{uuid.uuid4().hex[:6]}"
    cfg = AppConfig(
        backends=(
            TmuxBackendConfig(name="tm", kind="tmux", socket_name=tmux_server.socket),
            docker_engine.config("dk"),
        )
    )
    return name, cfg


@contextmanager
def container_session(
    docker_engine: DockerEngine, name: str, cfg: AppConfig, **kwargs: Any
) -> Iterator[SessionManager]:
    """``SessionManager(name, backend="container", ...)`` on the test image; closed, and its
    container removed, when the block ends."""
    box = SessionManager(name, backend="container", config=cfg, image=docker_engine.image, **kwargs)
    try:
        yield box
    finally:
        box.close()
        docker_engine.client.api.remove_container(name, force=True)


def tmux_config(tmp_path: Path, tmux_server: TmuxServer, sessions: str) -> AppConfig:
    """``tmp_path/sesstui.yml`` with the tmux backend ``bots`` on ``tmux_server`` and the
    ``sessions:`` entries given as YAML (not indented), loaded with HOME at ``tmp_path``."""
    conf = tmp_path / "sesstui.yml"
    conf.write_text(
        f"backends:\n  - {{name: bots, kind: tmux, socket_name: {tmux_server.socket}}}\n"
        "sessions:\n" + textwrap.indent(textwrap.dedent(sessions), "  ")
    )
    return load_config(conf, env={"HOME": str(tmp_path)})
