"""Throwaway redis-server processes for the kv tests and benchmark.

A server listens on a free TCP port of 127.0.0.1 and on a unix socket under a
short ``/tmp/srd-*`` directory, with persistence off.  The port is picked by
binding port 0 first; a stopped server can be started again on the same port
(to test recovery).  Without ``redis-server`` on PATH the tests skip with the
reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from core.kv.schema import KvBackendConfig
from tests.helpers import unavailable

_BOOT_WAIT = 10.0


class ServerUnavailable(Exception):
    """No redis-server could be started; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """One redis-server process; :meth:`start` / :meth:`stop` may repeat."""

    binary: str
    workdir: Path
    port: int = field(default_factory=free_port)
    password: str | None = None
    tls_port: int | None = None  # also serve TLS there (cert in workdir)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        return self.workdir / "cert.pem"

    @property
    def tls_url(self) -> str:
        return f"rediss://127.0.0.1:{self.tls_port}/0"

    @property
    def socket_path(self) -> Path:
        return self.workdir / "r.sock"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"unix://{auth}{self.socket_path}?db=0"

    def argv(self) -> list[str]:
        argv = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--hz", "50",
        ]  # fmt: skip
        if self.password:
            argv += ["--requirepass", self.password]
        if self.tls_port is not None:
            argv += [
                "--tls-port", str(self.tls_port),
                "--tls-cert-file", str(self.cert),
                "--tls-key-file", str(self.workdir / "key.pem"),
                "--tls-ca-cert-file", str(self.cert),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        return argv

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _BOOT_WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise ServerUnavailable(f"redis-server exited: {err.strip()[:300]}")
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.02)
        self.stop()
        raise ServerUnavailable(f"redis-server did not answer PING within {_BOOT_WAIT}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_connect_timeout=1.0,
            socket_timeout=5.0,
        )

    def config(self, name: str = "kv", **kwargs: object) -> KvBackendConfig:
        values: dict[str, object] = {
            "provider": "redis",
            "url": self.url,
            "connect_timeout": 1.0,
            "socket_timeout": 1.0,
        }
        values.update(kwargs)
        return KvBackendConfig(name=name, kind="kv", **values)  # type: ignore[arg-type]


def open_server(password: str | None = None, *, tls: bool = False) -> RedisServer:
    """A started server (with ``tls``, also on a TLS port with a self-signed
    certificate for 127.0.0.1); :class:`ServerUnavailable` when there is none."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not installed (apt install redis-server)")
    workdir = Path(tempfile.mkdtemp(prefix="srd-", dir="/tmp"))
    server = RedisServer(binary, workdir, password=password)
    if tls:
        openssl = shutil.which("openssl")
        if openssl is None:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ServerUnavailable("openssl is not installed; it makes the test certificate")
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-keyout", str(workdir / "key.pem"), "-out", str(server.cert),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        server.tls_port = free_port()
    try:
        server.start()
    except ServerUnavailable:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return server


def close_server(server: RedisServer) -> None:
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


def _server_or_skip(password: str | None = None, *, tls: bool = False) -> RedisServer:
    try:
        return open_server(password, tls=tls)
    except ServerUnavailable as e:
        unavailable(f"no redis-server: {e}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The shared server; tests flush it (see :func:`redis_db`)."""
    server = _server_or_skip()
    yield server
    close_server(server)


@pytest.fixture
def redis_db(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The shared server, flushed before the test."""
    redis_server.client().flushall()
    yield redis_server


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A server of the test's own (to kill, restart or protect)."""
    server = _server_or_skip()
    yield server
    close_server(server)


@pytest.fixture(scope="session")
def redis_tls() -> Iterator[RedisServer]:
    """A server that also speaks TLS (``tls_url``, CA = ``cert``)."""
    server = _server_or_skip(tls=True)
    yield server
    close_server(server)
