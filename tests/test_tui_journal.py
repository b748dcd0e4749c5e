"""JournalScreen: Pilot tests on a real journal file written by real actions,
and snapshots (frozen clock, fixed entries) at 80x24 and 120x40."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from core.config.records import AppConfig
from core.dirs.backend import DirsBackend
from core.inventory import Inventory
from core.journal import Journal
from core.model import SessionRef
from tests.fakes import FROZEN, frozen_clock
from tests.helpers import dirs_config, make_session
from tests.pilot_helpers import steady, wait_until
from tui.screens.journal import JournalScreen
from tui.themes import VARIABLE_DEFAULTS, bundled_themes

SIZES = [(80, 24), (120, 40)]
SnapCompare = Callable[..., bool]


class Host(App[int]):
    """A bare app with sesstui's themes that opens the journal screen."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime] = frozen_clock) -> None:
        super().__init__()
        self.journal = journal
        self.clock = clock
        for t in bundled_themes():
            self.register_theme(t)
        self.theme = "sesstui-dark"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self.push_screen(JournalScreen(self.journal, self.clock))


def screen_of(pilot: Pilot[int]) -> JournalScreen:
    screen = pilot.app.screen
    assert isinstance(screen, JournalScreen)
    return screen


def colour_of(cell: Text) -> str | None:
    style = cell.style
    assert isinstance(style, Style)
    colour = style.color
    return colour.triplet.hex if colour is not None and colour.triplet is not None else None


def text_of(screen: JournalScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def real_journal(tmp_path: Path) -> tuple[Journal, Inventory, Path]:
    """A journal with a delete, then a prune, done by a real dirs inventory."""
    base = tmp_path / "runs"
    base.mkdir()
    cfg = dirs_config(base)
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    inv = Inventory(
        [DirsBackend(cfg)], config=AppConfig(backends=(cfg,)), journal=journal, source="tui"
    )
    doomed = make_session(base)
    make_session(base, age=timedelta(days=30))
    inv.execute(inv.plan_delete([SessionRef("runs", doomed.name)]), action="delete")
    inv.execute(inv.plan_prune())
    return journal, inv, base


async def test_rows_newest_first_command_shown_copy_reload_and_back(tmp_path: Path) -> None:
    journal, inv, base = real_journal(tmp_path)
    delete, prune = journal.read().entries
    app = Host(journal, clock=lambda: datetime.now().astimezone())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await wait_until(pilot, lambda: screen.loaded, "the journal read")
        table = screen.table
        assert table.row_count == 2
        assert screen.selected == prune  # the newest on top, highlighted
        assert text_of(screen, "#journal-command") == f"$ {prune.command}"
        assert "removed 1" in text_of(screen, "#journal-detail")
        assert "tui" in text_of(screen, "#journal-detail")
        assert table.max_scroll_x == 0  # every column fits 80 columns

        await pilot.press("down")
        assert screen.selected == delete
        assert text_of(screen, "#journal-command") == f"$ {delete.command}"
        await pilot.press("y")
        assert app.clipboard == delete.command
        await wait_until(pilot, lambda: bool(app._notifications), "the copied notice")

        # a new action, then r: it appears on top; the cursor stays on its entry
        later = make_session(base, age=timedelta(days=40))
        inv.execute(inv.plan_prune())
        assert not later.exists()
        await pilot.press("r")
        await wait_until(pilot, lambda: table.row_count == 3, "the new entry")
        assert screen.selected == delete
        newest = journal.read().entries[-1]
        top = table.coordinate_to_cell_key(table.cursor_coordinate._replace(row=0)).row_key
        assert screen.entries[str(top.value)] == newest

        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, JournalScreen), "back")


async def test_q_goes_back_too(tmp_path: Path) -> None:
    journal, _, _ = real_journal(tmp_path)
    app = Host(journal)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: screen_of(pilot).loaded, "the journal read")
        await pilot.press("q")
        await wait_until(pilot, lambda: not isinstance(app.screen, JournalScreen), "back")


async def test_corrupt_lines_are_named_and_the_rest_shown(tmp_path: Path) -> None:
    journal, _, _ = real_journal(tmp_path)
    with journal.path.open("a") as f:
        f.write("{torn\n")
    app = Host(journal)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await wait_until(pilot, lambda: screen.loaded, "the journal read")
        assert screen.table.row_count == 2
        box = screen.query_one("#journal-problems", Static)
        assert box.display
        assert text_of(screen, "#journal-problems") == ("⚠ journal.jsonl:3: skipped a corrupt line")


async def test_empty_and_unreadable_journals(tmp_path: Path) -> None:
    missing = Journal(tmp_path / "none" / "journal.jsonl")
    app = Host(missing)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await wait_until(pilot, lambda: screen.loaded, "the journal read")
        assert screen.table.row_count == 0
        assert text_of(screen, "#journal-command") == "No actions recorded yet."
        await pilot.press("y")
        assert app.clipboard == ""  # nothing copied
    folder = tmp_path / "journal.jsonl"
    folder.mkdir()
    app = Host(Journal(folder))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await wait_until(pilot, lambda: screen.loaded, "the journal read")
        box = screen.query_one("#journal-problems", Static)
        assert box.display and box.has_class("-error")
        assert "cannot read the journal" in text_of(screen, "#journal-problems")


async def test_results_are_coloured_by_theme_variables(tmp_path: Path) -> None:
    times = iter([FROZEN - timedelta(minutes=3), FROZEN - timedelta(minutes=2)])
    journal = Journal(tmp_path / "journal.jsonl", clock=lambda: next(times))
    journal.record("stop", "work:a", "ok")
    journal.record("stop", "work:b", "failed")
    app = Host(journal)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await wait_until(pilot, lambda: screen.table.row_count == 2, "two rows")
        table = screen.table
        failed = table.get_cell_at(table.cursor_coordinate._replace(row=0, column=3))
        ok = table.get_cell_at(table.cursor_coordinate._replace(row=1, column=3))
        variables = app.theme_variables
        assert str(failed) == "failed" and str(ok) == "ok"
        assert colour_of(failed) == variables["error"].lower()
        assert colour_of(ok) == variables["success"].lower()
        when = table.get_cell_at(table.cursor_coordinate._replace(row=0, column=0))
        assert str(when).strip() == "2m ago 14:28:00"


# -- snapshots --------------------------------------------------------------------


def fixed_journal(path: Path) -> Journal:
    """Entries with fixed times, pid and user, relative to the frozen clock."""
    rows = [
        (60 * 24 * 3, "start", "bot", "ok", "started work:bot", "tui", "sesstui start bot"),
        (
            60 * 5,
            "prune",
            ["runs:session_2026-11-21-09-00-00_4242_0f3a", "runs:b", "runs:c", "runs:d"],
            "partial",
            "removed 3, freed 12 MiB; 1 failed: runs:d: Permission denied",
            "cli",
            "sesstui prune --backend runs --yes",
        ),
        (42, "extend", "web:sess-alice-1763-1a2b3c4d", "ok", "expires in 2h", "tui",
         "sesstui extend web:sess-alice-1763-1a2b3c4d --ttl 2h"),
        (5, "stop", "work:bot", "failed", "tmux: no server running", "tui",
         "sesstui --config /home/me/.config/sesstui/config.yml stop work:bot --timeout 10"),
        (1, "attach", "work:main", "ok", "", "cli", "sesstui attach work:main"),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for minutes, action, target, result, detail, source, command in rows:
            doc = {
                "time": (FROZEN - timedelta(minutes=minutes)).isoformat(timespec="seconds"),
                "action": action,
                "target": target,
                "result": result,
                "detail": detail,
                "source": source,
                "command": command,
                "user": "alice",
                "pid": 4242,
            }
            f.write(json.dumps(doc) + "\n")
    return Journal(path)


async def settle(pilot: Pilot[int]) -> None:
    await wait_until(pilot, lambda: screen_of(pilot).loaded, "the journal read")
    await pilot.pause(0.05)
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_journal_screen(snap_compare: SnapCompare, size: tuple[int, int], tmp_path: Path) -> None:
    app = Host(fixed_journal(tmp_path / "journal.jsonl"))
    assert snap_compare(app, terminal_size=size, run_before=settle)
