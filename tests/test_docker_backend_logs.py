"""The docker backend against a real, private dockerd: logs, delete and prune."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.docker.backend import DockerBackend
from core.docker.base import parse_time
from core.docker.stream import PART_BYTES, ContainerLogStream
from core.errors import (
    SessionNotFound,
)
from core.inventory import Inventory
from core.logmerge import MergedLine, MergedTail, parse_timestamp
from core.model import LogLine, PrunePolicy, PruneReason, SessionRef, State
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
    read_until,
    shell,
    stamped,
    untimed,
)
from tests.helpers import dirs_config, make_session, unique, wait_for


@pytest.mark.docker
def test_tail_last_lines_and_follow(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(
        shell(
            name, engine.image, "seq 1 50; sleep 0.3; echo oops >&2; while true; do sleep 0.1; done"
        )
    )
    wait_for(lambda: "oops" in untimed(dk.tail(name, lines=3)), 10, "the output")
    assert untimed(dk.tail(name, lines=3)) == ["49", "50", "oops"]
    assert dk.logs(name)[0].name == "container"
    with pytest.raises(SessionNotFound, match="no log 'pane'"):
        dk.tail(name, source="pane")
    stream = dk.tail(name, lines=2, follow=True)
    assert untimed(read_until(stream, "oops")) == ["50", "oops"]
    engine.client.api.exec_start(
        engine.client.api.exec_create(name, ["sh", "-c", "echo fresh > /proc/1/fd/1"])
    )
    assert untimed(read_until(stream, "fresh")) == ["fresh"]
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
    lines = untimed(stream)  # ends by itself
    assert lines[0] == "start"
    assert lines[-1] == "— container exited (code 3) —"
    assert isinstance(stream, ContainerLogStream) and stream.done


@pytest.mark.docker
def test_follow_ends_when_the_container_is_removed(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"echo here; {LOOP}"))
    stream = dk.tail(name, lines=10, follow=True)
    assert untimed(read_until(stream, "here")) == ["here"]
    engine.client.api.remove_container(name, force=True)
    rest = read_until(stream, "—")
    assert rest[-1] == LogLine("— container removed —", notice=True)


@pytest.mark.docker
def test_lines_carry_the_engines_times_in_order(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"seq 1 5; sleep 0.3; echo six; {LOOP}"))
    wait_for(lambda: "six" in untimed(dk.tail(name, lines=10)), 10, "the output")
    got = stamped(dk.tail(name, lines=10))
    assert [text for _, text in got] == ["1", "2", "3", "4", "5", "six"]
    times = [when for when, _ in got]
    assert times == sorted(times), "the engine's times are in the order of the lines"
    assert times[5] > times[4], "six came 0.3 s after 5: its time is later"
    # the engine records StartedAt after the process runs: Created is before it
    created = parse_time(container(engine, name)["Created"])
    assert created is not None and times[0] >= created.replace(
        microsecond=created.microsecond // 1000 * 1000
    ), "a line's time is the engine's, after the container was created"
    # the merged view reads the same time off the line
    first = dk.tail(name, lines=6).read_available(0)[0]
    assert parse_timestamp(first.text) == times[0].timestamp()
    stream = dk.tail(name, lines=1, follow=True)
    engine.client.api.exec_start(
        engine.client.api.exec_create(name, ["sh", "-c", "echo fresh > /proc/1/fd/1"])
    )
    followed = stamped(read_until(stream, "fresh"))
    stream.close()
    assert [text for _, text in followed] == ["six", "fresh"]
    assert followed[1][0] >= times[5]


@pytest.mark.docker
def test_several_lines_partial_lines_and_stderr_each_stand_alone(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    script = (
        r"printf 'a\nb\n\nc\n'; sleep 0.2; echo err >&2; sleep 0.2; "
        "printf out-no-newline; sleep 0.2; printf err-no-newline >&2; exit 0"
    )
    dk.start(shell(name, engine.image, script))
    wait_for(lambda: dk.get(name).state is State.STOPPED, 10, "the exit")
    for lines in (
        untimed(dk.tail(name, lines=20)),
        untimed(dk.tail(name, lines=20, follow=True))[:-1],  # then the exit notice
    ):
        assert lines[:5] == ["a", "b", "", "c", "err"]
        # the two unfinished lines come when the streams end, in either order
        assert sorted(lines[5:]) == ["err-no-newline", "out-no-newline"]


@pytest.mark.docker
def test_a_line_longer_than_the_engines_part_comes_whole(
    engine: DockerEngine, dk: DockerBackend
) -> None:
    name = f"t-{unique()}"
    long = 3 * PART_BYTES + 100
    line = f"head -c {long} /dev/zero | tr '\\0' x; echo; echo after"
    tty = f"t-{unique()}"  # a TTY's output comes unframed
    dk.start(shell(name, engine.image, line))
    dk.start(shell(tty, engine.image, line, attach="attach"))
    wait_for(lambda: {dk.get(b).state for b in (name, tty)} == {State.STOPPED}, 10, "the exits")
    for box in (name, tty):
        for lines in (
            stamped(dk.tail(box, lines=20)),
            stamped(dk.tail(box, lines=20, follow=True)),
        ):
            assert [text for _, text in lines] == ["x" * long, "after"], box


@pytest.mark.docker
def test_a_tty_containers_lines_carry_times_too(engine: DockerEngine, dk: DockerBackend) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"echo tty-line; echo second; {LOOP}", attach="attach"))
    assert container(engine, name)["Config"]["Tty"] is True
    wait_for(lambda: "second" in untimed(dk.tail(name, lines=5)), 10, "the output")
    assert untimed(dk.tail(name, lines=5)) == ["tty-line", "second"]
    stream = dk.tail(name, lines=5, follow=True)
    assert untimed(read_until(stream, "second")) == ["tty-line", "second"]
    stream.close()


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
def test_merged_tail_interleaves_a_container_and_a_dirs_log_by_time(
    engine: DockerEngine, dk: DockerBackend, tmp_path: Path
) -> None:
    name = f"t-{unique()}"
    dk.start(shell(name, engine.image, f"echo c1; sleep 0.3; echo c2; sleep 0.3; echo c3; {LOOP}"))
    wait_for(lambda: "c3" in untimed(dk.tail(name, lines=5)), 10, "the output")
    t1, t2, t3 = (when for when, _ in stamped(dk.tail(name, lines=3)))
    # the dirs log's times sit before, between and after the engine's own
    times = {
        "d0": t1 - timedelta(seconds=1),
        "d1": t1 + (t2 - t1) / 2,
        "d2": t2 + (t3 - t2) / 2,
        "d3": t3 + timedelta(seconds=1),
    }
    base = tmp_path / "runs"
    run = make_session(
        base,
        files={
            "logs/app.log": "".join(
                f"{when.isoformat(timespec='milliseconds')} {word}\n"
                for word, when in times.items()
            )
        },
    )
    inv = Inventory([DirsBackend(dirs_config(base)), dk])
    refs = [SessionRef("runs", run.name), SessionRef("dk", name)]
    with MergedTail(inv, refs, lines=10, labels={refs[1]: "box"}) as tail:
        got: list[MergedLine] = []

        def seven() -> bool:
            got.extend(tail.read_available(0.2))
            return len(got) >= 7

        wait_for(seven, 15, "the merged backlog")
    assert [m.line.text.split()[-1] for m in got] == ["d0", "c1", "d1", "c2", "d2", "c3", "d3"]
    assert [m.label for m in got[:2]] == [str(refs[0]), "box"]
    assert [m.time for m in got if m.source == refs[1]] == [t.timestamp() for t in (t1, t2, t3)]
