"""Outputs whose own safeguard a deliberately broken line slipped past (an
audit of issue 10): a symlink named like a JSON store's temporary file, and
the journal's own redaction.  Each test fails when that line is removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.config.records import AppConfig
from core.inventory import Inventory
from core.journal import Journal
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import STALE_TEMP_SECONDS, FileSessionStore, temp_files
from core.orphans import find_orphans
from core.redaction import forget_secrets, redact

NOW = 1_900_000_000.0  # the injected clock


def test_a_symlink_named_like_a_temp_file_is_neither_listed_nor_planned(tmp_path: Path) -> None:
    """Only regular files are a crashed write's leftovers: a link with such a
    name (to a file outside) is not shown with the target's size, and prune
    never plans it."""
    base = tmp_path / "agents"
    SessionManager(FileSessionStore(base)).start_session(agent_id="a")
    outside = tmp_path / "precious"
    outside.write_text("keep me, I am 26 bytes long")
    link = base / ".s1.json.4242.0123abcd.tmp"
    link.symlink_to(outside)
    os.utime(link, (NOW - 2 * STALE_TEMP_SECONDS,) * 2, follow_symlinks=False)
    assert temp_files(base) == []
    cfg = AppConfig(backends=(JsonBackendConfig(name="agents", kind="json", base=base),))
    snapshot = Inventory.from_config(cfg, journal=False).refresh()
    assert [o for o in find_orphans(snapshot, cfg, clock=lambda: NOW) if o.path == str(link)] == []
    plan = JsonBackend(cfg.backends[0], clock=lambda: NOW).plan_prune()
    assert str(link) not in [e.path for e in plan.entries]
    assert outside.read_text() == "keep me, I am 26 bytes long" and link.is_symlink()


def test_the_journal_redacts_what_it_is_given(tmp_path: Path) -> None:
    """Whatever a caller puts into an entry (an exception's text, a command
    line), the file never holds a secret: the journal redacts on its own."""
    forget_secrets()  # no remembered secret may do the journal's work
    journal = Journal(tmp_path / "journal.jsonl")
    entry = journal.record(
        "extend",
        "web:s1",
        "failed",
        detail="AUTH failed (password = hunter2) at redis://:pa55#w0rd@db:6379/0",
        command="sesstui extend web:s1 --ttl 1h --token=abc123xyz",
    )
    text = (tmp_path / "journal.jsonl").read_text()
    for secret in ("hunter2", "pa55#w0rd", "abc123xyz"):
        assert secret not in text, secret
        assert secret not in entry.detail + entry.command, secret
    assert "password = ***" in text and "redis://:***@db:6379/0" in text


def test_a_yaml_single_quoted_secret_with_a_doubled_quote_is_hidden_whole() -> None:
    """YAML writes a quote inside '...' as '': the value runs to the last quote,
    not to the first one (which left "s a secret" in view)."""
    forget_secrets()
    assert redact("password: 'it''s a secret'") == "password: '***'"
    assert redact("{'token': 'p''q r', 'host': 'db'}") == "{'token': '***', 'host': 'db'}"
    assert redact("password='' next='x y'") == "password='***' next='x y'"
