"""The inspect screen in a real terminal (tmux, 80x24): `i`, then a search typed
in one burst with `/` (as over SSH), then n, esc, esc."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tui_inspect import write_chat
from tests.tmux_fixtures import Terminal, need_tmux

pytestmark = pytest.mark.tmux


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    t = Terminal(need_tmux(), "sesstui-e2e-inspect")
    try:
        yield t
    finally:
        t.kill()


def test_inspect_search_typed_in_one_burst(terminal: Terminal, tmp_path: Path) -> None:
    base = tmp_path / "agents"
    write_chat(base)
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: js, kind: json, base: '{base}'}}\n")
    home = tmp_path / "home"
    root = Path(__file__).resolve().parent.parent
    terminal.start(
        f"cd {root} && HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config "
        f"{sys.executable} -m tui.cli --config {cfg}"
    )
    terminal.wait_for("chat1")
    terminal.keys("i")
    terminal.wait_for("js:chat1 · json ·")
    terminal.keys("/", "l", "o", "o", "k", "u", "p", "Enter")  # one send-keys: one burst
    terminal.wait_for("match 1/3")
    terminal.wait_for("tool call 1: lookup")  # scrolled to the first match (below the fold)
    terminal.keys("n")
    terminal.wait_for("match 2/3")
    terminal.keys("Escape")
    terminal.wait_for("Sessions")  # back on the dashboard
