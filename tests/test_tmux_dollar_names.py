"""A session name that starts with ``$`` names a session *id* for tmux.

tmux reads ``-t =$1`` (and ``=$1:``) as "the session whose id is $1", not as
the session named ``$1``: the exact-match ``=`` does not change that.  So an
action on a session named after another one's id would reach the other one.
sesstui refuses such names, for new sessions and for actions, on a real
server whose other session is the one that would be hit.
"""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from core.config.records import SessionSpec
from core.errors import SesstuiError
from core.tmux.backend import TmuxBackend
from core.tmux.syntax import lookup_name_problem, new_name_problem
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.tmux


def test_an_exact_target_with_a_dollar_reaches_the_session_with_that_id(
    tmux_server: TmuxServer,
) -> None:
    """The tmux fact the rule rests on (if a tmux ever changes it, this says so)."""
    tmux_server.run("new-session", "-d", "-s", "victim", "sleep 600")
    victim_id = tmux_server.value("=victim:", "#{session_id}")
    tmux_server.run("new-session", "-d", "-s", victim_id, "sleep 600")
    assert tmux_server.value(f"={victim_id}:", "#{session_name}") == "victim"


def test_actions_on_a_dollar_name_never_reach_another_session(tmux_server: TmuxServer) -> None:
    tmux_server.run("new-session", "-d", "-s", "victim", "sleep 600")
    victim_id = tmux_server.value("=victim:", "#{session_id}")
    # a session named like the victim's id, made outside sesstui
    tmux_server.run("new-session", "-d", "-s", victim_id, "sleep 600")
    backend = tmux_server.backend()
    assert {s.name for s in backend.list_sessions()} == {"victim", victim_id}
    for action in (
        lambda: backend.stop(victim_id, graceful=False),
        lambda: backend.stop(victim_id, graceful=True, timeout=0),
        lambda: backend.attach_argv(victim_id, env={}),
        lambda: backend.get(victim_id),
    ):
        with pytest.raises(SesstuiError, match=r"session id"):
            action()
        assert tmux_server.has("victim")
    assert {s.name for s in backend.list_sessions()} == {"victim", victim_id}


def test_a_dollar_name_is_never_started(tmux_server: TmuxServer) -> None:
    tmux_server.run("new-session", "-d", "-s", "victim", "sleep 600")
    victim_id = tmux_server.value("=victim:", "#{session_id}")
    backend = tmux_server.backend()
    spec = replace(SessionSpec(name=victim_id, backend="tm"), command=("sleep", "600"))
    with pytest.raises(SesstuiError, match=r"session id"):
        backend.start(spec)
    assert {s.name for s in backend.list_sessions()} == {"victim"}


def test_the_rule() -> None:
    for name in ("$0", "$12", "$x"):
        assert "session id" in (lookup_name_problem(name) or "")
        assert "session id" in (new_name_problem(name) or "")
    for name in ("a$0", "@0", "%0", "=x", "price $5"):
        assert new_name_problem(name) is None


def test_a_session_that_vanishes_while_starting_never_touches_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """The start is watched with an exact target: when the new session ends
    itself during the check, the watch says so at once and leaves 'bot-2'
    (which a prefix target 'bot' would find) and its options alone."""
    tmux_server.run("new-session", "-d", "-s", "bot-2", "sleep 600")
    tmux_server.run("set-option", "-w", "-t", "=bot-2:", "remain-on-exit", "on")
    backend = TmuxBackend(tmux_server.config(), start_check=20)  # long: only a hang reaches it
    # the program ends its own session (tmux in a pane talks to its own server)
    spec = replace(
        SessionSpec(name="bot", backend="tm"),
        command=("sh", "-c", "tmux kill-session -t =bot; sleep 600"),
    )
    with pytest.raises(SesstuiError, match="vanished right after it started"):
        backend.start(spec)
    assert tmux_server.has("bot-2")
    assert tmux_server.run("show-options", "-w", "-t", "=bot-2:", "remain-on-exit").split() == [
        "remain-on-exit",
        "on",
    ]
