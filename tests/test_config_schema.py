"""The declared schemas: every key documented, errors from msgspec mapped back to the
line, a new key or kind needing nothing but its declaration, and the registry building
every kind the same way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from core.config import config_to_dict, load_config
from core.config.fields import key
from core.config.kinds import KNOWN_KINDS, BuildContext, Kind, kind
from core.config.loader import load_tree
from core.config.reader import Context
from core.config.records import KIND_KEY, AppConfig, BackendConfig, SessionSpec, UIConfig
from core.config.schema import Problem, dump_struct, key_docs, read_struct
from core.dirs.schema import DirsBackendConfig
from core.docker.schema import DockerBackendConfig
from core.errors import ConfigError
from core.registry import build_backends
from core.tmux.schema import TmuxBackendConfig
from tests.config_helpers import MINIMAL, REPO, load_error, write


def test_every_declared_key_is_in_config_example() -> None:
    text = (REPO / "config.example.yml").read_text()
    schemas: list[type[msgspec.Struct]] = [kind(k).schema for k in KNOWN_KINDS]
    schemas += [SessionSpec, UIConfig]
    missing = sorted(
        {d.key.rsplit(".", 1)[-1] for s in schemas for d in key_docs(s)}
        - {w.strip().rstrip(":") for w in text.split() if w.endswith(":")}
    )
    assert missing == [], (
        f"keys declared in a schema but not shown in config.example.yml: {missing}"
    )


def test_every_declared_key_has_a_doc() -> None:
    for name in KNOWN_KINDS:
        docs = list(key_docs(kind(name).schema))
        assert [d.key for d in docs][:4] == ["name", "kind", "protected", "timeout"]
        assert all(d.doc for d in docs), f"{name}: a key without documentation"
    retention = {d.key: d for d in key_docs(DirsBackendConfig)}["retention.max_sessions"]
    assert (retention.type, retention.default, retention.example) == ("integer", 20, "20")


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"),
    [
        # a dec_hook error (paths): msgspec's path $.base names the line
        (MINIMAL.replace("/srv/runs", '"a\\0b"'), 4, "backends[0].base", "NUL character"),
        # a min_length bound
        (MINIMAL + "    log_glob: ''\n", 5, "backends[0].log_glob",
         "must not be empty; e.g. '*.log'"),
        (MINIMAL + "    create_base: maybe\n", 5, "backends[0].create_base",
         "expected true or false; got text"),
    ],
)  # fmt: skip
def test_msgspec_errors_name_the_line_and_what_to_write(
    tmp_path: Path, text: str, line: int, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    err = load_error(path)
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert expected in str(err)


def test_a_bad_item_in_a_list_names_its_line(tmp_path: Path) -> None:
    text = (
        "backends:\n  - {name: dk, kind: docker}\n"
        "sessions:\n  web:\n    backend: dk\n    image: busybox\n"
        "    ports:\n      - '8080:80'\n      - [9000]\n"
    )
    err = load_error(write(tmp_path, text))
    assert (err.line, err.key) == (9, "sessions.web.ports[1]")
    assert "expected text" in str(err)


def test_docker_tls_verify_is_optional_but_a_flag(tmp_path: Path) -> None:
    text = "backends:\n  - name: dk\n    kind: docker\n    tls_verify: sometimes\n"
    err = load_error(write(tmp_path, text))
    assert (err.line, err.key) == (4, "backends[0].tls_verify")
    assert "expected true or false; got text" in str(err)


# --- a key is its declaration ----------------------------------------------------------


class _Toy(BackendConfig, frozen=True, kw_only=True):
    """A kind made up here: read, checked and written back from its declaration alone."""

    kind: Annotated[str, KIND_KEY] = "toy"
    colour: Annotated[str, key("the colour", "red", empty=False)] = "red"
    depth: Annotated[int, key("how deep", "3", ge=1)] = 3
    spill: Annotated[Path, key("where it spills", "~/spill")] | None = None

    def validate(self) -> None:
        if self.colour == "blue" and self.depth > 5:
            raise Problem("depth", "blue toys go 5 deep at most")


def _read_toy(tmp_path: Path, text: str) -> _Toy:
    ctx = Context(file="toy.yml", base_dir=tmp_path, env={"HOME": "/home/t"})
    node = load_tree(text, "toy.yml")
    assert node is not None
    return read_struct(node, _Toy, ctx)


def test_a_new_kind_is_read_checked_and_dumped_from_its_declaration(tmp_path: Path) -> None:
    toy = _read_toy(tmp_path, "name: t\nkind: toy\ncolour: green\nspill: ~/s\n")
    assert (toy.colour, toy.depth, toy.spill) == ("green", 3, Path("/home/t/s"))
    assert dump_struct(toy) == {
        "name": "t", "kind": "toy", "protected": False, "timeout": 5.0,
        "colour": "green", "depth": 3, "spill": "/home/t/s",
    }  # fmt: skip
    with pytest.raises(ConfigError) as info:
        _read_toy(tmp_path, "name: t\nkind: toy\ndepth: 0\n")
    assert (info.value.line, info.value.key) == (3, "depth")
    assert "expected 1 or more, e.g. 3; got 0" in str(info.value)
    with pytest.raises(ConfigError) as info:
        _read_toy(tmp_path, "name: t\nkind: toy\ncolour: blue\ndepth: 6\n")
    assert (info.value.line, info.value.key) == (4, "depth")
    assert "5 deep at most" in str(info.value)
    with pytest.raises(ConfigError) as info:
        _read_toy(tmp_path, "name: t\nkind: toy\ncolur: blue\n")
    assert "did you mean 'colour'" in str(info.value)


# --- the registry ----------------------------------------------------------------------


def test_every_kind_declares_itself_in_its_own_package() -> None:
    for name in KNOWN_KINDS:
        declared = kind(name)
        assert isinstance(declared, Kind) and declared.name == name
        assert declared.schema.__module__.endswith(".schema")
        assert declared.schema(name="x", kind=name).kind == name
        assert msgspec.structs.fields(declared.schema)[1].default == name  # its own default
    with pytest.raises(ConfigError, match="known kinds: dirs, tmux"):
        kind("files")


def test_kinds_take_what_they_need_from_the_build_context(tmp_path: Path) -> None:
    runs = DirsBackendConfig(name="runs", base=tmp_path)
    work = TmuxBackendConfig(name="work", socket_name="sesstui-test-unused")
    engine = DockerBackendConfig(name="engine", base_url="unix:///nonexistent.sock")
    web = SessionSpec(name="web", backend="engine", image="busybox")
    bot = SessionSpec(name="bot", backend="work")
    app = AppConfig(backends=(runs, work, engine), sessions={"web": web, "bot": bot})
    built = build_backends(app)
    assert [b.name for b in built] == ["runs", "work", "engine"]
    assert getattr(built[1], "session_dirs", None) == {"runs": runs}
    assert getattr(built[2], "specs", None) == {"web": web}
    assert BuildContext.of(app).specs_for("work") == {"bot": bot}


def test_a_round_trip_keeps_every_kind(tmp_path: Path) -> None:
    cfg = load_config(REPO / "config.example.yml", env={"HOME": str(tmp_path)})
    data = config_to_dict(cfg, redact=False)
    import yaml

    again = load_config(write(tmp_path, yaml.safe_dump(data), "again.yml"), env={})
    assert config_to_dict(again, redact=False) == data
    assert [b.kind for b in again.backends] == [b.kind for b in cfg.backends]


def test_the_key_reference_comes_from_the_schemas() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core.config"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for name in KNOWN_KINDS:
        assert f"backends (kind: {name})" in out
    assert "  base: path (required)  -- the folder that holds the session dirs" in out
    assert "  retention.max_age_days: number = 10  -- " in out
    assert "  socket_timeout: number = 2.0  -- " in out
    assert "  grow_notice: integer = 104857600  -- " in out
