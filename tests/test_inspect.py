"""``inspect`` (#13) on real files, a real memory KV store and real processes:
the sections each kind gives, redaction, the /proc reader, the CLI twin."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.dirs.backend import DirsBackend
from core.dirs.tree import scan_tree, tree_lines
from core.inspection import Section
from core.inventory import Inventory
from core.jsonstore.backend import JsonBackend
from core.jsonstore.schema import JsonBackendConfig
from core.kv.backend import KvBackend
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import SessionRef
from core.procs import parse_stat, read_processes, tree, usage
from tests.helpers import ManualClock, dirs_config, kv_record, make_session, run_cli, wait_for

# ------------------------------------------------------------------ /proc


def test_parse_stat_reads_a_comm_with_spaces_and_parentheses() -> None:
    fields = ["S", "7"] + ["0"] * 9 + ["30", "12"] + ["0"] * 8 + ["25"] + ["0"] * 20
    line = "42 (my (odd) prog) " + " ".join(fields)
    proc = parse_stat(line, 42, page=4096)
    assert proc is not None
    assert (proc.pid, proc.ppid, proc.comm, proc.state) == (42, 7, "my (odd) prog", "S")
    assert proc.cpu_ticks == 42 and proc.rss_bytes == 25 * 4096
    assert parse_stat("garbage", 1) is None
    assert parse_stat("1 (x) S 0", 1) is None  # too few fields


@pytest.fixture
def sleeper_tree() -> Iterator[subprocess.Popen[bytes]]:
    """A shell whose child is a sleep: a process tree two deep."""
    proc = subprocess.Popen(["/bin/sh", "-c", "sleep 600 & wait"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
        subprocess.run(["pkill", "-P", str(proc.pid)], check=False)


def test_the_tree_of_a_real_process(sleeper_tree: subprocess.Popen[bytes]) -> None:
    root = sleeper_tree.pid

    def has_child() -> bool:
        return any(p.ppid == root for p in read_processes(cmdlines=False).values())

    wait_for(has_child, 10, "the shell's sleep")
    procs = read_processes()
    rows = tree([root], procs)
    assert (rows[0][0], rows[0][1].pid) == (0, root)
    child = next(p for d, p in rows if d == 1)
    assert child.cmdline == "sleep 600" and child.ppid == root
    me = procs[os.getpid()]
    assert me.rss_bytes > 0 and "pytest" in me.cmdline  # this test run itself
    total = usage([root], procs)
    assert total.processes == 2 and total.pids == {root, child.pid}
    assert total.rss_bytes == procs[root].rss_bytes + child.rss_bytes
    assert tree([999_999_999], procs) == []  # no such pid: nothing


# ------------------------------------------------------------------ sections


def test_a_section_redacts_secret_keys_and_urls() -> None:
    s = Section.make(
        "env",
        [("API_TOKEN", "abc123"), ("DB", "postgres://bob:hunter2@db/x"), ("MODE", "fast")],
    )
    assert dict(s.fields) == {"API_TOKEN": "***", "DB": "postgres://bob:***@db/x", "MODE": "fast"}
    assert "hunter2" not in json.dumps(s.to_json())


# ------------------------------------------------------------------ dirs


def test_dirs_tree_largest_first_with_sizes_and_links_not_followed(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "huge.bin").write_bytes(b"x" * 100_000)
    path = make_session(
        base,
        files={
            "logs/app.log": "a" * 3000,
            "logs/old.log": "b" * 10,
            "out/result.bin": b"c" * 5000,
            "small.txt": "d",
        },
    )
    (path / "link").symlink_to(outside)
    root = scan_tree(str(path))
    assert root.bytes == 3000 + 10 + 5000 + 1 + (path / "link").lstat().st_size
    lines = tree_lines(root)
    names = [line.split()[-1] if "/" not in line else line for line in lines]
    assert lines[0].endswith("out/  (1 file)") and "4.9 KiB" in lines[0]
    assert lines[1].endswith("result.bin")
    assert lines[2].endswith("logs/  (2 files)")
    assert lines[3].endswith("app.log") and lines[4].endswith("old.log")  # largest first inside
    assert any("link (symlink, not followed)" in line for line in lines)
    assert not any("huge.bin" in n for n in names)
    short = tree_lines(root, max_entries=2, max_depth=1)
    assert short[-1].endswith("… 2 more")

    inv = Inventory([DirsBackend(dirs_config(base))])
    ins = inv.inspect(SessionRef("runs", path.name))
    assert [s.title for s in ins.sections] == [
        "session",
        "session directory",
        "tree (largest first)",
        "logs (2)",
    ]
    assert dict(ins.section("session directory").fields)["files"] == "5"
    assert ins.section("tree").lines == tuple(lines)


# ------------------------------------------------------------------ kv


def test_kv_value_with_ttl_and_metadata_redacted() -> None:
    clock = ManualClock()
    stores = MemoryStores()
    store = stores.store("inspect-kv", clock=clock)
    value = json.loads(kv_record("s1", now=clock.now, ttl=600))
    value["custom_metadata"] = {"workdir": "/srv/x", "api_token": "tok-123"}
    store.setex("session:s1", 600, json.dumps(value))
    store.setex("session:junk", 900, "not json")
    backend = KvBackend(KvBackendConfig(name="inspect-kv", kind="kv"), clock=clock, stores=stores)
    inv = Inventory([backend])
    ins = inv.inspect(SessionRef("inspect-kv", "s1"))
    key = dict(ins.section("kv key").fields)
    assert key["key"] == "session:s1" and key["ttl"] == "10m00s (600 s)"
    assert dict(ins.section("value").fields)["sandbox_id"] == "app-1"
    meta = dict(ins.section("custom_metadata").fields)
    assert meta == {"workdir": "/srv/x", "api_token": "***"}
    assert "tok-123" not in json.dumps(ins.to_json())
    clock.advance(timedelta(seconds=90))
    later = inv.inspect(SessionRef("inspect-kv", "s1"))
    assert dict(later.section("kv key").fields)["ttl"] == "8m30s (510 s)"
    junk = inv.inspect(SessionRef("inspect-kv", "junk"))
    assert junk.section("value (not a session record)").lines == ("not json",)
    store.clear()


# ------------------------------------------------------------------ json


def write_record(base: Path) -> None:
    record = {
        "session_id": "chat1",
        "workspace_id": None,
        "created_at": "2026-11-21T10:00:00+00:00",
        "updated_at": "2026-11-21T10:05:00+00:00",
        "agent_id": "planner",
        "turns": [
            {
                "turn_id": "t1",
                "agent_id": "planner",
                "prompt": "list the files\nin /srv",
                "response_content": "there are 3",
                "tool_calls": [
                    {
                        "call_id": "c1",
                        "tool_name": "ls",
                        "arguments": {"path": "/srv"},
                        "result": ["a", "b", "c"],
                        "status": "success",
                        "duration_ms": 12,
                    }
                ],
                "status": "success",
                "started_at": "2026-11-21T10:01:00+00:00",
            },
            {"turn_id": "t2", "prompt": "thanks", "response_content": None, "status": "error",
             "error": "timeout"},
        ],
        "agent_transitions": [{"from_agent": "planner", "to_agent": "coder", "reason": "code"}],
        "metadata": {"ended": True, "password": "pw-9"},
    }  # fmt: skip
    base.mkdir(parents=True, exist_ok=True)
    (base / "chat1.json").write_text(json.dumps(record))
    (base / "broken.json").write_text("{not json")


def test_json_record_with_turns_and_tool_calls(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    write_record(base)
    inv = Inventory([JsonBackend(JsonBackendConfig(name="js", kind="json", base=base))])
    ins = inv.inspect(SessionRef("js", "chat1"))
    titles = [s.title for s in ins.sections]
    assert titles == [
        "session",
        "record",
        "metadata (2)",
        "turn 1",
        "turn 2",
        "agent transitions (1)",
    ]
    one = ins.section("turn 1")
    fields = dict(one.fields)
    assert fields["prompt"] == "list the files\nin /srv" and fields["response"] == "there are 3"
    (call,) = one.children
    assert call.title == "tool call 1: ls"
    assert dict(call.fields)["arguments"] == '{"path": "/srv"}'
    assert dict(call.fields)["result"] == '["a", "b", "c"]'
    assert dict(ins.section("turn 2").fields)["error"] == "timeout"
    assert dict(ins.section("metadata").fields)["password"] == "***"
    assert ins.section("agent transitions").lines == ("?  planner -> coder  (code)",)
    text = "\n".join(ins.lines())
    assert "  prompt      list the files\n              in /srv\n" in text
    assert "  response  (none)" in text
    assert "pw-9" not in text
    broken = inv.inspect(SessionRef("js", "broken"))
    assert broken.sections[-1].title == "record (corrupt: not a JSON object)"


def test_cli_inspect_text_and_json(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    write_record(base)
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: js, kind: json, base: '{base}'}}\n")
    r = run_cli("--config", str(cfg), "inspect", "js:chat1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ref"] == "js:chat1" and doc["kind"] == "json"
    turn = next(s for s in doc["sections"] if s["title"] == "turn 1")
    assert turn["children"][0]["fields"]["call_id"] == "c1"
    r = run_cli("--config", str(cfg), "inspect", "chat1")
    assert r.returncode == 0 and r.stdout.startswith("session\n  ref ")
    assert "tool call 1: ls" in r.stdout
    r = run_cli("--config", str(cfg), "inspect", "js:nope")
    assert r.returncode == 4 and "no session record" in r.stderr


def test_stop_description_of_a_kind_that_cannot_stop(tmp_path: Path) -> None:
    base = tmp_path / "agents"
    write_record(base)
    inv = Inventory([JsonBackend(JsonBackendConfig(name="js", kind="json", base=base))])
    told = inv.stop_description(SessionRef("js", "chat1"))
    assert (
        not told.can_stop and told.stop == "json sessions cannot be stopped; delete them instead."
    )
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: js, kind: json, base: '{base}'}}\n")
    r = run_cli("--config", str(cfg), "stop", "js:chat1", "--yes")
    assert r.returncode == 2 and "cannot stop js:chat1: json sessions cannot be stopped" in r.stderr
