"""The KV dashboard backend when Redis fails: killed mid-refresh, wrong or
missing passwords, servers that are not Redis or hang, nothing listening."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from core.errors import BackendUnavailable
from core.kv.backend import KvBackend
from core.model import HealthStatus
from tests.helpers import kv_record as record
from tests.kv_helpers import (
    PASSWORD,
    kv_config,
    setex,
)
from tests.redis_fixtures import (
    RedisServer,
    free_port,
    private_redis,
    redis_db,
    redis_server,
    redis_tls,
)

__all__ = ["private_redis", "redis_db", "redis_server", "redis_tls"]  # fixtures, used by name

pytestmark = pytest.mark.redis


# ---------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------


def test_killed_mid_refresh_then_recovers(private_redis: RedisServer) -> None:
    setex(private_redis.client(), "session:k", 600, record("k"))
    backend = KvBackend(private_redis.config())
    assert len(backend.list_sessions()) == 1
    private_redis.stop()
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert "refused" in err.value.message or "did not answer" in err.value.message
    health = backend.health()
    assert health.status is HealthStatus.UNAVAILABLE and health.reason == err.value.message
    private_redis.start()  # same port, empty
    setex(private_redis.client(), "session:k2", 600, record("k2"))
    assert [s.id for s in backend.list_sessions()] == ["k2"]
    assert backend.health().ok


def test_wrong_and_missing_password(private_redis: RedisServer) -> None:
    private_redis.client().config_set("requirepass", PASSWORD)
    url = f"redis://:wrong-{PASSWORD}@127.0.0.1:{private_redis.port}/0"
    backend = KvBackend(private_redis.config(url=url))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert "wrong password" in err.value.message
    assert PASSWORD not in err.value.message and PASSWORD not in backend.health().endpoint
    assert backend.health().endpoint == f"redis://:***@127.0.0.1:{private_redis.port}/0"
    no_auth = KvBackend(private_redis.config())
    with pytest.raises(BackendUnavailable, match="needs a password"):
        no_auth.list_sessions()
    good = KvBackend(
        private_redis.config(url=f"redis://:{PASSWORD}@127.0.0.1:{private_redis.port}")
    )
    assert good.list_sessions() == []
    assert PASSWORD not in good.health().endpoint


class _FakeServer:
    """A TCP listener that is not Redis: answers garbage, or nothing at all."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.recv(1024)
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[_FakeServer]:
    server = _FakeServer(request.param)
    yield server
    server.close()


@pytest.mark.parametrize(
    "fake_server",
    [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", None],
    ids=["http", "silent"],
    indirect=True,
)
def test_not_redis_or_hung_is_unavailable_in_time(fake_server: _FakeServer) -> None:
    cfg = kv_config(
        provider="redis",
        url=f"redis://:{PASSWORD}@127.0.0.1:{fake_server.port}/0",
        connect_timeout=0.5,
        socket_timeout=0.5,
    )
    backend = KvBackend(cfg)
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    text = err.value.message
    assert PASSWORD not in text
    if fake_server.reply is None:
        assert "did not answer within 0.5s" in text
    else:
        assert "does not speak Redis" in text or "cannot use Redis" in text


def test_nothing_listening_is_refused() -> None:
    cfg = kv_config(provider="redis", url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BackendUnavailable, match="refused"):
        KvBackend(cfg).list_sessions()


def test_bad_url_is_unavailable_not_a_crash() -> None:
    backend = KvBackend(kv_config(provider="redis", url=f"http://:{PASSWORD}@host/0"))
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert PASSWORD not in err.value.message
