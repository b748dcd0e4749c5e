"""Helpers of the tmux backend tests: session specs and reading a stream."""

from __future__ import annotations

import sys
from typing import Any

from msgspec.structs import replace

from core.backend import LineStream
from core.config.records import SessionSpec
from tests.helpers import wait_for

PY = sys.executable


def spec(name: str, *command: str, **kwargs: Any) -> SessionSpec:
    return replace(SessionSpec(name=name, backend="tm", command=command), **kwargs)


def sleeper(name: str, **kwargs: Any) -> SessionSpec:
    return spec(name, "sleep", "600", **kwargs)


def read_until(stream: LineStream, text: str, timeout: float = 15.0) -> list[str]:
    """Lines read from ``stream`` until one contains ``text``."""
    seen: list[str] = []

    def found() -> bool:
        seen.extend(line.text for line in stream.read_available(0.2))
        return any(text in s for s in seen)

    wait_for(found, timeout, f"{text!r} in the stream (got {seen[-5:]})")
    return seen
