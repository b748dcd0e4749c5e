"""A password written raw into a Redis URL with a ``#``, ``?`` or ``/`` in it.

Every URL parser (urllib, and so redis-py) ends the host part at the first of
those: the client then connects to a host made of a piece of the password and
its error says so ("Error -2 connecting to <piece>:6379"), past every layer of
redaction (the piece is neither the whole password nor a known secret).  Such
a URL is refused before any client sees it, at config load and at run time,
and the refusal names no piece of the password.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from core.kv.providers import RedisProvider
from core.redaction import forget_secrets, url_userinfo_problem
from tests.helpers import run_cli

settings.register_profile("userinfo", derandomize=True, max_examples=200, database=None)
PROFILE = settings.get_profile("userinfo")

PASSWORD = "k7@Q9zv Xw#Lm4%20é/Rt8?Yu2"


def pieces(secret: str) -> list[str]:
    """The parts a URL parser could cut the password into, and their words."""
    parts = re.split(r"[#?/@]", secret)
    return [p for part in parts for p in (part, *part.split()) if len(p) >= 3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_no_piece(text: str, where: str) -> None:
    for piece in pieces(PASSWORD):
        assert piece not in text, f"{piece!r} leaked in {where}: {text}"


cut_passwords = st.tuples(
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=15),
    st.sampled_from("#?/"),
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=15),
).map("".join)


@settings(PROFILE)
@given(cut_passwords, st.sampled_from(["", "bob"]))
def test_a_raw_cutting_character_is_refused_without_the_password(password: str, user: str) -> None:
    url = f"redis://{user}:{password}@127.0.0.1:6379/0"
    problem = url_userinfo_problem(url)
    assert problem
    assert "percent-encode" in problem
    for piece in re.split(r"[#?/]", password):
        assert len(piece) < 3 or piece not in problem


@settings(PROFILE)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_a_percent_encoded_password_is_never_refused(password: str) -> None:
    for url in (
        f"redis://:{quote(password, safe='')}@127.0.0.1:6379/0",
        f"rediss://default:{quote(password, safe='')}@db.example:6380/2?ssl_cert_reqs=none",
        f"unix://:{quote(password, safe='')}@/run/redis.sock?db=0",
    ):
        assert url_userinfo_problem(url) == "", url


def test_plain_urls_are_not_refused() -> None:
    for url in (
        "redis://127.0.0.1:6379/0",
        "redis://:p@ss@h:1/0",  # a raw '@' is read the same by every parser
        "rediss://u:p w@h",
        "redis://:pw@[::1]:6379/0",
        "unix:///tmp/redis.sock",
        "unix:///run/redis@main/redis.sock?db=0",  # an '@' in a socket path
        "redis://h:1/0?x=a%40b",
    ):
        assert url_userinfo_problem(url) == "", url


def test_config_check_refuses_it_with_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    cfg.write_text(
        f"backends:\n  - name: web\n    kind: kv\n    provider: redis\n    url: '{url}'\n"
    )
    done = run_cli("--config", str(cfg), "config", "check", env={"HOME": str(tmp_path)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{cfg}:5: backends[0].url: this Redis URL cannot be used as written" in done.stderr
    assert_no_piece(done.stdout + done.stderr, "config check")


def test_redis_url_from_the_environment_is_refused_at_run_time(tmp_path: Path) -> None:
    # no url in the file: REDIS_URL is read when the backend connects
    cfg = tmp_path / "c.yml"
    cfg.write_text("backends:\n  - {name: web, kind: kv, provider: redis, connect_timeout: 2}\n")
    env = {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0",
    }
    done = run_cli("--config", str(cfg), "ls", "--json", env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    (health,) = json.loads(done.stdout)["backends"]
    assert health["status"] == "unavailable"
    assert "percent-encode the password" in health["reason"]
    assert_no_piece(done.stdout + done.stderr, "ls --json")


def test_the_library_provider_refuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_secrets()  # only what the provider itself remembers may hide the password
    provider = RedisProvider(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="percent-encode the password") as err:
        asyncio.run(provider.get("session:x"))
    assert_no_piece(str(err.value), "the provider's error")
    forget_secrets()
