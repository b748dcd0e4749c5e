"""Fixtures and helpers shared by the producer API tests for session directories
(tests/test_dirs_producer.py, test_dirs_sessiondir.py, test_dirs_settings.py)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.dirs.producer import forget_loaded_env_files
from core.dirs.retention import Candidate
from core.model import PruneReason

DAY = 86400.0
NOW = 1_700_000_000.0
COUNT = PruneReason.COUNT
AGE = PruneReason.AGE


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SESSION_* variables from the outer environment, cwd in tmp_path
    (monkeypatch restores it), and the root logger put back afterwards."""
    for var in list(os.environ):
        if "SESSION_DIR_" in var or "SESSION_LOG_" in var:
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    forget_loaded_env_files()  # .env files earlier tests loaded are seen by later objects
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    forget_loaded_env_files()
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def make_dir(base: Path, name: str, age_days: float, now: float | None = None) -> Path:
    """A directory ``base/name`` whose own mtime is ``age_days`` before now."""
    path = base / name
    path.mkdir(parents=True)
    t = (time.time() if now is None else now) - age_days * DAY
    os.utime(path, (t, t))
    return path


def cand(name: str, age_days: float) -> Candidate:
    return Candidate(Path("/base") / name, name, NOW - age_days * DAY)


def names(selected: list[tuple[Candidate, PruneReason]]) -> list[tuple[str, PruneReason]]:
    return [(c.name, r) for c, r in selected]


def root_state() -> tuple[int, int]:
    root = logging.getLogger()
    return len(root.handlers), root.level
