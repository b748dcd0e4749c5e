"""The docker backend against a real, private dockerd (see tests/docker_fixtures.py):
starting, listing, stopping and attaching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace as struct_replace

from core.config.records import Origin
from core.docker.backend import DockerBackend
from core.errors import (
    ActionFailed,
    ConfigError,
    SessionNotFound,
    UsageError,
)
from core.model import Mount, State
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.docker_helpers import (  # noqa: F401 - fixtures
    LOOP,
    _dk_fixture,
    _engine_fixture,
    container,
    make_raw,
    shell,
    spec,
    untimed,
)
from tests.helpers import unique, wait_for


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
    assert mine.facts.container_id == container(engine, name)["Id"]
    assert mine.facts.spec == name and mine.facts.managed
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
    assert stopped.facts.container_id == raw
    assert stopped.facts.spec is None and not stopped.facts.managed, "raw: no sesstui labels"
    everything.close()


@pytest.mark.docker
def test_bind_mounts_are_facts_from_the_one_list_request(
    engine: DockerEngine, dk: DockerBackend, tmp_path: Path
) -> None:
    logs = tmp_path / "odd, dir: a"
    logs.mkdir()
    name = engine.make_container(
        {"sesstui.session": f"m-{unique()}"},
        binds=(("/data", logs, False), ("/ro", tmp_path, True)),
    )
    before = dk.requests
    mine = next(s for s in dk.list_sessions() if s.id == name)
    assert dk.requests - before == 1
    assert sorted(mine.facts.mounts, key=lambda m: m.destination) == [
        Mount(str(logs), "/data", read_only=False),
        Mount(str(tmp_path), "/ro", read_only=True),
    ]


@pytest.mark.docker
def test_a_refresh_converts_only_the_containers_that_changed(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    kept, started, renamed, removed = (f"t-{unique()}" for _ in range(4))
    for name in (kept, started, renamed, removed):
        engine.make_container({"sesstui.session": name}, name=name)
    first = {s.id: s for s in dk.list_sessions()}
    api = engine.client.api
    api.start(started)
    api.rename(renamed, f"{renamed}-2")
    api.remove_container(removed)
    assert dk.get(kept) == first[kept]
    before = dk.requests
    second = {s.id: s for s in dk.list_sessions()}
    assert dk.requests - before == 1
    assert second[kept] is first[kept], "an unchanged container was converted again"
    assert second[started].state is State.RUNNING and second[started].info.startswith("Up")
    assert first[started].state is State.STOPPED
    assert renamed not in second and second[f"{renamed}-2"].name == f"{renamed}-2"
    assert removed not in second, "a removed container is still listed"
    # what was kept is what a first listing makes of the same containers
    # (both created, not started: their rows stay the same between the two)
    fresh = DockerBackend(engine.config())
    try:
        again = {s.id: s for s in fresh.list_sessions()}
    finally:
        fresh.close()
    for name in (kept, f"{renamed}-2"):
        assert again[name] == second[name], name
        assert again[name] is not second[name]


@pytest.mark.docker
def test_a_listing_is_newest_first_then_by_name_across_kept_and_new_rows(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    prefix = f"t-{unique()}"
    api = engine.client.api

    def expected() -> list[str]:
        # the engine's creation seconds, from its own rows (ties are common)
        rows = api.containers(all=True, filters={"label": f"sesstui.test-order={prefix}"})
        names = {r["Names"][0][1:]: int(r["Created"]) for r in rows}
        return sorted(names, key=lambda n: (-names[n], n))

    def listed() -> list[str]:
        return [s.id for s in dk.list_sessions() if s.id.startswith(prefix)]

    for suffix in ("a", "b", "c"):
        name = f"{prefix}-{suffix}"
        engine.make_container({"sesstui.session": name, "sesstui.test-order": prefix}, name=name)
    assert listed() == expected()
    name = f"{prefix}-z"  # new beside kept ones: first if newer, else last by name
    engine.make_container({"sesstui.session": name, "sesstui.test-order": prefix}, name=name)
    assert listed() == expected()


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
    wait_for(lambda: "ready" in untimed(dk.tail(name, lines=5)), what="the trap set")
    dk.stop(name, timeout=30)
    state = container(engine, name)["State"]
    assert state["ExitCode"] == 0 and not state["Running"]
    assert "bye" in untimed(dk.tail(name, lines=5))


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
