"""The docker backend against real and broken engines: reachability, permissions,
contexts, and the match_labels scope."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from core.docker.backend import DockerBackend
from core.docker.schema import DockerBackendConfig
from core.errors import (
    BackendUnavailable,
    SessionNotFound,
)
from core.inventory import Inventory
from core.model import HealthStatus, State
from tests.conftest import needs_root
from tests.docker_fixtures import (  # noqa: F401 - fixtures
    Daemon,
    DockerEngine,
    _docker_engine_fixture,
    _spare_daemon_fixture,
)
from tests.docker_helpers import (  # noqa: F401 - fixtures
    LOOP,
    _dk_fixture,
    _engine_fixture,
    container,
    make_raw,
    shell,
    write_context,
)
from tests.helpers import as_nobody, unavailable, unique, wait_for


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
