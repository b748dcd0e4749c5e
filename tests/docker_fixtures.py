"""A private Docker engine for the docker backend tests and benchmark.

``$SESSTUI_TEST_DOCKER_HOST`` names an engine to use when it answers;
otherwise, as root with ``dockerd`` on PATH, a private daemon starts with every
path of its own under a short ``/tmp/sdk-*`` directory (unix socket paths are
limited to 108 bytes), no bridge, no iptables and its own containerd
namespace, so a host daemon (if any) is never touched.  The test image
``sesstui-busybox:test`` is imported from a tarball built here around the
static busybox binary: there is no registry access.

Without an engine the tests skip with the reason, except under ``CI=true``
where they fail.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from core.docker.schema import DockerBackendConfig
from tests.helpers import unavailable

IMAGE = "sesstui-busybox:test"
# applets the tests run; busybox picks the applet from argv[0]
APPLETS = (
    "sh", "sleep", "echo", "cat", "ls", "true", "false", "yes", "printf", "seq", "env",
    "pwd", "kill", "wc", "head", "tail", "date", "id",
)  # fmt: skip
_BOOT_WAIT = 30.0
# names the tests give their containers (see remove_test_containers)
TEST_PREFIXES = ("t-", "raw-", "bench-")


class EngineUnavailable(Exception):
    """No engine could be had; the message says why."""


def busybox_binary() -> Path | None:
    for candidate in ("/bin/busybox", shutil.which("busybox")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def busybox_tarball(busybox: Path) -> bytes:
    """A root filesystem: ``/bin/busybox``, one symlink per applet, ``/tmp``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "etc", "data"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        passwd = b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


def _client(host: str, timeout: float = 30.0) -> Any:
    import docker

    return docker.DockerClient(base_url=host, version="auto", timeout=timeout)


def _answers(host: str) -> bool:
    try:
        client = _client(host, timeout=5.0)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


@dataclass
class Daemon:
    """A dockerd this process started, in its own temp directory."""

    root: Path
    proc: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.root / "d.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.root / "dockerd.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the daemon (and its containerd, in its process group) at once."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL; then the temp directory goes."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        # containerd and shims live in the daemon's process group
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def _unmount_under(root: Path) -> None:
    """Lazy-unmount anything a killed daemon left mounted below ``root``."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    points = [m.split()[1] for m in mounts if len(m.split()) > 1]
    for point in sorted((p for p in points if p.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def start_daemon() -> Daemon:
    """Start a private dockerd and wait until it answers (up to 30 s)."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable("dockerd is not installed (apt install docker.io)")
    if os.geteuid() != 0:
        raise EngineUnavailable("a private dockerd needs root")
    root = Path(tempfile.mkdtemp(prefix="sdk-", dir="/tmp"))
    tag = uuid.uuid4().hex[:8]
    argv = [
        dockerd,
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "x"),
        "-H", f"unix://{root / 'd.sock'}",
        "--pidfile", str(root / "d.pid"),
        "--iptables=false", "--ip6tables=false", "--bridge=none",
        "--shutdown-timeout", "2",
        # a host containerd (if any) must not mix our containers with its own
        "--containerd-namespace", f"sesstui-{tag}",
        "--containerd-plugins-namespace", f"sesstui-{tag}-p",
    ]  # fmt: skip
    with (root / "dockerd.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    daemon = Daemon(root, proc)
    deadline = time.monotonic() + _BOOT_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = daemon.log_tail()
            daemon.stop()
            raise EngineUnavailable(f"dockerd exited with status {proc.returncode}:\n{tail}")
        if daemon.socket.exists() and _answers(daemon.host):
            return daemon
        time.sleep(0.1)
    tail = daemon.log_tail()
    daemon.stop()
    raise EngineUnavailable(f"dockerd did not answer within {_BOOT_WAIT:g}s:\n{tail}")


@dataclass
class DockerEngine:
    """An engine for the tests: its host URL, a client, and its daemon when
    we started it (None for ``$SESSTUI_TEST_DOCKER_HOST``)."""

    host: str
    client: Any
    daemon: Daemon | None = None
    image: str = IMAGE
    created: list[str] = field(default_factory=list)

    def config(self, name: str = "dk", **kwargs: Any) -> DockerBackendConfig:
        """A backend config for this engine (``base_url`` = its socket)."""
        return DockerBackendConfig(name=name, kind="docker", base_url=self.host, **kwargs)

    def make_container(
        self,
        labels: dict[str, str],
        *,
        name: str | None = None,
        binds: tuple[tuple[str, Path, bool], ...] = (),
    ) -> str:
        """A created (not started) ``sleep 60`` container labelled
        ``sesstui.test`` plus ``labels``, with no network and the bind mounts
        ``binds`` as (target, host path, read only); its name."""
        from docker.types import Mount

        name = name or f"t-{uuid.uuid4().hex[:8]}"
        api = self.client.api
        api.create_container(
            self.image,
            ["sleep", "60"],
            name=name,
            labels={"sesstui.test": "1", **labels},
            host_config=api.create_host_config(
                network_mode="none",
                # the Mounts API: a colon in the source is fine there (binds split at it)
                mounts=[Mount(t, str(src), type="bind", read_only=ro) for t, src, ro in binds],
            ),
        )
        return name

    def remove_test_containers(self) -> None:
        """Every container of a private daemon; on a shared one, those the
        tests made (labelled ``sesstui.test``, or sessions named ``t-*``)."""
        api = self.client.api
        for c in api.containers(all=True):
            labels = c.get("Labels") or {}
            names = [n.lstrip("/") for n in c.get("Names") or []]
            ours = "sesstui.test" in labels or (
                "sesstui.session" in labels and any(n.startswith(TEST_PREFIXES) for n in names)
            )
            if self.daemon is not None or ours:
                api.remove_container(c["Id"], force=True)


def ensure_image(client: Any, image: str = IMAGE) -> None:
    """Import the busybox image unless the engine has it already."""
    import docker.errors

    try:
        client.api.inspect_image(image)
        return
    except docker.errors.ImageNotFound:
        pass
    busybox = busybox_binary()
    if busybox is None:
        raise EngineUnavailable("busybox is not installed (apt install busybox-static)")
    repo, _, tag = image.partition(":")
    client.api.import_image_from_data(busybox_tarball(busybox), repository=repo, tag=tag)


def open_engine() -> DockerEngine:
    """The engine the tests use: ``$SESSTUI_TEST_DOCKER_HOST`` or a private one."""
    host = os.environ.get("SESSTUI_TEST_DOCKER_HOST")
    if host and _answers(host):
        client = _client(host)
        ensure_image(client)
        return DockerEngine(host, client)
    daemon = start_daemon()
    try:
        client = _client(daemon.host)
        ensure_image(client)
    except BaseException:
        daemon.stop()
        raise
    return DockerEngine(daemon.host, client, daemon)


def close_engine(engine: DockerEngine) -> None:
    try:
        engine.remove_test_containers()
    except Exception:  # noqa: BLE001 - the daemon may be gone already
        pass
    engine.client.close()
    if engine.daemon is not None:
        engine.daemon.stop()


def _unavailable(reason: str) -> NoReturn:
    unavailable(f"no Docker engine: {reason}")


@pytest.fixture(scope="session", name="docker_engine")
def _docker_engine_fixture() -> Iterator[DockerEngine]:
    """One engine for the whole test session; test containers go at the end."""
    try:
        engine = open_engine()
    except EngineUnavailable as e:
        _unavailable(str(e))
        raise  # unreachable: skip/fail raise
    try:
        yield engine
    finally:
        close_engine(engine)


@pytest.fixture(name="spare_daemon")
def _spare_daemon_fixture(docker_engine: DockerEngine) -> Iterator[Daemon]:
    """A second, throwaway dockerd (tests that kill a daemon use this one)."""
    if docker_engine.daemon is None and os.geteuid() != 0:
        unavailable("a throwaway dockerd needs root")
    try:
        daemon = start_daemon()
    except EngineUnavailable as e:
        _unavailable(str(e))
        raise
    try:
        yield daemon
    finally:
        daemon.stop()
