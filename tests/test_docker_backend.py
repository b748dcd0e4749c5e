"""The docker backend: its pure parts (specs, endpoints, the listing row, the
log stream) and its configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from msgspec.structs import replace as struct_replace

from core.config import config_to_dict, load_config
from core.config.records import Origin, SessionSpec
from core.docker.backend import DockerBackend
from core.docker.base import parse_time
from core.docker.endpoint import Endpoint, resolve
from core.docker.listing import session_of
from core.docker.schema import DockerBackendConfig
from core.docker.specs import (
    SpecProblem,
    image_problem,
    parse_port,
    parse_volume,
    plan_create,
)
from core.docker.stream import PART_BYTES, ContainerLogStream, EngineLines, split_lines, split_stamp
from core.errors import (
    BackendUnavailable,
    ConfigError,
)
from core.model import HealthStatus, LogLine, Mount
from core.registry import build_backend
from tests.docker_helpers import ROOT, write_context


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


def test_engine_times_become_utc_milliseconds_in_front_of_the_line() -> None:
    assert split_stamp(b"2026-12-06T06:14:07.123456789Z hi\n") == (
        "2026-12-06T06:14:07.123Z",
        b"hi\n",
    )
    # an engine in another zone: the same instant in UTC, a day back here
    assert split_stamp(b"2026-12-06T01:14:07.5+02:00 x") == ("2026-12-05T23:14:07.500Z", b"x")
    assert split_stamp(b"2026-12-06 06:14:07Z x") == (None, b"2026-12-06 06:14:07Z x")
    assert split_stamp(b"2026-13-06T06:14:07+00:00 x") == (None, b"2026-13-06T06:14:07+00:00 x")


def test_framed_messages_are_lines_and_parts_of_a_long_one_are_joined() -> None:
    t = b"2026-12-06T06:14:0%d.000000001Z "
    part = b"x" * PART_BYTES
    lines = EngineLines("framed")
    got = lines.feed(t % 1 + b"one\n")
    got += lines.feed(t % 2 + b"out, unfinished")  # a short message without its newline
    got += lines.feed(t % 3 + b"err\n")
    got += lines.feed(t % 4 + part) + lines.feed(t % 5 + part) + lines.feed(t % 6 + b"y\n")
    got += lines.feed(t % 7 + b"\n") + lines.feed(t % 8 + b"last")  # an empty line, a last
    got += lines.finish()
    assert [line.text for line in got] == [
        "2026-12-06T06:14:01.000Z one",
        "2026-12-06T06:14:02.000Z out, unfinished",
        "2026-12-06T06:14:03.000Z err",
        "2026-12-06T06:14:04.000Z " + "x" * (2 * PART_BYTES) + "y",
        "2026-12-06T06:14:07.000Z",
        "2026-12-06T06:14:08.000Z last",
    ]
    # the engine gives each part the first one's time, whatever its buffer's size
    same = EngineLines("framed")
    got = same.feed(t % 1 + b"ab") + same.feed(t % 1 + b"c\n") + same.finish()
    assert [line.text for line in got] == ["2026-12-06T06:14:01.000Z abc"]


def test_a_ttys_raw_output_becomes_timed_lines_and_long_ones_are_joined() -> None:
    t = b"2026-12-06T06:14:0%d.000000001Z "
    part = b"x" * PART_BYTES
    raw = EngineLines("raw")  # a TTY: messages in pieces of any size
    data = t % 1 + b"a\r\n" + t % 2 + b"b\xe2\x82\xac\r\n"
    data += t % 3 + b"ab" + t % 3 + b"c\r\n"  # parts with the first one's time, any size
    data += t % 4 + part + t % 5 + part + t % 6 + b"z\r\n"  # an older engine: their own
    data += t % 7 + b"short" + t % 8 + b"next\r\n"  # cannot be told from the text
    got = [ln.text for b in data for ln in raw.feed(bytes([b]))] + [
        ln.text for ln in raw.feed(t % 9 + b"last") + raw.finish()
    ]
    assert got == [
        "2026-12-06T06:14:01.000Z a",
        "2026-12-06T06:14:02.000Z b€",
        "2026-12-06T06:14:03.000Z abc",
        "2026-12-06T06:14:04.000Z " + "x" * (2 * PART_BYTES) + "z",
        "2026-12-06T06:14:07.000Z short2026-12-06T06:14:08.000000001Z next",
        "2026-12-06T06:14:09.000Z last",
    ]


def test_parse_engine_times() -> None:
    when = parse_time("2024-03-01T10:00:00.123456789Z")
    assert when is not None and when.microsecond == 123456 and when.utcoffset() is not None
    assert parse_time("0001-01-01T00:00:00Z") is None


def test_listing_row_facts_are_typed() -> None:
    row = {
        "Id": "c0ffee" * 10 + "abcd",
        "Names": ["/web"],
        "State": "running",
        "Labels": {"sesstui.session": "web", "sesstui.managed": "true"},
        "Mounts": [
            {"Type": "bind", "Source": "/srv/a -> b", "Destination": "/data", "RW": True},
            {"Type": "bind", "Source": "/srv/ro", "Destination": "/ro", "RW": False},
            {"Type": "bind", "Source": "/srv/ro", "Destination": "/ro", "RW": False},
            {"Type": "tmpfs", "Destination": "/tmp"},  # no host source: not a mount fact
        ],
    }
    facts = session_of(row, "dk", "unix:///x").facts
    assert facts.container_id == row["Id"]
    assert facts.mounts == (
        Mount("/srv/a -> b", "/data", read_only=False),
        Mount("/srv/ro", "/ro", read_only=True),
    ), "an arrow in a path is no separator any more; a repeated mount counts once"
    assert facts.spec == "web" and facts.managed
    bare = session_of({"Id": "ab", "Names": ["/raw"], "Labels": None}, "dk", "x").facts
    assert (bare.mounts, bare.spec, bare.managed) == ((), None, False)
    # an engine's bogus creation stamp leaves the date out instead of failing the listing
    for stamp in (float("inf"), float("nan"), 1e300, -5, "soon"):
        assert session_of({"Id": "ab", "Created": stamp}, "dk", "x").created is None
    assert session_of({"Id": "ab", "Created": 1_700_000_000}, "dk", "x").created is not None


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
