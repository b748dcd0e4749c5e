"""What the dashboard remembers between runs: its layout, panes and columns.

A small JSON object in ``<state dir>/ui.json`` (``$XDG_STATE_HOME/sesstui``).
Reading never fails: a missing, unreadable or corrupt file, or a value of the
wrong type, gives the default for that key (it is a preference, not data).
Writing is atomic (temp file, replace) and a failure is returned, not raised.

Headless: the standard library only.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from core.paths import state_dir

ColumnsSaved = dict[str, list[str]]
"""One view's columns as saved: ``{"order": [keys], "hidden": [keys]}``."""

__all__ = ["LAYOUTS", "ColumnsSaved", "UiState", "UiStateFile"]

LAYOUTS: tuple[str, ...] = ("auto", "side", "stacked")
"""``auto``: details and log side by side from ``STACK_BELOW`` columns, stacked
below; ``side``: always side by side; ``stacked``: the log full width under the
table, the details in its place on a key."""


@dataclass(frozen=True, slots=True)
class UiState:
    """The dashboard's remembered preferences."""

    layout: str = "auto"
    side_details: bool = True  # side by side: the details pane next to the log
    stacked_details: bool = False  # stacked: the details pane in the log's place
    stats: bool = False  # the stats column shown
    # the column chooser's choice per view (":runs", ":docker"; "" the default view)
    columns: dict[str, ColumnsSaved] = field(default_factory=dict)

    def with_columns(self, view: str, order: list[str], hidden: list[str]) -> UiState:
        """This state with ``view``'s columns set (its order, the keys hidden)."""
        saved: ColumnsSaved = {"order": list(order), "hidden": list(hidden)}
        return replace(self, columns={**self.columns, view: saved})


def _columns(raw: object) -> dict[str, ColumnsSaved] | None:
    """The saved columns of ``raw`` when well formed (views -> lists of
    strings), else None; what the keys mean is the UI's to check."""
    if not isinstance(raw, dict):
        return None
    out: dict[str, ColumnsSaved] = {}
    for view, saved in raw.items():
        if not isinstance(saved, dict):
            return None
        order, hidden = saved.get("order"), saved.get("hidden")
        lists = (order, hidden)
        if not all(isinstance(v, list) and all(isinstance(k, str) for k in v) for v in lists):
            return None
        out[str(view)] = {"order": list(order), "hidden": list(hidden)}  # type: ignore[arg-type]
    return out


class UiStateFile:
    """Load and save a :class:`UiState` at ``path`` (default ``<state dir>/ui.json``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / "ui.json"

    def load(self) -> UiState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return UiState()  # no file yet, or not ours to trust: the defaults
        if not isinstance(raw, dict):
            return UiState()
        state = UiState()
        for f in fields(UiState):
            value = raw.get(f.name)
            if f.name == "columns":
                columns = _columns(value)
                if columns is not None:
                    state = replace(state, columns=columns)
                continue
            default = getattr(state, f.name)
            if isinstance(value, type(default)) and (f.name != "layout" or value in LAYOUTS):
                state = replace(state, **{f.name: value})
        return state

    def save(self, state: UiState) -> str | None:
        """Write ``state``; the reason when it could not be written, else None."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".ui.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(asdict(state), out, indent=1, sort_keys=True)
                Path(tmp).replace(self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            return f"cannot save the layout to {self.path}: {exc.strerror or exc}"
        return None
