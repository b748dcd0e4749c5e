"""The programs the live benches start in a real terminal (a tmux pane), from the clean venv.

python -m bench._apps sesstui CONFIG [--kv NAME:N]   sesstui's dashboard, as `sesstui --config`
python -m bench._apps plain CONFIG [--kv NAME:N]     a plain Textual DataTable app, same rows
python -m bench._apps empty                          an empty Textual app (first-screen baseline)

``--kv NAME:N`` first fills the in-memory KV store of backend NAME with N sessions (the
memory provider lives in the app's own process, so it is filled there, before the app starts,
in a ``MemoryStores`` that the program hands to the app's inventory).
Each program then writes ``time.monotonic()`` (one clock for every process on Linux) to the
file named by ``SESSTUI_BENCH_MARK``: the moment the app itself starts, after any filling, so
first-screen times compare the apps and not the set-up.  The sesstui mode goes through
``tui.cli.main``, exactly what the ``sesstui`` command runs, so it works with any dashboard;
with ``--kv`` it builds the app as ``tui.cli`` does, given an inventory over the filled stores.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.kv.providers import MemoryStores

EMPTY_MARK = "empty-app-ready"
KV_ID = "bench-{:06d}"
KV_PATTERN = r"bench-\d{3}"  # lenient: a narrow Name column may cut ids short
COLUMNS = ("Backend", "Name", "State", "Age", "Active", "Size", "TTL", "Info")


def fill_kv(name: str, count: int) -> MemoryStores:
    from core.kv.providers import MemoryStores

    stores = MemoryStores()
    store = stores.store(name)
    now = datetime.now(UTC)
    for i in range(count):
        sid = KV_ID.format(i)
        ttl = 6 * 3600 + i  # all different, all ticking
        value = {
            "session_id": sid,
            "sandbox_id": f"app-{i % 7}",
            "user_id": f"user{i % 977}",
            "created_at": (now - timedelta(minutes=i % 600)).isoformat(),
            "expires_at": (now + timedelta(seconds=ttl)).isoformat(),
            "last_accessed": (now - timedelta(seconds=i % 3600)).isoformat(),
            "status": "active",
            "custom_metadata": {"role": "member", "n": i},
        }
        store.setex(f"session:{sid}", ttl, json.dumps(value))
    return stores


def _mark() -> None:
    path = os.environ.get("SESSTUI_BENCH_MARK")
    if path:
        with open(path, "w") as f:
            f.write(repr(time.monotonic()))


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    seconds = int((now - when).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plain_rows(config_path: str, stores: MemoryStores | None) -> list[tuple[str, ...]]:
    """The dashboard's rows as plain strings, from one listing of the same configuration."""
    from core.config import load_config
    from core.inventory import Inventory

    inventory = Inventory.from_config(load_config(config_path), journal=False, memory=stores)
    try:
        snapshot = inventory.refresh()
        sizes = dict(inventory.measure(inventory.measurable(snapshot.sessions)))
    finally:
        inventory.close()
    now = datetime.now().astimezone()
    rows: list[tuple[str, ...]] = []
    for s in snapshot.sessions:
        size = sizes.get(s.ref)
        rows.append(
            (
                s.ref.backend,
                s.name,
                s.state.value,
                _ago(s.created, now),
                _ago(s.last_active, now),
                f"{size.apparent / 1024:.1f} KiB" if size is not None else "-",
                _ago(now, s.expires) if s.expires is not None else "-",
                s.info,
            )
        )
    return rows


def run_plain(rows: list[tuple[str, ...]]) -> None:
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import DataTable

    class Plain(App[None]):
        BINDINGS = [Binding("j", "down", "Down"), Binding("k", "up", "Up")]  # noqa: RUF012

        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns(*COLUMNS)
            table.add_rows(rows)
            table.focus()

        def action_down(self) -> None:
            self.query_one(DataTable).action_cursor_down()

        def action_up(self) -> None:
            self.query_one(DataTable).action_cursor_up()

    Plain().run()


def run_empty() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(EMPTY_MARK)

    Empty().run()


def run_sesstui_with(config_path: str, stores: MemoryStores) -> int:
    """The dashboard as ``sesstui --config`` starts it, its inventory over
    ``stores`` (the memory KV the bench filled in this process)."""
    from core.config import load_config
    from core.inventory import Inventory
    from tui.app import SesstuiApp

    config = load_config(config_path)
    app = SesstuiApp(config, inventory=Inventory.from_config(config, source="tui", memory=stores))
    _mark()
    app.run()
    return app.return_code or 0


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    stores = None
    if "--kv" in rest:
        i = rest.index("--kv")
        name, count = rest[i + 1].split(":")
        del rest[i : i + 2]
        stores = fill_kv(name, int(count))
    if mode == "empty":
        _mark()
        run_empty()
        return 0
    if mode == "plain":
        rows = plain_rows(rest[0], stores)
        _mark()  # the listing is set-up here: the plain app is given its rows
        run_plain(rows)
        return 0
    if mode == "sesstui" and stores is not None:
        return run_sesstui_with(rest[0], stores)
    if mode == "sesstui":
        from tui.cli import main as sesstui_main

        _mark()
        return sesstui_main(["--config", rest[0]])
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
