"""Orphans over real backends: session dirs, JSON workspaces, KV keys without a
TTL, containers whose spec is gone; in process and through `sesstui orphans`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config.records import AppConfig, BackendConfig, SessionSpec
from core.docker.schema import DockerBackendConfig
from core.errors import UsageError
from core.inventory import Inventory, Snapshot
from core.jsonstore.manager import SessionManager as JsonManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.kv.manager import SessionManager as KvManager
from core.kv.providers import MemoryProvider, MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import BackendHealth, Facts, HealthStatus, Session, SessionRef, State
from core.orphans import CATEGORIES, Orphan, OrphanReport, find_orphans, load_orphans
from core.tmux.schema import TmuxBackendConfig
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.helpers import dirs_config, live_process, make_session, run_cli, unique
from tests.redis_fixtures import RedisServer, redis_db, redis_server  # noqa: F401 - fixtures
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture

DEAD_SOCKET = "unix:///nonexistent/sesstui-test/docker.sock"


def report_for(
    configs: list[BackendConfig],
    sessions: dict[str, SessionSpec] | None = None,
    *,
    only: list[str] | None = None,
    memory: MemoryStores | None = None,
) -> OrphanReport:
    config = AppConfig(backends=tuple(configs), sessions=sessions or {})
    inv = Inventory.from_config(config, memory=memory)
    try:
        return load_orphans(inv, config, backends=only)
    finally:
        inv.close()


def by_category(report: OrphanReport, category: str) -> list[Orphan]:
    return [o for o in report if o.category == category]


def make_container(engine: DockerEngine, labels: dict[str, str], mount: Path | None = None) -> str:
    return engine.make_container(labels, binds=(("/data", mount, False),) if mount else ())


@pytest.fixture
def live_pid() -> Iterator[int]:
    proc = live_process()
    yield proc.pid
    proc.kill()
    proc.wait()


# ---------------------------------------------------------- session dirs


@pytest.mark.tmux
@pytest.mark.docker
def test_dirs_used_by_a_pane_or_a_container_are_not_orphans(
    tmp_path: Path, tmux_server: TmuxServer, docker_engine: DockerEngine, live_pid: int
) -> None:
    runs = tmp_path / "runs"
    lonely = make_session(runs, files={"logs/app.log": "x" * 10_000})
    active = make_session(runs, pid=live_pid)
    in_pane = make_session(runs)
    mounted = make_session(runs)
    named = make_session(runs)
    tmux_server.new_session("job", in_pane, "sleep 600")
    make_container(docker_engine, {"sesstui.session": "web"}, mount=mounted / "logs")
    kv_name = f"kv-{unique()}"
    stores = MemoryStores()
    manager = KvManager("app", provider=stores.provider(kv_name))
    asyncio.run(manager.allocate_session(custom_metadata={"workdir": str(named)}))
    report = report_for(
        [
            dirs_config(runs),
            tmux_server.config("tm"),
            docker_engine.config("dk"),
            KvBackendConfig(name=kv_name, kind="kv"),
        ],
        {"web": SessionSpec(name="web", backend="dk", image=docker_engine.image)},
        memory=stores,
    )
    dirs = {o.ref.id: o for o in by_category(report, "dir") if o.ref is not None}
    # the active one (live pid), the one a pane works in and the mounted one stay
    assert set(dirs) == {lonely.name, named.name}
    assert active.name not in dirs and in_pane.name not in dirs and mounted.name not in dirs
    assert dirs[lonely.name].actionable and dirs[lonely.name].path == str(lonely)
    assert (dirs[lonely.name].bytes or 0) >= 10_000
    assert dirs[lonely.name].reason.startswith("pid 4194999 gone")
    # a record naming the directory does not keep it: it is said, not counted
    assert f"named by {kv_name}:" in dirs[named.name].reason
    assert report.skipped == ()
    assert by_category(report, "container") == []  # its spec is configured


def test_a_down_user_backend_makes_dir_orphans_unactionable(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_session(runs)
    report = report_for(
        [dirs_config(runs), DockerBackendConfig(name="dk", kind="docker", base_url=DEAD_SOCKET)]
    )
    [orphan] = report
    assert orphan.category == "dir" and not orphan.actionable
    assert "not checked against dk (down)" in orphan.reason
    assert len(report.skipped) == 1 and report.skipped[0].startswith("dk: ")


def degraded_report(
    runs: Path, user: BackendConfig, status: HealthStatus, *, only: list[str] | None = None
) -> OrphanReport:
    """The orphans of a real dirs listing, with ``user`` (a tmux or docker
    backend) answering with ``status``: DEGRADED is a partial listing."""
    config = AppConfig(backends=(dirs_config(runs), user))
    inv = Inventory.from_config(config)
    try:
        snap = inv.refresh(["runs"])
    finally:
        inv.close()
    reason = "2 panes could not be read" if status is HealthStatus.DEGRADED else ""
    health = BackendHealth(user.name, user.kind, status, reason)
    snapshot = Snapshot(snap.sessions, (*snap.health, health))
    return find_orphans(snapshot, config, backends=only)


@pytest.mark.parametrize(
    "user",
    [
        TmuxBackendConfig(name="tm", kind="tmux", socket_name="sesstui-test-unused"),
        DockerBackendConfig(name="tm", kind="docker", base_url=DEAD_SOCKET),
    ],
    ids=["tmux", "docker"],
)
def test_a_degraded_user_backend_makes_dir_orphans_unactionable(
    tmp_path: Path, user: BackendConfig
) -> None:
    runs = tmp_path / "runs"
    lonely = make_session(runs)
    # complete listing: the directory is an orphan to act on
    [fine] = degraded_report(runs, user, HealthStatus.OK)
    assert fine.actionable and fine.ref == SessionRef("runs", lonely.name)
    # partial listing: a pane that could not be read may work in it
    report = degraded_report(runs, user, HealthStatus.DEGRADED)
    [orphan] = report
    assert orphan.category == "dir" and orphan.ref == SessionRef("runs", lonely.name)
    assert not orphan.actionable
    assert orphan.reason.endswith("; not fully checked against tm (partial listing)")
    assert report.skipped == (
        "tm: 2 panes could not be read; directories not fully checked against it",
    )
    # only the degraded backend chosen: no directory is judged, nothing to say
    alone = degraded_report(runs, user, HealthStatus.DEGRADED, only=["tm"])
    assert list(alone) == [] and alone.skipped == ()


def test_a_degraded_backend_that_uses_no_directory_changes_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_session(runs)
    (tmp_path / "agents").mkdir()
    other = JsonBackendConfig(name="agents", kind="json", base=tmp_path / "agents")
    report = degraded_report(runs, other, HealthStatus.DEGRADED)
    [orphan] = report
    assert orphan.actionable and "partial" not in orphan.reason
    assert report.skipped == ()


# ------------------------------------------------------------- workspaces


def test_json_workspaces_without_records(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    manager = JsonManager(FileSessionStore(base))
    manager.start_session(workspace_id="busy")  # a record: not an orphan
    manager.start_session()  # a flat record, no workspace
    (base / "empty").mkdir()
    (base / "junk").mkdir()
    (base / "junk" / "notes.txt").write_text("left over\n")
    (base / "junk" / "sub").mkdir()
    (base / "broken").mkdir()
    (base / "broken" / "x.json").write_text("{ not json")  # corrupt, still a record
    (base / ".hidden").mkdir()
    (base / "linked").symlink_to(tmp_path)  # never followed
    (base / "stray.txt").write_text("a file, not a workspace")
    assert (base / ".locks").is_dir()  # the store's lock folder is never an orphan
    report = report_for([JsonBackendConfig(name="agents", kind="json", base=base)])
    found = {o.path: o for o in report}
    assert set(found) == {str(base / "empty"), str(base / "junk")}
    assert found[str(base / "empty")].reason == "no session records (empty)"
    assert found[str(base / "junk")].reason == "no session records (1 other file)"
    junk = found[str(base / "junk")]
    assert junk.ref is None and not junk.actionable and junk.label == "agents:junk/"
    assert junk.bytes is not None and junk.bytes > 0


# --------------------------------------------------------------------- KV


def test_kv_keys_without_ttl(tmp_path: Path) -> None:
    name = f"kv-{unique()}"
    stores = MemoryStores()
    store = stores.store(name)
    manager = KvManager("app", provider=MemoryProvider(store))
    with_ttl = asyncio.run(manager.allocate_session())
    forever = asyncio.run(manager.allocate_session())
    raw = store.get(f"session:{forever}")
    assert raw is not None
    store.set(f"session:{forever}", raw)  # the same record, its TTL gone
    store.set("session:garbage", "not json")
    report = report_for([KvBackendConfig(name=name, kind="kv")], memory=stores)
    found = {o.ref.id: o for o in by_category(report, "kv-no-ttl") if o.ref is not None}
    assert set(found) == {forever, "garbage"}
    assert with_ttl not in found
    assert found[forever].path == f"session:{forever}" and found[forever].actionable
    assert found["garbage"].reason.endswith("not a session record")


# ------------------------------------------------------------- containers


@pytest.mark.docker
def test_containers_whose_spec_is_gone(docker_engine: DockerEngine) -> None:
    kept = make_container(docker_engine, {"sesstui.session": "kept", "sesstui.managed": "true"})
    gone = make_container(docker_engine, {"sesstui.session": "gone", "sesstui.managed": "true"})
    moved = make_container(docker_engine, {"sesstui.session": "moved"})
    nameless = make_container(docker_engine, {"sesstui.managed": "true"})
    foreign = make_container(docker_engine, {})  # not ours: never an orphan
    specs = {
        "kept": SessionSpec(name="kept", backend="dk", image=docker_engine.image),
        "moved": SessionSpec(name="moved", backend="other", image=docker_engine.image),
    }
    report = report_for([docker_engine.config("dk", scope="all")], specs)
    found = {o.ref.id: o for o in by_category(report, "container") if o.ref is not None}
    mine = {kept, gone, moved, nameless, foreign}
    found = {k: v for k, v in found.items() if k in mine}  # the engine is shared by tests
    assert set(found) == {gone, moved, nameless}
    assert found[gone].reason == "spec 'gone' is not in the config (stopped)"
    assert found[moved].reason == "spec 'moved' now starts on 'other' (stopped)"
    assert found[nameless].reason == "labelled managed but names no spec (stopped)"
    assert all(o.actionable and o.ref == SessionRef("dk", k) for k, o in found.items())


def test_orphans_read_the_key_spec_and_managed_facts() -> None:
    """KV keys without TTL and containers sesstui started are found from
    ``Session.facts``; metadata with the old strings finds nothing."""
    config = AppConfig(
        backends=(
            DockerBackendConfig(name="dk", kind="docker"),
            KvBackendConfig(name="kv", kind="kv"),
        ),
        sessions={"kept": SessionSpec(name="kept", backend="dk", image="busybox")},
    )

    def row(backend: str, kind: str, ident: str, **kw: object) -> Session:
        return Session(SessionRef(backend, ident), ident, kind, State.STOPPED, **kw)  # type: ignore[arg-type]

    sessions = (
        row("dk", "docker", "kept", facts=Facts(spec="kept", managed=True)),
        row("dk", "docker", "gone", facts=Facts(spec="gone", managed=True)),
        row("dk", "docker", "nameless", facts=Facts(managed=True)),
        row("dk", "docker", "foreign", facts=Facts()),
        row("dk", "docker", "text-only", metadata={"session": "gone", "managed": "true"}),
        row("kv", "kv", "forever", facts=Facts(key="session:forever", never_expires=True)),
        row("kv", "kv", "ticking", facts=Facts(key="session:ticking")),
        row("kv", "kv", "text-only", metadata={"key": "session:text-only", "ttl": "none"}),
    )
    health = (
        BackendHealth("dk", "docker", HealthStatus.OK),
        BackendHealth("kv", "kv", HealthStatus.OK),
    )
    report = find_orphans(Snapshot(sessions, health), config)
    containers = {o.ref.id: o.reason for o in by_category(report, "container") if o.ref}
    assert containers == {
        "gone": "spec 'gone' is not in the config (stopped)",
        "nameless": "labelled managed but names no spec (stopped)",
    }
    keys = [(o.ref, o.path) for o in by_category(report, "kv-no-ttl")]
    assert keys == [(SessionRef("kv", "forever"), "session:forever")]


# ------------------------------------------------------ filters and report


def test_backend_filter_and_unknown_backend(tmp_path: Path) -> None:
    make_session(tmp_path / "a")
    make_session(tmp_path / "b")
    backends: list[BackendConfig] = [
        dirs_config(tmp_path / "a", name="a"),
        dirs_config(tmp_path / "b", name="b"),
    ]
    report = report_for(backends, only=["b"])
    assert [o.backend for o in report] == ["b"]
    config = AppConfig(backends=tuple(backends))
    inv = Inventory.from_config(config)
    try:
        snap = inv.refresh()
        with pytest.raises(UsageError, match="no backend named 'nope'; configured: a, b"):
            find_orphans(snap, config, backends=["nope"])
        # a backend the snapshot did not list is skipped, and said so
        partial = find_orphans(inv.refresh(["a"]), config)
        assert [o.backend for o in partial] == ["a"]
        assert partial.skipped == ("b: not listed; not checked",)
    finally:
        inv.close()
    assert report.counts() == dict.fromkeys(CATEGORIES, 0) | {"dir": 1}
    assert report.total_bytes == sum(o.bytes or 0 for o in report) > 0


# -------------------------------------------------------------------- CLI


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.tmux
@pytest.mark.docker
@pytest.mark.redis
def test_cli_orphans_json_table_and_exit_codes(
    tmp_path: Path,
    isolated_home: Path,
    tmux_server: TmuxServer,
    docker_engine: DockerEngine,
    redis_db: RedisServer,  # noqa: F811 - fixture
) -> None:
    runs = tmp_path / "runs"
    lonely = make_session(runs)
    used = make_session(runs)
    tmux_server.new_session("job", used, "sleep 600")
    agents = tmp_path / "agents"
    JsonManager(FileSessionStore(agents)).start_session(workspace_id="busy")
    (agents / "idle-ws").mkdir()
    gone = make_container(docker_engine, {"sesstui.session": "gone", "sesstui.managed": "true"})
    redis_db.client().set("session:forever", json.dumps({"session_id": "forever"}))
    redis_db.client().set("session:fine", json.dumps({"session_id": "fine"}), ex=600)
    cfg = write_config(
        tmp_path / "sesstui.yml",
        f"""
backends:
  - {{name: runs, kind: dirs, base: "{runs}"}}
  - {{name: agents, kind: json, base: "{agents}"}}
  - {{name: tm, kind: tmux, socket_name: {tmux_server.socket}}}
  - {{name: dk, kind: docker, base_url: "{docker_engine.host}"}}
  - {{name: web, kind: kv, provider: redis, url: "{redis_db.url}"}}
""",
    )
    proc = run_cli("--config", str(cfg), "orphans", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"orphans", "counts", "total_bytes", "skipped"}
    refs = {o["ref"] or o["path"]: o for o in doc["orphans"]}
    mine = {
        f"runs:{lonely.name}",
        str(agents / "idle-ws"),
        "web:forever",
        f"dk:{gone}",
    }
    assert mine <= set(refs)
    assert f"runs:{used.name}" not in refs
    assert "web:fine" not in refs
    # json-temp (crash leftovers) has its own tests: tests/test_jsonstore_tmp.py
    assert {o["category"] for o in doc["orphans"]} == set(CATEGORIES) - {"json-temp"}
    assert refs[str(agents / "idle-ws")] == {
        "category": "workspace",
        "backend": "agents",
        "ref": None,
        "name": "idle-ws",
        "path": str(agents / "idle-ws"),
        "reason": "no session records (empty)",
        "bytes": refs[str(agents / "idle-ws")]["bytes"],
        "actionable": False,
    }
    assert refs[f"runs:{lonely.name}"]["bytes"] > 0
    assert doc["counts"]["dir"] == 1 and doc["skipped"] == []
    assert doc["total_bytes"] == sum(o["bytes"] or 0 for o in doc["orphans"])

    table = run_cli("--config", str(cfg), "orphans")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["CATEGORY", "WHAT", "SIZE", "REASON"]
    assert any(line.startswith("workspace") and "agents:idle-ws/" in line for line in lines)
    assert "orphans (1 dir, 1 workspace, 1 kv-no-ttl" in lines[-1]

    assert run_cli("--config", str(cfg), "orphans", "--check").returncode == 1
    only = run_cli("--config", str(cfg), "orphans", "--json", "--backend", "agents")
    assert [o["category"] for o in json.loads(only.stdout)["orphans"]] == ["workspace"]
    bad = run_cli("--config", str(cfg), "orphans", "--backend", "nope")
    assert bad.returncode == 2 and "no backend named 'nope'" in bad.stderr


def test_cli_no_orphans_and_a_down_backend(tmp_path: Path, isolated_home: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    cfg = write_config(
        tmp_path / "sesstui.yml",
        f"""
backends:
  - {{name: runs, kind: dirs, base: "{runs}"}}
""",
    )
    proc = run_cli("--config", str(cfg), "orphans", "--check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "no orphans\n"
    make_session(runs)
    down = write_config(
        tmp_path / "down.yml",
        f"""
backends:
  - {{name: runs, kind: dirs, base: "{runs}"}}
  - {{name: dk, kind: docker, base_url: "{DEAD_SOCKET}", timeout: 3}}
""",
    )
    proc = run_cli("--config", str(down), "orphans")
    assert proc.returncode == 3
    assert "sesstui: skipped dk: " in proc.stderr
    assert "not checked against dk (down)" in proc.stdout
    # --check: an orphan found wins over the skipped backend
    assert run_cli("--config", str(down), "orphans", "--check").returncode == 1
