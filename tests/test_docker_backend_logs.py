"""The docker backend against a real, private dockerd: logs, delete and prune."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from core.docker.backend import DockerBackend
from core.docker.stream import ContainerLogStream
from core.errors import (
    SessionNotFound,
)
from core.model import LogLine, PrunePolicy, PruneReason, State
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    DockerEngine,
    _docker_engine_fixture,
)
from tests.docker_helpers import (  # noqa: F401 - fixtures
    LOOP,
    _dk_fixture,
    _engine_fixture,
    make_raw,
    read_until,
    shell,
)
from tests.helpers import unique, wait_for


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
