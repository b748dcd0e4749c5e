"""`sesstui extend` and `sesstui expire` as a user runs them: real subprocesses
against a real redis-server (the memory store does not outlive a process)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.kv.manager import parse_iso
from tests.helpers import kv_record, make_session, run_cli
from tests.redis_fixtures import RedisServer, redis_db, redis_server

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name

pytestmark = pytest.mark.redis

# Redis counts TTLs down in real time: a TTL read back is at most what was
# set and at most this much (seconds) less (a bound, not a timing)
SLACK = 60


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    return {"HOME": str(isolated_home), "XDG_CONFIG_HOME": str(isolated_home / ".config"),
            "XDG_DATA_HOME": str(isolated_home / ".local/share")}  # fmt: skip


@pytest.fixture
def config(tmp_path: Path, redis_db: RedisServer) -> Path:
    """A kv backend `web` on the test's redis-server and a dirs backend `runs`."""
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        "backends:\n"
        "  - name: web\n"
        "    kind: kv\n"
        "    provider: redis\n"
        f"    url: {redis_db.url}\n"
        "  - name: runs\n"
        "    kind: dirs\n"
        f"    base: {tmp_path / 'runs'}\n"
    )
    (tmp_path / "runs").mkdir()
    return cfg


def expires_at(redis_db: RedisServer, sid: str) -> timedelta:
    """The record's ``expires_at`` as an offset from its ``created_at``."""
    raw = redis_db.client().get(f"session:{sid}")
    assert raw is not None
    data = json.loads(raw)
    created, expires = parse_iso(data["created_at"]), parse_iso(data["expires_at"])
    assert created is not None and expires is not None
    return expires - created


def test_extend_sets_the_key_ttl_and_expires_at(
    config: Path, env: dict[str, str], redis_db: RedisServer
) -> None:
    r = redis_db.client()
    r.set("session:s1", kv_record("s1", ttl=60), ex=60)
    before = expires_at(redis_db, "s1")
    done = run_cli("--config", str(config), "extend", "web:s1", "--ttl", "2h", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "extended web:s1: expires in 2h"
    assert 7200_000 - SLACK * 1000 < r.pttl("session:s1") <= 7200_000
    # expires_at moved with the TTL (from 1 min to 2 h after now), the rest kept
    assert expires_at(redis_db, "s1") - before > timedelta(hours=1)
    assert json.loads(r.get("session:s1") or b"")["custom_metadata"] == {"role": "admin"}

    # a bare id is found across the backends
    done = run_cli("--config", str(config), "extend", "s1", "--ttl", "30m", env=env)
    assert done.returncode == 0, done.stderr
    assert 1800_000 - SLACK * 1000 < r.pttl("session:s1") <= 1800_000


def test_expire_removes_the_record_only_when_confirmed(
    config: Path, env: dict[str, str], redis_db: RedisServer
) -> None:
    r = redis_db.client()
    for sid in ("s1", "s2"):
        r.set(f"session:{sid}", kv_record(sid), ex=600)
    refused = run_cli("--config", str(config), "expire", "web:s1", env=env, input_text="")
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert r.exists("session:s1") == 1
    done = run_cli("--config", str(config), "expire", "web:s1", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "expired web:s1"
    assert r.exists("session:s1") == 0
    assert r.exists("session:s2") == 1  # only the one named


def test_extend_and_expire_errors_exit_non_zero_and_say_why(
    config: Path, env: dict[str, str], redis_db: RedisServer, tmp_path: Path
) -> None:
    r = redis_db.client()
    r.set("session:junk", "not a record", ex=600)
    run = make_session(tmp_path / "runs")
    cases = [
        # (argv, exit code, words the message must have)
        (["extend", "web:nope", "--ttl", "1h"], 4, ["'nope'", "may have expired"]),
        (["expire", "web:nope", "--yes"], 4, ["'nope'", "may have expired"]),
        (["extend", "nope", "--ttl", "1h"], 4, ["'nope'", "sesstui ls"]),
        (["extend", f"runs:{run.name}", "--ttl", "1h"], 2, ["cannot extend", "no TTL", "stop"]),
        (["expire", f"runs:{run.name}", "--yes"], 2, ["cannot expire", "no TTL", "delete"]),
        (["extend", "web:junk", "--ttl", "1h"], 1, ["junk", "not a valid session record"]),
        (["extend", "web:junk", "--ttl", "0"], 2, ["sesstui expire"]),
        (["extend", "web:junk", "--ttl", "soon"], 2, ["'soon'"]),
    ]
    for argv, code, words in cases:
        done = run_cli("--config", str(config), *argv, env=env)
        assert done.returncode == code, (argv, done.returncode, done.stderr)
        assert done.stderr.startswith("sesstui: "), (argv, done.stderr)
        for word in words:
            assert word in done.stderr, (argv, word, done.stderr)
        assert done.stdout == "", (argv, done.stdout)
    assert r.get("session:junk") == b"not a record"
    assert run.is_dir()
