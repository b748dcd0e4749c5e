"""The CLI with real tmux servers: start, stop, and names across backends."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.tmux_fixtures import TmuxServer, need_tmux

pytestmark = pytest.mark.tmux


@pytest.fixture
def two_servers(isolated_home: Path) -> Iterator[tuple[TmuxServer, TmuxServer]]:
    a, b = TmuxServer(need_tmux()), TmuxServer(need_tmux())
    a.boot()
    b.boot()
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()


def config(tmp_path: Path, a: TmuxServer, b: TmuxServer) -> Path:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        "backends:\n"
        f"  - {{name: one, kind: tmux, socket_name: {a.socket}}}\n"
        f"  - {{name: two, kind: tmux, socket_name: {b.socket}}}\n"
        "sessions:\n"
        "  svc:\n"
        "    backend: one\n"
        f"    command: [{sys.executable}, -c, 'import time; time.sleep(600)']\n"
        "    stop_timeout: 2\n"
    )
    return cfg


def test_start_stop_and_ambiguous_names(
    two_servers: tuple[TmuxServer, TmuxServer], tmp_path: Path, isolated_home: Path
) -> None:
    a, b = two_servers
    cfg = config(tmp_path, a, b)
    env = {"HOME": str(isolated_home)}
    r = run_cli("--config", str(cfg), "start", "svc", env=env)
    assert r.returncode == 0, r.stderr
    assert "started one:svc" in r.stdout and a.has("svc")
    r = run_cli("--config", str(cfg), "start", "svc", env=env)
    assert r.returncode == 1 and "svc" in r.stderr  # already running
    r = run_cli("--config", str(cfg), "start", "nope", env=env)
    assert r.returncode == 4 and "specs: svc" in r.stderr

    # the same name on both servers: a bare name is refused, naming both backends
    b.run("new-session", "-d", "-s", "svc", "sleep 600")
    r = run_cli("--config", str(cfg), "stop", "svc", "--yes", env=env)
    assert r.returncode == 4
    assert "one, two" in r.stderr
    assert a.has("svc") and b.has("svc")

    # stop needs a confirmation without a terminal
    r = run_cli("--config", str(cfg), "stop", "one:svc", env=env)
    assert r.returncode == 2 and "--yes" in r.stderr
    r = run_cli("--config", str(cfg), "stop", "one:svc", "--yes", env=env)
    assert r.returncode == 0, r.stderr
    assert not a.has("svc") and b.has("svc")
    # exact names: "sv" is not "svc"
    r = run_cli("--config", str(cfg), "stop", "two:sv", "--yes", "--force", env=env)
    assert r.returncode == 4
    assert b.has("svc")


def test_ls_json_has_tmux_rows(two_servers: tuple[TmuxServer, TmuxServer], tmp_path: Path) -> None:
    a, b = two_servers
    a.new_session("job", tmp_path, "sleep 600")
    cfg = config(tmp_path, a, b)
    r = run_cli("--config", str(cfg), "ls", "--json", "--backend", "one")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)["sessions"]
    assert (row["backend"], row["kind"], row["id"], row["state"]) == (
        "one",
        "tmux",
        "job",
        "running",
    )
    assert row["attachable"] is True
    assert row["path"] == str(tmp_path)
    assert row["size_bytes"] is None
