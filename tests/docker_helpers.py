"""Helpers and fixtures of the docker backend tests: specs, a backend on the
private engine (``dk``), raw containers, CLI contexts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from core.backend import LineStream
from core.config.records import SessionSpec
from core.docker.backend import DockerBackend
from core.model import LogLine
from tests.docker_fixtures import DockerEngine
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
LOOP = "while true; do sleep 0.1; done"
# the engine's time in front of each container line, as the backend shows it
_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)(?: |$)")


def stamped(lines: Iterable[LogLine]) -> list[tuple[datetime, str]]:
    """Each line's engine time and text; fails on a line without the time
    (notice lines, which the backend makes up, are left out)."""
    out: list[tuple[datetime, str]] = []
    for line in lines:
        if line.notice:
            continue
        m = _STAMP.match(line.text)
        assert m is not None, f"no engine time in front of {line.text!r}"
        out.append((datetime.fromisoformat(m.group(1)), line.text[m.end() :]))
    return out


def untimed(lines: Iterable[LogLine]) -> list[str]:
    """The lines' texts after the engine's time, which each must have (notice
    lines as they are)."""
    seen = list(lines)
    texts = iter(text for _, text in stamped(seen))
    return [line.text if line.notice else next(texts) for line in seen]


def spec(name: str, image: str, *command: str, **kwargs: Any) -> SessionSpec:
    base = SessionSpec(name=name, backend="dk", command=command, image=image, network="none")
    return replace(base, **kwargs)


def shell(name: str, image: str, line: str, **kwargs: Any) -> SessionSpec:
    return spec(name, image, line, shell=True, **kwargs)


def read_until(stream: LineStream, text: str, timeout: float = 15.0) -> list[LogLine]:
    seen: list[LogLine] = []

    def found() -> bool:
        seen.extend(stream.read_available(0.2))
        return any(text in line.text for line in seen)

    wait_for(found, timeout, f"{text!r} in the stream (got {[s.text for s in seen[-5:]]})")
    return seen


@pytest.fixture(name="engine")
def _engine_fixture(docker_engine: DockerEngine) -> DockerEngine:
    return docker_engine


@pytest.fixture(name="dk")
def _dk_fixture(docker_engine: DockerEngine) -> Any:
    backend = DockerBackend(docker_engine.config())
    try:
        yield backend
    finally:
        backend.close()


def container(engine: DockerEngine, name: str) -> dict[str, Any]:
    data: dict[str, Any] = engine.client.api.inspect_container(name)
    return data


def make_raw(engine: DockerEngine, name: str, labels: dict[str, str] | None = None) -> str:
    """A container made directly (not by the backend), created, not started."""
    created: dict[str, Any] = engine.client.api.create_container(
        engine.image,
        ["sleep", "60"],
        name=name,
        labels={"sesstui.test": "1", **(labels or {})},
        host_config=engine.client.api.create_host_config(network_mode="none"),
    )
    return str(created["Id"])


def write_context(home: Path, name: str, host: str) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = home / ".docker" / "contexts" / "meta" / digest / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}})
    )
