"""A Redis URL that points at a server that is not Redis says so.

Real servers: Python's ``http.server`` on a free port, a TCP listener that
closes every connection at once, and a real redis-server (which must never be
called "not Redis").  Checked in the backend's health, in the producer API's
error and in ``sesstui ls --json`` / stderr.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import BackendUnavailable
from core.kv.backend import KvBackend
from core.kv.providers import RedisProvider, not_redis
from core.kv.schema import KvBackendConfig
from core.model import HealthStatus
from tests.helpers import run_cli
from tests.redis_fixtures import RedisServer, redis_db, redis_server

__all__ = ["redis_db", "redis_server"]  # fixtures, used by name


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        return None


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def closing_port() -> Iterator[int]:
    """Accepts every connection and closes it without a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield int(sock.getsockname()[1])
    sock.close()


def kv(url: str) -> KvBackendConfig:
    return KvBackendConfig(
        name="web", kind="kv", provider="redis", url=url, connect_timeout=2, socket_timeout=2
    )


def test_http_server_is_not_redis(http_port: int) -> None:
    backend = KvBackend(kv(f"redis://:pw-9f8e@127.0.0.1:{http_port}/0"))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert err.value.message.startswith(
        f"the server at redis://:***@127.0.0.1:{http_port}/0 does not speak Redis (it answered "
    )
    health = backend.health()
    assert health.status is HealthStatus.UNAVAILABLE and "does not speak Redis" in health.reason
    assert "pw-9f8e" not in health.reason


def test_producer_api_says_so_too(http_port: int) -> None:
    provider = RedisProvider(f"redis://127.0.0.1:{http_port}/0", connect_timeout=2)
    with pytest.raises(BackendUnavailable, match="does not speak Redis"):
        asyncio.run(provider.get("session:x"))


def test_a_server_that_hangs_up_is_not_redis(closing_port: int) -> None:
    backend = KvBackend(kv(f"redis://127.0.0.1:{closing_port}/0"))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert "does not speak Redis (it closed the connection without a Redis reply)" in str(err.value)


@pytest.mark.redis
def test_real_redis_is_redis(redis_db: RedisServer) -> None:
    assert not_redis(redis_db.url, 2.0) is None
    assert not_redis(redis_db.unix_url, 2.0) is None


def test_cli_ls_says_does_not_speak_redis(http_port: int, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        "backends:\n  - {name: web, kind: kv, provider: redis, "
        f"url: 'redis://127.0.0.1:{http_port}/0', connect_timeout: 2, socket_timeout: 2}}\n"
    )
    done = run_cli("--config", str(cfg), "ls", "--json")
    assert done.returncode != 0
    backends = json.loads(done.stdout)["backends"]
    assert backends[0]["status"] == "unavailable"
    assert "does not speak Redis" in backends[0]["reason"]
    assert "does not speak Redis" in done.stderr
