"""Rough edges from #13's hands-on run: `config check` catches an unknown
`ui.theme` and a broken user theme (file:line), a huge TTL is a clear error
(CLI, core, the `e` dialog), expiring a session without a TTL says expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config.records import AppConfig, UIConfig
from core.dirs.backend import DirsBackend
from core.durations import MAX_DAYS, parse_duration
from core.errors import ActionNotSupported, UsageError
from core.inventory import Inventory
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager
from core.kv.providers import MemoryProvider, MemoryStore, MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import SessionRef
from tests.helpers import ManualClock, dirs_config, make_session, run_cli, unique
from tests.pilot_helpers import dash, wait_until
from tui.app import SesstuiApp
from tui.screens.extend import ExtendScreen

# ------------------------------------------------------------ config check / themes


RUNS = "backends:\n  - {name: runs, kind: dirs, base: /tmp/sesstui-check-runs}\n"


def check(tmp_path: Path, text: str) -> tuple[int, str, str]:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(text)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    r = run_cli("--config", str(cfg), "config", "check", env=env)
    return r.returncode, r.stdout, r.stderr


def test_config_check_refuses_an_unknown_theme_with_its_line(tmp_path: Path) -> None:
    code, _out, err = check(tmp_path, f"{RUNS}ui:\n  refresh_seconds: 2\n  theme: nope\n")
    assert code == 2
    assert f"{tmp_path / 'sesstui.yml'}:5: ui.theme: unknown theme 'nope'" in err
    assert "sesstui-dark" in err  # the known ones are listed


def test_config_check_refuses_a_broken_user_theme(tmp_path: Path) -> None:
    themes = tmp_path / "xdg" / "sesstui" / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.yml").write_text("name: mine\nprimary: '#ffffff'\n")
    code, out, err = check(tmp_path, f"{RUNS}ui: {{theme: mine}}\n")
    assert code == 0, err
    assert "theme mine" in out  # a good user theme is a known theme
    (themes / "broken.yml").write_text("name: broken\nprimary: '#fff'\nwarning: notacolour\n")
    code, _out, err = check(tmp_path, f"{RUNS}ui: {{theme: mine}}\n")
    assert code == 2
    assert f"{themes / 'broken.yml'}:3: warning:" in err


# ------------------------------------------------------------ durations


def test_a_huge_duration_is_a_clear_error_not_an_overflow() -> None:
    with pytest.raises(UsageError, match=r"'99999999d' is too long: .* at most 36500d"):
        parse_duration("99999999d")
    with pytest.raises(UsageError, match="too long"):
        parse_duration("9" * 400)  # beyond any float: too long, never inf seconds
    assert parse_duration(f"{MAX_DAYS}d") == timedelta(days=MAX_DAYS)


async def kv_session() -> tuple[str, MemoryStore, ManualClock, SessionManager, str]:
    """A memory store on a clock of the test's with one session (a TTL of 1 h)."""
    name = f"edge-{unique()}"
    clock = ManualClock(datetime.now(UTC))
    store = MemoryStore(name, clock=clock)
    mgr = SessionManager("app", provider=MemoryProvider(store), clock=clock)
    return name, store, clock, mgr, await mgr.allocate_session("ann", ttl_hours=1)


async def test_the_longest_ttl_extends_a_kv_session_without_overflow() -> None:
    name, store, clock, _mgr, sid = await kv_session()
    stores = MemoryStores(store)
    backend = KvBackend(KvBackendConfig(name=name, kind="kv"), clock=clock, stores=stores)
    Inventory([backend]).extend(SessionRef(name, sid), parse_duration(f"{MAX_DAYS}d"))
    assert backend.get(sid).expires == clock.now + timedelta(days=MAX_DAYS)
    store.clear()


def test_cli_extend_with_a_huge_ttl_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text("backends:\n  - {name: web, kind: kv, provider: memory}\n")
    r = run_cli("--config", str(cfg), "extend", "web:x", "--ttl", "99999999d")
    assert r.returncode == 2 and "too long" in r.stderr and "Traceback" not in r.stderr


async def test_the_ttl_dialog_says_too_long_and_stays_open() -> None:
    name, store, _clock, mgr, sid = await kv_session()
    cfg = AppConfig(
        backends=(KvBackendConfig(name=name, kind="kv", provider="memory"),),
        ui=UIConfig(refresh_seconds=0.3),
    )
    inventory = Inventory.from_config(cfg, source="tui", memory=MemoryStores(store))
    app = SesstuiApp(cfg, inventory=inventory)
    async with app.run_test(size=(100, 30)) as pilot:
        t = dash(pilot).table
        await wait_until(pilot, lambda: len(t.shown) == 1, "the row")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExtendScreen), "the TTL dialog")
        await pilot.press(*"99999999d", "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ExtendScreen)  # still open, with the reason
        error = str(app.screen.query_one("#extend-error").render())
        assert "too long" in error and "36500d" in error
    before = await mgr.get_session_info(sid)
    assert before is not None and before["expires_at"]  # untouched
    store.clear()


# ------------------------------------------------------------ expire without TTLs


def test_expire_on_a_backend_without_ttls_says_expire(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    path = make_session(base)
    inv = Inventory([DirsBackend(dirs_config(base))])
    ref = SessionRef("runs", path.name)
    with pytest.raises(ActionNotSupported) as err:
        inv.extend(ref, timedelta(0))
    assert err.value.message.startswith(f"cannot expire {ref}: dirs sessions have no TTL")
    with pytest.raises(ActionNotSupported, match=f"cannot extend {ref}"):
        inv.extend(ref, timedelta(hours=1))
    assert path.is_dir()
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: runs, kind: dirs, base: '{base}'}}\n")
    r = run_cli("--config", str(cfg), "expire", f"runs:{path.name}", "--yes")
    assert r.returncode == 2
    assert "cannot expire" in r.stderr and "cannot extend" not in r.stderr
