"""End to end: a real redis-server whose password holds ``#``, ``@``, ``%``,
spaces, quotes and unicode; every output of the CLI and the dashboard is
searched for it (raw, percent-encoded, JSON-escaped, repr'd).

The password is percent-encoded in the URL, as a user writes it; the wrong-
password variant comes through ``${REDIS_URL}``.  Outputs searched: stdout and
stderr of ``ls --json``, ``config show``, ``config check``, ``extend``,
``expire``, the journal and every other file the CLI leaves in its state,
config and data dirs, and the dashboard's screen (Pilot).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from core.config import load_config
from core.kv.manager import SessionManager
from core.kv.providers import RedisProvider
from core.redaction import forget_secrets
from tests.helpers import run_cli
from tests.pilot_helpers import dash, wait_until
from tests.redis_fixtures import RedisServer, _server_or_skip, close_server
from tui.app import SesstuiApp

pytestmark = pytest.mark.redis

PASSWORD = "Zq#7@k %41 \"x' ü✓ rd:/9"
WRONG = "Wr0ng#@ ü %zz 'y"
TOKEN = "tok-3f9a77c2e1"  # a secret the producer put into the session's metadata
SECRET_META = {"api_token": TOKEN, "team": "data"}


def forms(secret: str) -> list[str]:
    """Every shape the secret could leak in, and its distinctive pieces (the
    screen is searched piece by piece: styles may split a line into runs)."""
    whole = [
        secret,
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    ]
    return whole + [p for p in secret.split() if len(p) >= 3]


def assert_clean(text: str, where: str, *secrets: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            at = text.find(form)
            assert at == -1, f"{form!r} leaked in {where}: ...{text[max(0, at - 200) : at + 200]}"


@pytest.fixture
def protected_redis() -> Iterator[RedisServer]:
    server = _server_or_skip()
    server.client().config_set("requirepass", PASSWORD)
    server.password = PASSWORD  # the fixture's own client authenticates from now on
    yield server
    close_server(server)


def url(server: RedisServer, password: str) -> str:
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{server.port}/0"


def write_config(path: Path, redis_url: str) -> Path:
    path.write_text(
        "backends:\n"
        "  - name: web\n"
        "    kind: kv\n"
        "    provider: redis\n"
        f"    url: '{redis_url}'\n"
        "    connect_timeout: 2\n"
        "    socket_timeout: 2\n"
    )
    return path


def test_the_password_never_shows(protected_redis: RedisServer, tmp_path: Path) -> None:
    forget_secrets()  # this process must not hide what a subprocess would leak
    good = url(protected_redis, PASSWORD)
    manager = SessionManager("tenant", provider=RedisProvider(good))
    sid = asyncio.run(manager.allocate_session(user_id="bob", custom_metadata=SECRET_META))
    forget_secrets()
    state = tmp_path / "state"
    env = {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(state),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "REDIS_URL": url(protected_redis, WRONG),
    }
    cfg = str(write_config(tmp_path / "good.yml", good))
    bad = tmp_path / "bad.yml"
    bad.write_text(write_config(bad, "x").read_text().replace("'x'", "${REDIS_URL}"))

    outputs: dict[str, str] = {}

    def run(name: str, *args: str, rc: int | None = 0) -> str:
        done = run_cli(*args, env=env)
        outputs[f"{name} stdout"] = done.stdout
        outputs[f"{name} stderr"] = done.stderr
        if rc is not None:
            assert done.returncode == rc, f"{name}: {done.returncode}\n{done.stderr}"
        return done.stdout + done.stderr

    listing = json.loads(run("ls", "--config", cfg, "ls", "--json").split("\n\n")[0] or "{}")
    text = json.dumps(listing)
    assert sid in text  # authenticated: the session is there
    assert '"meta.team": "data"' in text and '"meta.api_token": "***"' in text
    assert f"redis://:***@127.0.0.1:{protected_redis.port}/0" in text  # the endpoint, redacted
    shown = run("config show", "--config", cfg, "config", "show")
    assert f"redis://:***@127.0.0.1:{protected_redis.port}/0" in shown
    assert "ok:" in run("config check", "--config", cfg, "config", "check")
    assert "extended" in run("extend", "--config", cfg, "extend", f"web:{sid}", "--ttl", "10m")
    assert "expired" in run("expire", "--config", cfg, "expire", f"web:{sid}", "--yes")
    wrong = run("wrong ls", "--config", str(bad), "ls", "--json", rc=None)
    assert "wrong password" in wrong  # the error path ran, and says what is wrong
    wrong_extend = run("wrong extend", "--config", str(bad), "extend", "web:x", "--ttl", "1m", rc=3)
    assert "wrong password" in wrong_extend

    for name, out in outputs.items():
        assert_clean(out, name, PASSWORD, WRONG, TOKEN)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".yml"]
    journal = state / "sesstui" / "journal.jsonl"
    assert journal in files and sid in journal.read_text()  # the actions were journaled
    for path in files:
        assert_clean(path.read_text(errors="replace"), str(path), PASSWORD, WRONG, TOKEN)


def screen_text(app: SesstuiApp) -> str:
    svg = app.export_screenshot()
    svg = svg[svg.find("</style>") :]  # the screen, not the stylesheet
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


@pytest.mark.parametrize("which", ["good", "wrong"])
async def test_the_dashboard_never_shows_it(
    protected_redis: RedisServer, tmp_path: Path, which: str
) -> None:
    forget_secrets()
    password = PASSWORD if which == "good" else WRONG
    cfg = load_config(write_config(tmp_path / "c.yml", url(protected_redis, password)), env={})
    if which == "good":
        provider = RedisProvider(url(protected_redis, PASSWORD))
        manager = SessionManager("tenant", provider=provider)
        await manager.allocate_session(user_id="bob", custom_metadata=SECRET_META)
        await provider.close()
    forget_secrets()  # only the backend under test may remember the secret
    app = SesstuiApp(cfg)
    async with app.run_test(size=(160, 100)) as pilot:  # tall: the details in full
        board = dash(pilot)
        if which == "good":
            await wait_until(pilot, lambda: len(board.table.shown) == 1, "the session row")
            board.table.move_cursor(row=0)
            await wait_until(pilot, lambda: "meta.team" in screen_text(app), "the details")
        else:
            await wait_until(pilot, lambda: "wrong password" in screen_text(app), "the reason")
        await pilot.pause()
        text = screen_text(app)
        assert "web" in text
        assert_clean(text, f"the dashboard ({which})", PASSWORD, WRONG, TOKEN)
