"""The docker backend against a real, private dockerd (see tests/docker_fixtures.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace as struct_replace

from core.backend import LineStream
from core.config import config_to_dict, load_config
from core.config.records import Origin, SessionSpec
from core.docker.backend import DockerBackend, _parse_time
from core.docker.endpoint import Endpoint, resolve
from core.docker.schema import DockerBackendConfig
from core.docker.specs import (
    SpecProblem,
    image_problem,
    parse_port,
    parse_volume,
    plan_create,
)
from core.docker.stream import ContainerLogStream, split_lines
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    ConfigError,
    SessionNotFound,
    UsageError,
)
from core.inventory import Inventory
from core.model import HealthStatus, LogLine, PrunePolicy, PruneReason, State
from core.registry import build_backend
from tests.conftest import needs_root
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    Daemon,
    DockerEngine,
    _docker_engine_fixture,
    _spare_daemon_fixture,
)
from tests.helpers import as_nobody, unavailable, unique, wait_for

ROOT = Path(__file__).resolve().parent.parent
LOOP = "while true; do sleep 0.1; done"


def spec(name: str, image: str, *command: str, **kwargs: Any) -> SessionSpec:
    base = SessionSpec(name=name, backend="dk", command=command, image=image, network="none")
    return struct_replace(base, **kwargs)


def shell(name: str, image: str, line: str, **kwargs: Any) -> SessionSpec:
    return spec(name, image, line, shell=True, **kwargs)


def read_until(stream: LineStream, text: str, timeout: float = 15.0) -> list[LogLine]:
    seen: list[LogLine] = []

    def found() -> bool:
        seen.extend(stream.read_available(0.2))
        return any(text in line.text for line in seen)

    wait_for(found, timeout, f"{text!r} in the stream (got {[s.text for s in seen[-5:]]})")
    return seen


@pytest.fixture(name="engine")
def _engine_fixture(docker_engine: DockerEngine) -> DockerEngine:
    return docker_engine


@pytest.fixture(name="dk")
def _dk_fixture(docker_engine: DockerEngine) -> Any:
    backend = DockerBackend(docker_engine.config())
    try:
        yield backend
    finally:
        backend.close()


def container(engine: DockerEngine, name: str) -> dict[str, Any]:
    data: dict[str, Any] = engine.client.api.inspect_container(name)
    return data


def make_raw(engine: DockerEngine, name: str, labels: dict[str, str] | None = None) -> str:
    """A container made directly (not by the backend), created, not started."""
    created: dict[str, Any] = engine.client.api.create_container(
        engine.image,
        ["sleep", "60"],
        name=name,
        labels={"sesstui.test": "1", **(labels or {})},
        host_config=engine.client.api.create_host_config(network_mode="none"),
    )
    return str(created["Id"])


# ----------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    "ref",
    [
        "busybox",
        "sesstui-busybox:test",
        "library/busybox:1.36",
        "registry.example.com:5000/team/app:v1.2-rc_3",
        "localhost/app",
        "app@sha256:" + "a" * 64,
        "app:1@sha256:" + "b" * 64,
    ],
)
def test_valid_image_references(ref: str) -> None:
    assert image_problem(ref) is None


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("bad image", "whitespace"),
        ("BusyBox", "lowercase"),
        ("team/App:1", "lowercase"),
        ("app:-x", "invalid tag '-x'"),
        ("app@sha256:xyz", "invalid digest"),
        ("app@", "empty digest"),
        ("app//x", "not a valid image reference"),
        ("", "empty"),
    ],
)
def test_invalid_image_references_name_the_problem(ref: str, words: str) -> None:
    problem = image_problem(ref)
    assert problem is not None
    assert words in problem


@pytest.mark.parametrize(
    ("text", "key", "host_ip", "host_port"),
    [
        ("8080:80", "80/tcp", "", 8080),
        ("127.0.0.1:8080:80/tcp", "80/tcp", "127.0.0.1", 8080),
        ("9000/udp", "9000/udp", "", None),
        ("127.0.0.1::53/UDP", "53/udp", "127.0.0.1", None),
        ("[::1]:8443:443", "443/tcp", "::1", 8443),
        ("7000/sctp", "7000/sctp", "", None),
    ],
)
def test_port_specs(text: str, key: str, host_ip: str, host_port: int | None) -> None:
    port = parse_port(text)
    assert (port.key, port.host_ip, port.host_port) == (key, host_ip, host_port)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("80/icmp", "protocol 'icmp'"),
        ("70000", "'70000' is not a port number"),
        ("0:80", "host port '0'"),
        ("http", "'http' is not a port number"),
        ("1.2.3.400:80:80", "not an IP address"),
        ("::1:80:80", "too many ':'"),
        ("8000-8010:80", "'8000-8010'"),
    ],
)
def test_bad_port_specs(text: str, words: str) -> None:
    with pytest.raises(SpecProblem, match="port") as err:
        parse_port(text)
    assert words in str(err.value)


def test_volume_specs() -> None:
    assert parse_volume("/srv/data:/data") == "/srv/data:/data:rw"
    assert parse_volume("cache:/cache:ro") == "cache:/cache:ro"
    assert parse_volume("~/x:/x").startswith(os.path.expanduser("~"))
    for bad, words in [
        ("relative/dir:/data", "absolute path or a volume name"),
        ("/srv:/data:rx", "mode 'rx'"),
        ("/srv:data", "container side 'data'"),
        ("/srv", "host:container"),
        ("/a:/b:ro:z", "host:container"),
    ]:
        with pytest.raises(SpecProblem) as err:
            parse_volume(bad)
        assert words in str(err.value) and bad in str(err.value)


def test_plan_create_labels_shell_and_tty() -> None:
    plan = plan_create(
        SessionSpec(
            name="web",
            backend="dk",
            image="busybox",
            command=("echo hi; sleep 1",),
            shell=True,
            attach="attach",
            ports=("8080:80", "127.0.0.1:8081:80"),
        )
    )
    assert plan.command == ["sh", "-c", "echo hi; sleep 1"]
    assert plan.labels == {"sesstui.session": "web", "sesstui.managed": "true"}
    assert plan.tty
    assert plan.exposed() == [(80, "tcp")]
    assert plan.port_bindings() == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}]
    }
    with pytest.raises(SpecProblem, match="one string"):
        plan_create(SessionSpec(name="x1", backend="dk", image="b", command=("a", "b"), shell=True))
    with pytest.raises(SpecProblem, match="no image"):
        plan_create(SessionSpec(name="x1", backend="dk"))
    with pytest.raises(SpecProblem, match="working_dir 'rel'"):
        plan_create(SessionSpec(name="x1", backend="dk", image="b", working_dir=Path("rel")))


def test_endpoint_from_environment_and_tls_flags(tmp_path: Path) -> None:
    for f in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / f).write_text("x")
    cfg = DockerBackendConfig(name="e", kind="docker")
    assert resolve(cfg, {}).host == "unix:///var/run/docker.sock"
    env = {
        "DOCKER_HOST": "tcp://h:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(tmp_path),
    }
    ep = resolve(cfg, env)
    assert ep.cli_args() == [
        "-H", "tcp://h:2376", "--tlsverify",
        "--tlscacert", str(tmp_path / "ca.pem"),
        "--tlscert", str(tmp_path / "cert.pem"),
        "--tlskey", str(tmp_path / "key.pem"),
    ]  # fmt: skip
    # a configured base_url wins over DOCKER_HOST; TLS from the config
    cfg2 = struct_replace(cfg, base_url="tcp://other:2376", tls_verify=False, cert_path=tmp_path)
    ep2 = resolve(cfg2, env)
    assert ep2.host == "tcp://other:2376" and ep2.tls and not ep2.tls_verify
    assert ep2.cli_args()[:3] == ["-H", "tcp://other:2376", "--tls"]
    assert resolve(
        struct_replace(cfg, base_url="unix:///run/podman/podman.sock"), env
    ).cli_args() == [
        "-H",
        "unix:///run/podman/podman.sock",
    ]


def test_endpoint_display_redacts_credentials() -> None:
    cfg = DockerBackendConfig(name="e", kind="docker", base_url="tcp://bob:hunter2@127.0.0.1:1")
    backend = DockerBackend(cfg)
    assert "hunter2" not in backend.health().endpoint
    assert "127.0.0.1:1" in backend.health().endpoint
    assert Endpoint("ssh://u:pw@h").display == "ssh://u:***@h"


def write_context(home: Path, name: str, host: str) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = home / ".docker" / "contexts" / "meta" / digest / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}})
    )


def test_unknown_context_is_unavailable_with_the_known_ones(tmp_path: Path) -> None:
    write_context(tmp_path, "remote", "tcp://h:2375")
    env = {"HOME": str(tmp_path)}
    backend = DockerBackend(
        DockerBackendConfig(name="c", kind="docker", context="nope"), environ=env
    )
    health = backend.health()
    assert health.status is HealthStatus.UNAVAILABLE
    assert "no docker context named 'nope'" in health.reason and "remote" in health.reason
    with pytest.raises(BackendUnavailable, match="nope"):
        backend.list_sessions()


def test_log_stream_splits_lines_across_chunks() -> None:
    euro = "€".encode()
    chunks = [b"one\ntw", b"o\n\x1b[31mred\x1b[0m\n", euro[:1], euro[1:] + b"\npartial"]
    stream = ContainerLogStream(
        [LogLine("first")], iter(chunks), ending=lambda: LogLine("— end —", notice=True)
    )
    assert [line.text for line in stream] == [
        "first",
        "one",
        "two",
        "red",
        "€",
        "partial",
        "— end —",
    ]
    assert stream.done
    assert [line.text for line in split_lines(b"a\r\nb\xff\n")] == ["a", "b\ufffd"]


def test_parse_engine_times() -> None:
    when = _parse_time("2024-03-01T10:00:00.123456789Z")
    assert when is not None and when.microsecond == 123456 and when.utcoffset() is not None
    assert _parse_time("0001-01-01T00:00:00Z") is None


def test_importing_the_backend_module_loads_no_docker() -> None:
    code = "import sys, core.docker.backend, core.registry; print('docker' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_registry_builds_a_docker_backend() -> None:
    backend = build_backend(DockerBackendConfig(name="d", kind="docker", base_url="unix:///x"))
    assert isinstance(backend, DockerBackend)


def test_bad_scope_is_a_config_error() -> None:
    cfg = DockerBackendConfig(
        name="d", kind="docker", scope="some", origin=Origin("/etc/s.yml", 4, "backends[0].scope")
    )
    with pytest.raises(ConfigError, match=r"/etc/s.yml:4: .*scope 'some'"):
        DockerBackend(cfg)


def test_match_labels_cannot_name_the_labels_sesstui_sets() -> None:
    cfg = DockerBackendConfig(
        name="d", kind="docker", base_url="unix:///x", match_labels={"sesstui.session": "a"},
        origin=Origin("/etc/s.yml", 7, "backends[1]"),
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"/etc/s.yml:7: .*match_labels cannot name sesstui"):
        DockerBackend(cfg)


def test_match_labels_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        "backends:\n"
        "  - name: dk\n"
        "    kind: docker\n"
        "    base_url: unix:///x.sock\n"
        "    match_labels: {sesstui.demo: abc123, team: 7}\n"
    )
    cfg = load_config(path, env={})
    dk = cfg.backend("dk")
    assert isinstance(dk, DockerBackendConfig)
    assert dict(dk.match_labels) == {"sesstui.demo": "abc123", "team": "7"}
    backends = config_to_dict(cfg, redact=False)["backends"]
    assert isinstance(backends, list) and len(backends) == 1
    assert backends[0]["match_labels"] == {"sesstui.demo": "abc123", "team": "7"}
    plain = DockerBackendConfig(name="p", kind="docker")
    assert plain.match_labels == {}
    path.write_text(
        "backends:\n"
        "  - name: dk\n"
        "    kind: docker\n"
        "    match_labels:\n"
        "      sesstui.managed: 'true'\n"
    )
    with pytest.raises(ConfigError, match=r"c.yml:5: .*match_labels cannot name sesstui.managed"):
        load_config(path, env={})
    path.write_text("backends:\n  - {name: dk, kind: docker, match_labels: [a, b]}\n")
    with pytest.raises(ConfigError, match="expected a mapping of labels to values"):
        load_config(path, env={})


# ------------------------------------------------------ against a real engine


@pytest.mark.docker
def test_start_and_list_in_exactly_one_request(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    session = dk.start(shell(name, engine.image, LOOP, env={"GREETING": "hi"}))
    assert session.id == name and session.state is State.RUNNING and session.attachable
    raw = make_raw(engine, f"raw-{unique()}")  # unlabelled: outside the default scope
    before = dk.requests
    sessions = dk.list_sessions()
    assert dk.requests - before == 1
    mine = next(s for s in sessions if s.id == name)
    assert mine.metadata["session"] == name and mine.metadata["managed"] == "true"
    assert mine.metadata["container_id"] == container(engine, name)["Id"]
    assert mine.metadata["image"] == engine.image
    assert mine.info.startswith("Up")
    assert mine.created is not None
    assert all(s.metadata.get("session") for s in sessions)
    assert raw not in {s.metadata["container_id"] for s in sessions}
    data = container(engine, name)
    assert data["Config"]["Labels"]["sesstui.session"] == name
    assert "GREETING=hi" in data["Config"]["Env"]
    assert data["HostConfig"]["NetworkMode"] == "none"
    assert dk.health().ok and dk.health().endpoint == engine.host

    everything = DockerBackend(engine.config("all", scope="all"))
    before = everything.requests
    ids = {s.metadata["container_id"] for s in everything.list_sessions()}
    assert everything.requests - before == 1
    assert raw in ids
    stopped = next(s for s in everything.list_sessions() if s.metadata["container_id"] == raw)
    assert stopped.state is State.STOPPED and not stopped.attachable
    everything.close()


@pytest.mark.docker
def test_start_again_restarts_a_stopped_container(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    s = shell(name, engine.image, LOOP)
    first = dk.start(s)
    with pytest.raises(ActionFailed, match="already running") as err:
        dk.start(s)
    assert err.value.title == "Already running"
    dk.stop(name, graceful=False)
    assert dk.get(name).state is State.STOPPED
    again = dk.start(s)
    assert again.state is State.RUNNING
    assert again.metadata["container_id"] == first.metadata["container_id"]


@pytest.mark.docker
def test_a_name_taken_by_a_foreign_container_is_refused(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"raw-{unique()}"
    make_raw(engine, name)
    with pytest.raises(ActionFailed, match="sesstui did not start it"):
        dk.start(shell(name, engine.image, LOOP))


@pytest.mark.docker
def test_graceful_stop_lets_a_term_handler_finish(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"trap 'echo bye; exit 0' TERM; echo ready; {LOOP}"))
    # a TERM that comes before the shell has set its trap is not the case here
    wait_for(lambda: "ready" in [x.text for x in dk.tail(name, lines=5)], what="the trap set")
    dk.stop(name, timeout=30)
    state = container(engine, name)["State"]
    assert state["ExitCode"] == 0 and not state["Running"]
    assert "bye" in [line.text for line in dk.tail(name, lines=5)]


@pytest.mark.docker
def test_graceful_stop_kills_what_ignores_term_after_the_timeout(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    # pid 1 without a TERM handler never sees SIGTERM: only SIGKILL ends it
    dk.start(spec(name, engine.image, "sleep", "600"))
    dk.stop(name, timeout=1)
    state = container(engine, name)["State"]
    assert state["ExitCode"] == 137 and not state["Running"]
    dk.stop(name)  # stopping a stopped container is fine


@pytest.mark.docker
def test_forced_stop_kills_at_once(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"trap 'exit 0' TERM; {LOOP}"))
    dk.stop(name, graceful=False)
    assert container(engine, name)["State"]["ExitCode"] == 137
    with pytest.raises(SessionNotFound, match="nope-x"):
        dk.stop("nope-x")


@pytest.mark.docker
def test_tail_last_lines_and_follow(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(
        shell(
            name, engine.image, "seq 1 50; sleep 0.3; echo oops >&2; while true; do sleep 0.1; done"
        )
    )
    wait_for(lambda: "oops" in [x.text for x in dk.tail(name, lines=3)], 10, "the output")
    assert [x.text for x in dk.tail(name, lines=3)] == ["49", "50", "oops"]
    assert dk.logs(name)[0].name == "container"
    with pytest.raises(SessionNotFound, match="no log 'pane'"):
        dk.tail(name, source="pane")
    stream = dk.tail(name, lines=2, follow=True)
    assert [x.text for x in read_until(stream, "oops")] == ["50", "oops"]
    engine.client.api.exec_start(
        engine.client.api.exec_create(name, ["sh", "-c", "echo fresh > /proc/1/fd/1"])
    )
    read_until(stream, "fresh")
    got: list[list[LogLine]] = []
    reader = threading.Thread(target=lambda: got.append(stream.read_available(60.0)))
    reader.start()
    threading.Timer(0.2, stream.close).start()
    reader.join(10)
    assert not reader.is_alive() and stream.closed
    assert got == [[]]


@pytest.mark.docker
def test_follow_ends_when_the_container_exits(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, "echo start; sleep 1; exit 3"))
    stream = dk.tail(name, lines=10, follow=True)
    lines = [line.text for line in stream]  # ends by itself
    assert lines[0] == "start"
    assert lines[-1] == "— container exited (code 3) —"
    assert isinstance(stream, ContainerLogStream) and stream.done


@pytest.mark.docker
def test_follow_ends_when_the_container_is_removed(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"echo here; {LOOP}"))
    stream = dk.tail(name, lines=10, follow=True)
    read_until(stream, "here")
    engine.client.api.remove_container(name, force=True)
    rest = read_until(stream, "—")
    assert rest[-1] == LogLine("— container removed —", notice=True)


@pytest.mark.docker
def test_delete_skips_running_unless_forced(engine: DockerEngine, dk: DockerBackend) -> None:
    running, stopped = f"t-{unique()}", f"t-{unique()}"
    dk.start(shell(running, engine.image, LOOP))
    dk.start(shell(stopped, engine.image, "exit 0"))
    wait_for(lambda: dk.get(stopped).state is State.STOPPED, 10, "the exit")
    plan = dk.plan_delete([running, stopped])
    assert [e.id for e in plan.entries] == [stopped]
    assert plan.entries[0].reason is PruneReason.REQUESTED
    assert [(s.id, s.why) for s in plan.skipped] == [
        (running, "running (stop it first, or --force)")
    ]
    result = dk.prune(plan)
    assert result.ok and [e.id for e in result.removed] == [stopped]
    with pytest.raises(SessionNotFound):
        dk.get(stopped)
    with pytest.raises(SessionNotFound):
        dk.plan_delete([stopped])
    forced = dk.plan_delete([running], force=True)
    assert [e.id for e in forced.entries] == [running]
    assert not dk.prune(forced).ok  # the plan was forced; the prune was not
    assert dk.get(running).state is State.RUNNING
    assert dk.prune(forced, force=True).ok
    with pytest.raises(SessionNotFound):
        dk.get(running)


@pytest.mark.docker
def test_prune_plan_takes_old_exited_labelled_containers_only(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    old, live = f"t-{unique()}", f"t-{unique()}"
    dk.start(shell(old, engine.image, "exit 0"))
    dk.start(shell(live, engine.image, LOOP))
    foreign = f"raw-{unique()}"
    make_raw(engine, foreign)
    wait_for(lambda: dk.get(old).state is State.STOPPED, 10, "the exit")
    # every exited container is older than zero days
    everything = DockerBackend(engine.config("pr", scope="all", prune_after_days=0))
    plan = everything.plan_prune()
    ids = [e.id for e in plan.entries]
    assert old in ids and live not in ids and foreign not in ids
    entry = next(e for e in plan.entries if e.id == old)
    assert entry.reason is PruneReason.AGE and entry.detail.startswith("exited ")
    assert entry.detail.endswith("ago") and entry.bytes is None
    young = DockerBackend(engine.config("pr2", prune_after_days=1)).plan_prune()
    assert old not in [e.id for e in young.entries]
    counted = everything.plan_prune(PrunePolicy(max_sessions=0, max_age=None))
    assert old in [e.id for e in counted.entries if e.reason is PruneReason.COUNT]
    only_old = replace(plan, entries=tuple(e for e in plan.entries if e.id == old))
    assert everything.prune(only_old).ok
    with pytest.raises(SessionNotFound):
        dk.get(old)
    everything.close()


@pytest.mark.docker
def test_a_daemon_killed_between_refreshes_is_unavailable(
    engine: DockerEngine, spare_daemon: Daemon
) -> None:
    spare = DockerBackend(
        DockerBackendConfig(name="spare", kind="docker", base_url=spare_daemon.host)
    )
    main = DockerBackend(engine.config("main"))
    inv = Inventory([spare, main])
    snap = inv.refresh()
    assert all(h.ok for h in snap.health), snap.health
    spare_daemon.kill()
    with pytest.raises(BackendUnavailable) as err:
        spare.list_sessions()
    assert spare_daemon.host in err.value.message or str(spare_daemon.socket) in err.value.message
    snap = inv.refresh()
    by_name = {h.backend: h for h in snap.health}
    assert by_name["spare"].status is HealthStatus.UNAVAILABLE
    assert by_name["main"].ok
    assert spare.health().status is HealthStatus.UNAVAILABLE
    spare.close()
    main.close()


@pytest.mark.docker
def test_a_wrong_socket_path_never_falls_back(
    engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine.host)  # a working engine, not to be used
    missing = tmp_path / "no.sock"
    backend = DockerBackend(
        DockerBackendConfig(name="w", kind="docker", base_url=f"unix://{missing}", timeout=2)
    )
    with pytest.raises(BackendUnavailable) as err:
        backend.list_sessions()
    assert str(missing) in err.value.message and "does not exist" in err.value.message
    health = backend.health()
    assert health.status is HealthStatus.UNAVAILABLE and str(missing) in health.endpoint


@pytest.mark.docker
def test_an_unparsable_docker_host_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "bogus://nowhere")
    backend = DockerBackend(DockerBackendConfig(name="env", kind="docker"))
    with pytest.raises(BackendUnavailable, match="DOCKER_HOST='bogus://nowhere' cannot be used"):
        backend.list_sessions()
    assert backend.health().status is HealthStatus.UNAVAILABLE


@pytest.mark.docker
@needs_root("dropping to nobody")
def test_a_socket_without_permission_is_unavailable(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    dk.list_sessions()  # loads every module the child needs while it may read them
    socket = engine.host.removeprefix("unix://")
    mode = os.stat(socket).st_mode & 0o777
    if mode & 0o006:
        unavailable(f"the engine socket {socket} is open to everyone ({oct(mode)})")
    cfg = engine.config("perm")

    def attempt() -> str:
        try:
            DockerBackend(cfg).list_sessions()
        except BackendUnavailable as e:
            return e.message
        return "listed"

    message = as_nobody(attempt)
    assert "permission denied" in message and socket in message


@pytest.mark.docker
@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("image", "Bad Image", "image 'Bad Image' contains whitespace"),
        ("ports", ("8080:99999",), "port '8080:99999': container port '99999'"),
        ("volumes", ("data/x:/x",), "volume 'data/x:/x'"),
        ("name", "-bad", "'-bad' is not a valid container name"),
    ],
)
def test_bad_specs_are_refused_before_the_engine(
    engine: DockerEngine, dk: DockerBackend, field: str, value: Any, words: str
) -> None:
    bad = struct_replace(shell(f"t-{unique()}", engine.image, LOOP), **{field: value})
    before = dk.requests
    with pytest.raises(UsageError) as err:
        dk.start(bad)
    assert words in err.value.message
    assert dk.requests == before
    from_file = struct_replace(bad, origin=Origin("/etc/sesstui.yml", 12, f"sessions.x.{field}"))
    with pytest.raises(ConfigError, match=r"/etc/sesstui.yml:12: sessions\.x\."):
        dk.start(from_file)


@pytest.mark.docker
def test_a_missing_image_is_never_pulled(dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    with pytest.raises(ActionFailed, match="is not on the engine") as err:
        dk.start(spec(name, "sesstui-absent:1", "true"))
    assert "pull or import it" in err.value.message
    with pytest.raises(SessionNotFound):
        dk.get(name)


@pytest.mark.docker
def test_a_command_the_image_lacks_fails_and_leaves_nothing(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    with pytest.raises(ActionFailed, match="the container was removed"):
        dk.start(spec(name, engine.image, "no-such-program"))
    with pytest.raises(SessionNotFound):
        dk.get(name)


@pytest.mark.docker
def test_attach_argv_exec_attach_and_missing_cli(
    engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, tty = f"t-{unique()}", f"t-{unique()}"
    tty_spec = shell(tty, engine.image, LOOP, attach="attach")
    dk = DockerBackend(engine.config(shell="sh -l"), specs={tty: tty_spec})
    dk.start(shell(name, engine.image, LOOP))
    dk.start(tty_spec)
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert dk.attach_argv(name) == [str(fake), "-H", engine.host, "exec", "-it", name, "sh", "-l"]
    assert dk.attach_argv(tty) == [str(fake), "-H", engine.host, "attach", tty]
    assert container(engine, tty)["Config"]["Tty"]
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ActionFailed, match="docker CLI is not installed") as err:
        dk.attach_argv(name)
    assert "apt install docker.io" in err.value.message
    nowhere = DockerBackend(engine.config(docker="/nonexistent/docker"))
    with pytest.raises(ActionFailed, match="/nonexistent/docker"):
        nowhere.attach_argv(name)
    dk.stop(name, graceful=False)
    with pytest.raises(ActionFailed, match="not running"):
        dk.attach_argv(name)
    dk.close()


@pytest.mark.docker
def test_a_cli_context_names_the_engine(
    engine: DockerEngine, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_context(isolated_home, "ci-engine", engine.host)
    backend = DockerBackend(DockerBackendConfig(name="ctx", kind="docker", context="ci-engine"))
    assert backend.health().endpoint == f"{engine.host} (context ci-engine)"
    backend.list_sessions()
    assert backend.health().ok
    name = f"t-{unique()}"
    backend.start(shell(name, engine.image, LOOP))
    if Path("/usr/local/bin/docker").exists() or os.path.exists("/usr/bin/docker"):
        argv = backend.attach_argv(name)
        assert argv[1:3] == ["--context", "ci-engine"]
    backend.close()


@pytest.mark.docker
def test_match_labels_narrow_the_listing_and_every_action(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    token, other = unique(), unique()
    mine, theirs, unmarked = f"t-{unique()}", f"t-{unique()}", f"t-{unique()}"
    for name, extra in ((mine, {"sesstui.demo": token}), (theirs, {"sesstui.demo": other}),
                        (unmarked, {})):  # fmt: skip
        make_raw(engine, name, {"sesstui.session": name, **extra})
        engine.client.api.start(name)
    narrow = DockerBackend(engine.config("nar", match_labels={"sesstui.demo": token}))
    try:
        before = narrow.requests
        listed = {s.id for s in narrow.list_sessions()}
        assert narrow.requests - before == 1  # the filter is server-side: still one request
        assert listed == {mine}
        assert {mine, theirs, unmarked} <= {s.id for s in dk.list_sessions()}
        assert narrow.get(mine).state is State.RUNNING

        for outside in (theirs, unmarked):
            with pytest.raises(SessionNotFound, match=f"'{outside}'.*sesstui.demo={token}"):
                narrow.get(outside)
            with pytest.raises(SessionNotFound, match=f"container '{outside}' .*is outside"):
                narrow.stop(outside, graceful=False)
            with pytest.raises(SessionNotFound, match=f"'{outside}' .*is outside"):
                narrow.plan_delete([outside], force=True)
            with pytest.raises(SessionNotFound, match=f"'{outside}' .*is outside"):
                narrow.tail(outside)
            with pytest.raises(SessionNotFound, match=f"'{outside}' .*is outside"):
                narrow.start(shell(outside, engine.image, LOOP))
            assert container(engine, outside)["State"]["Running"]

        # a plan smuggled in from another backend is re-checked entry by entry
        dk.stop(theirs, graceful=False)
        dk.stop(mine, graceful=False)
        wide = dk.plan_delete([theirs, mine])
        result = narrow.prune(replace(wide, backend="nar"))
        assert [e.id for e in result.removed] == [mine]
        ((entry, why),) = [(f.entry.id, f.error) for f in result.failed]
        assert entry == theirs and "is outside backend 'nar'" in (why or "")
        assert container(engine, theirs)["Name"] == f"/{theirs}"

        # prune plans only look at containers within the filter
        aged = DockerBackend(
            engine.config("nar2", prune_after_days=0, match_labels={"sesstui.demo": token})
        )
        started = aged.start(shell(f"t-{unique()}", engine.image, "exit 0"))
        wait_for(lambda: aged.get(started.id).state is State.STOPPED, 10, "the exit")
        planned = [e.id for e in aged.plan_prune().entries]
        assert planned == [started.id]  # theirs is exited and labelled too, but outside
        # what the backend starts carries the labels, so it stays within reach
        labels = container(engine, started.id)["Config"]["Labels"]
        assert labels["sesstui.demo"] == token and labels["sesstui.session"] == started.id
        aged.close()
    finally:
        narrow.close()
