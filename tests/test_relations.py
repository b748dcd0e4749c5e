"""Related sessions across kinds, found from real backends' listings.

tmux panes on private servers, containers on the private dockerd, KV records
in the memory provider and JSON records in real files; every session goes
through its backend's ``list_sessions()`` before :mod:`core.relations` sees it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from core.dirs.backend import DirsBackend
from core.docker.backend import DockerBackend
from core.docker.listing import mounts_of, mounts_text
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager as JsonManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager as KvManager
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import Facts, Mount, Session, SessionRef, State
from core.relations import Relation, related, related_with_reasons
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.helpers import dirs_config, make_session, unique
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture


def dirs_sessions(base: Path, name: str = "runs") -> list[Session]:
    return DirsBackend(dirs_config(base, name=name)).list_sessions()


def whys(rels: dict[SessionRef, list[Relation]], ref: SessionRef) -> dict[SessionRef, str]:
    return {r.ref: r.why for r in rels.get(ref, [])}


def kv_backend_with(records: list[dict[str, Any]]) -> KvBackend:
    """A memory KV backend of its own, holding one session per metadata dict."""
    name = f"kv-{unique()}"
    stores = MemoryStores()
    manager = KvManager("app", provider=stores.provider(name))

    async def fill() -> None:
        for meta in records:
            await manager.allocate_session(user_id="ann", custom_metadata=meta)

    asyncio.run(fill())
    return KvBackend(KvBackendConfig(name=name, kind="kv", provider="memory"), stores=stores)


# ------------------------------------------------------------------- tmux


@pytest.mark.tmux
def test_tmux_pane_cwd_inside_a_session_dir(tmux_server: TmuxServer, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sdir = make_session(runs)
    other = make_session(runs)
    tmux_server.new_session("job", sdir / "logs", "sleep 600")
    tmux_server.new_session("elsewhere", tmp_path, "sleep 600")
    sessions = [*dirs_sessions(runs), *tmux_server.backend("tm").list_sessions()]
    rels = related_with_reasons(sessions)
    job, away = SessionRef("tm", "job"), SessionRef("tm", "elsewhere")
    d = SessionRef("runs", sdir.name)
    assert whys(rels, job) == {d: "cwd in"}
    assert whys(rels, d) == {job: "cwd here"}
    assert away not in rels and SessionRef("runs", other.name) not in rels
    # the old signature: the same pairs, refs only
    assert related(sessions) == {job: [d], d: [job]}


@pytest.mark.tmux
def test_a_base_reached_through_a_symlink_still_matches(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    real = tmp_path / "real-runs"
    sdir = make_session(real)
    link = tmp_path / "runs-link"
    link.symlink_to(real)
    # the pane works in the directory as reached through the link; tmux
    # reports the resolved path, the dirs backend the configured (linked) one
    tmux_server.new_session("job", link / sdir.name, "sleep 600")
    sessions = [*dirs_sessions(link), *tmux_server.backend("tm").list_sessions()]
    tm = next(s for s in sessions if s.kind == "tmux")
    assert tm.metadata["cwd"] == str(sdir)
    assert related(sessions)[SessionRef("tm", "job")] == [SessionRef("runs", sdir.name)]


# ---------------------------------------------------------------- docker


@pytest.mark.docker
def test_container_mounting_a_session_dir(docker_engine: DockerEngine, tmp_path: Path) -> None:
    # a comma, a colon and a space in the host path: the mounts format keeps them
    runs = tmp_path / "runs, v2: a"
    sdir = make_session(runs)
    unrelated = tmp_path / "cache"
    unrelated.mkdir()
    name = f"t-{unique()}"
    docker_engine.make_container(
        {"sesstui.session": name},
        name=name,
        binds=(("/data", sdir / "logs", False), ("/cache", unrelated, True)),
    )
    dk = DockerBackend(docker_engine.config("dk"))
    try:
        before = dk.requests
        containers = dk.list_sessions()
        assert dk.requests - before == 1  # mounts come with the one list request
    finally:
        dk.close()
    mine = next(s for s in containers if s.id == name)
    assert sorted((m.source, m.destination) for m in mine.facts.mounts) == sorted(
        [(str(sdir / "logs"), "/data"), (str(unrelated), "/cache")]
    )
    rels = related_with_reasons([*dirs_sessions(runs), *containers])
    d, c = SessionRef("runs", sdir.name), SessionRef("dk", name)
    assert whys(rels, c) == {d: "mounts"}
    assert whys(rels, d) == {c: "mounted by"}

    # records naming the container: by name (JSON) and by short id (KV)
    cid = mine.facts.container_id
    assert cid
    store = tmp_path / "agents"
    record = JsonManager(FileSessionStore(store)).start_session(
        agent_id="a", metadata={"container": name}
    )
    js = JsonBackend(JsonBackendConfig(name="agents", kind="json", base=store)).list_sessions()
    kv = kv_backend_with([{"sandbox": cid[:12]}, {"sandbox": cid[:11]}])
    kvs = kv.list_sessions()
    rels = related_with_reasons([*containers, *js, *kvs])
    j = SessionRef("agents", record.session_id)
    assert whys(rels, j) == {c: "meta.container names"}
    named = [s for s in kvs if s.metadata["meta.sandbox"] == cid[:12]]
    assert whys(rels, named[0].ref) == {c: "meta.sandbox names"}
    assert whys(rels, c) == {j: "named by meta.container", named[0].ref: "named by meta.sandbox"}
    prefix_only = next(s for s in kvs if s.metadata["meta.sandbox"] == cid[:11])
    assert prefix_only.ref not in rels  # only the full id or the 12-character short id


def test_mounts_keep_odd_paths_as_they_are() -> None:
    rows = [
        {"Source": "/srv/a,b:c d", "Destination": "/data"},
        {"Source": "/srv/new\nline\\x", "Destination": "/x -> y", "RW": False},
        {"Type": "tmpfs", "Destination": "/tmp"},  # no source: left out
        "garbage",
    ]
    # the typed facts keep every character, whatever the path holds
    assert [(m.source, m.destination, m.read_only) for m in mounts_of(rows)] == [
        ("/srv/a,b:c d", "/data", False),
        ("/srv/new\nline\\x", "/x -> y", True),
    ]
    # the text for people: one line per mount, a newline or backslash escaped
    assert mounts_text(rows).split("\n") == [
        "/srv/a,b:c d -> /data",
        "/srv/new\\nline\\\\x -> /x -> y",
    ]
    assert mounts_text(None) == ""


# ------------------------------------------------------------ KV and JSON


def test_kv_and_json_metadata_naming_a_session_dir(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sdir = make_session(runs)
    other = make_session(runs)
    kv = kv_backend_with(
        [
            {"workdir": str(sdir / "work" / "deep"), "note": "no path"},
            {"log": f"{other}/logs/../logs/app.log"},  # normalised before the lookup
            {"workdir": f"{runs}/not-a-session/x", "count": 3},
        ]
    )
    store = tmp_path / "agents"
    manager = JsonManager(FileSessionStore(store))
    rec = manager.start_session(workspace_id="ws", metadata={"session_dir": str(sdir)})
    manager.start_session(metadata={"session_dir": str(runs)})  # the base, not a session
    js = JsonBackend(JsonBackendConfig(name="agents", kind="json", base=store)).list_sessions()
    kvs = kv.list_sessions()
    rels = related_with_reasons([*dirs_sessions(runs), *kvs, *js])
    d, o = SessionRef("runs", sdir.name), SessionRef("runs", other.name)
    by_meta = {s.metadata.get("meta.workdir") or s.metadata.get("meta.log"): s.ref for s in kvs}
    k_work = by_meta[str(sdir / "work" / "deep")]
    k_log = by_meta[f"{other}/logs/../logs/app.log"]
    j = SessionRef("agents", f"ws/{rec.session_id}")
    assert whys(rels, k_work) == {d: "meta.workdir names"}
    assert whys(rels, k_log) == {o: "meta.log names"}
    assert whys(rels, j) == {d: "meta.session_dir names"}
    assert whys(rels, d) == {k_work: "named by meta.workdir", j: "named by meta.session_dir"}
    assert set(rels) == {d, o, k_work, k_log, j}


def test_no_session_dirs_and_no_containers_means_no_relations(tmp_path: Path) -> None:
    kv = kv_backend_with([{"workdir": str(tmp_path)}])
    assert related_with_reasons(kv.list_sessions()) == {}
    assert related([]) == {}

    class Unread(dict[str, str]):
        def items(self) -> Any:
            raise AssertionError("metadata read: nothing could have matched")

    # with nothing to point at, 100k KV sessions' metadata is never decoded
    listed = [dataclasses.replace(s, metadata=Unread(s.metadata)) for s in kv.list_sessions()]
    assert related_with_reasons(listed) == {}


# ------------------------------------------------ facts, not metadata strings


def test_relations_come_from_typed_facts_of_any_kind(tmp_path: Path) -> None:
    """Pane cwds and logs, mounts and container ids are read from
    ``Session.facts``, whatever the kind; the same texts in ``metadata`` link
    nothing (they are free text for people)."""
    runs = tmp_path / "runs"
    a, b, c, d = (make_session(runs) for _ in range(4))
    dirs = {s.id: s.ref for s in dirs_sessions(runs)}

    def session(ident: str, kind: str, **kw: Any) -> Session:
        return Session(SessionRef("other", ident), ident, kind, State.RUNNING, **kw)

    panes = session(
        "panes", "tmux", facts=Facts(cwds=("/elsewhere", f"{a}/src"), logs=(f"{b}/p.log",))
    )
    box = session(
        "box",
        "docker",
        facts=Facts(container_id="f00d" * 16, mounts=(Mount(str(c / "data"), "/data"),)),
    )
    # a kind this module has never heard of, with the same facts
    odd = session("odd", "podlet", facts=Facts(container_id="beef" * 16))
    record = session("rec", "kv", metadata={"meta.box": "f00d" * 3, "meta.odd": "odd"})
    # metadata that looks like the old strings: not a fact, no link
    stale = session(
        "stale", "tmux", metadata={"cwd": str(d), "log": f"{d}/x.log", "mounts": f"{d} -> /x"}
    )
    rels = related_with_reasons([*dirs_sessions(runs), panes, box, odd, record, stale])
    assert whys(rels, panes.ref) == {dirs[a.name]: "cwd in", dirs[b.name]: "log in"}
    assert whys(rels, dirs[a.name]) == {panes.ref: "cwd here"}
    assert whys(rels, box.ref) == {dirs[c.name]: "mounts", record.ref: "named by meta.box"}
    assert whys(rels, dirs[c.name]) == {box.ref: "mounted by"}
    assert whys(rels, record.ref) == {box.ref: "meta.box names", odd.ref: "meta.odd names"}
    assert stale.ref not in rels and dirs[d.name] not in rels


def test_a_path_equal_to_a_cwd_is_said_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    a = make_session(runs)
    pane = Session(
        SessionRef("tm", "s"), "s", "tmux", State.RUNNING, path=str(a), facts=Facts(cwds=(str(a),))
    )
    rels = related_with_reasons([*dirs_sessions(runs), pane])
    assert whys(rels, pane.ref) == {SessionRef("runs", a.name): "cwd in"}
