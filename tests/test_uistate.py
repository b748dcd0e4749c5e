"""core.uistate: the columns per view, saved and read back (no Textual)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.uistate import UiState, UiStateFile


def test_columns_per_view_round_trip(tmp_path: Path) -> None:
    store = UiStateFile(tmp_path / "ui.json")
    state = UiState(layout="side").with_columns("", ["name", "backend"], ["state"])
    state = state.with_columns(":old", ["backend", "name"], [])
    assert store.save(state) is None
    assert store.load() == state
    assert store.load().columns[""] == {"order": ["name", "backend"], "hidden": ["state"]}


@pytest.mark.parametrize(
    "columns",
    [
        ["not", "a", "dict"],
        {"": ["no", "order"]},
        {"": {"order": ["name"], "hidden": "state"}},
        {"": {"order": ["name", 3], "hidden": []}},
        {"": {"hidden": []}},
    ],
)
def test_malformed_columns_give_the_default_and_keep_the_rest(
    tmp_path: Path, columns: object
) -> None:
    path = tmp_path / "ui.json"
    path.write_text(json.dumps({"layout": "stacked", "columns": columns}))
    assert UiStateFile(path).load() == UiState(layout="stacked")
