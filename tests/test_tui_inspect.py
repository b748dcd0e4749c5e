"""The inspect screen (`i`): Pilot against a real JSON store (search, n/N,
esc), and snapshots at 80x24 and 120x40 over the sample data, frozen clock."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.config.records import AppConfig
from core.inspection import Section
from core.inventory import Inventory
from core.jsonstore.schema import JsonBackendConfig
from core.model import State
from tests.fakes import StaticRecordsBackend, frozen_clock, sample_backends, sample_config
from tests.pilot_helpers import dash, steady, wait_until
from tui.app import SesstuiApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.inspect import InspectScreen

SIZES = [(80, 24), (120, 40)]
SnapCompare = Callable[..., bool]


# ------------------------------------------------------------------ behaviour


def write_chat(base: Path) -> None:
    base.mkdir(parents=True)
    turns = [
        {
            "turn_id": f"t{n}",
            "agent_id": "helper",
            "prompt": f"question {n}",
            "response_content": f"answer {n}",
            "tool_calls": [{"call_id": f"c{n}", "tool_name": "lookup", "arguments": {"q": n}}],
            "status": "success",
        }
        for n in range(1, 4)
    ]
    record = {
        "session_id": "chat1",
        "created_at": "2026-11-21T10:00:00+00:00",
        "updated_at": "2026-11-21T10:05:00+00:00",
        "agent_id": "helper",
        "turns": turns,
        "agent_transitions": [],
        "metadata": {"token": "t-secret"},
    }
    (base / "chat1.json").write_text(json.dumps(record))


async def open_inspect(pilot: Pilot[int], key: str) -> InspectScreen:
    t = dash(pilot).table
    await wait_until(pilot, lambda: key in t.shown, "the row")
    t.move_cursor(row=t.get_row_index(key))
    await pilot.press("i")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, InspectScreen), "inspect")
    screen = pilot.app.screen
    assert isinstance(screen, InspectScreen)
    await wait_until(pilot, lambda: screen.inspection is not None, "the record")
    return screen


def chat_app(base: Path) -> SesstuiApp:
    write_chat(base)
    return SesstuiApp(AppConfig(backends=(JsonBackendConfig(name="js", kind="json", base=base),)))


async def test_search_next_previous_and_esc(tmp_path: Path) -> None:
    app = chat_app(tmp_path / "agents")
    async with app.run_test(size=(100, 30)) as pilot:
        # following a JSON session's log keeps each Pilot key press waiting ~2 s
        await wait_until(pilot, lambda: "js:chat1" in dash(pilot).table.shown, "the row")
        await pilot.press("f")
        screen = await open_inspect(pilot, "js:chat1")
        text = screen.text.plain
        assert "tool call 1: lookup" in text and "answer 3" in text
        assert "t-secret" not in text and "token  ***" in text  # redacted by core
        await pilot.press("slash", *"lookup", "enter")
        assert len(screen.matches) == 3 and screen.current == 0
        first_row = screen.matches[0][0]
        assert screen.rows[first_row].text.strip() == "tool call 1: lookup"
        await pilot.press("n")
        assert screen.current == 1
        await pilot.press("N", "N")
        assert screen.current == 2  # wraps around
        # typing in the search box: q, n and N are text, not actions
        await pilot.press("slash", *"qnN")
        assert isinstance(app.screen, InspectScreen) and screen.current == 2
        await pilot.press("escape")  # closes the box
        assert isinstance(app.screen, InspectScreen)
        await pilot.press("slash", "enter")  # an empty search clears the highlights
        assert screen.pattern is None and not screen.matches
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_a_session_that_went_away_says_so(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    app = chat_app(base)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: "js:chat1" in t.shown, "the row")
        (base / "chat1.json").unlink()
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectScreen), "inspect")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await wait_until(pilot, lambda: bool(screen.error), "the error")
        assert "no session record" in screen.error


# ------------------------------------------------------------------ snapshots


class InspectableRecords(StaticRecordsBackend):
    """The sample JSON records, with a fixed record behind each (deterministic)."""

    def inspect_sections(self, session_id: str) -> list[Section]:
        session = self.get(session_id)
        turns = [
            Section.make(
                f"turn {n}",
                {
                    "turn_id": f"t{n}",
                    "agent_id": "triage",
                    "status": "success",
                    "prompt": f"customer asks about invoice {4400 + n}\nand a refund",
                    "response": f"invoice {4400 + n} was paid on 2026-11-0{n}",
                },
                children=[
                    Section.make(
                        "tool call 1: billing.lookup",
                        {
                            "call_id": f"c{n}",
                            "arguments": f'{{"invoice": {4400 + n}}}',
                            "result": '{"paid": true}',
                            "duration_ms": 41 + n,
                        },
                    )
                ],
            )
            for n in (1, 2, 3)
        ]
        return [
            Section.make(
                "record",
                {
                    "session_id": session.name,
                    "workspace_id": "support",
                    "agent_id": "triage",
                    "turns": 3,
                    "api_token": "never-shown",
                },
            ),
            *turns,
        ]


def make_app() -> SesstuiApp:
    config = sample_config()
    backends = [
        InspectableRecords(b.name, b.kind, b.list_sessions())
        if isinstance(b, StaticRecordsBackend) and b.kind == "json"
        else b
        for b in sample_backends(stores=True)
    ]
    inv = Inventory(backends, config=config)
    return SesstuiApp(config, inventory=inv, clock=frozen_clock, live=False)


def before(*keys: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run(pilot: Pilot[int]) -> None:
        app = pilot.app

        def settled() -> bool:
            screen = app.screen
            return (
                isinstance(screen, DashboardScreen)
                and not screen._refreshing
                and any(s.state is State.ACTIVE for s in screen.table.shown.values())
            )

        await wait_until(pilot, settled, "the first refresh", timeout=30)
        t = dash(pilot).table
        t.move_cursor(row=t.get_row_index("agents:support/chat-7f3a"))
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectScreen), "inspect")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await wait_until(pilot, lambda: screen.inspection is not None, "the record")
        for key in keys:
            await pilot.press(key)
        await steady(pilot)

    return run


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_inspect_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_inspect_screen_searching(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    keys = ("slash", *"invoice", "enter", "n")
    assert snap_compare(make_app(), terminal_size=size, run_before=before(*keys))
