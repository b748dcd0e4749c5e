"""The `sesstui` CLI as a user runs it: real subprocesses, real directories."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import live_process, make_session, run_cli


def write_config(tmp_path: Path, base: Path, extra: str = "", **retention: int) -> Path:
    ret = retention or {"max_sessions": 20, "max_age_days": 10}
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        "backends:\n"
        "  - name: runs\n"
        "    kind: dirs\n"
        f"    base: {base}\n"
        "    retention:\n"
        f"      max_sessions: {ret['max_sessions']}\n"
        f"      max_age_days: {ret['max_age_days']}\n" + extra
    )
    return cfg


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    return {"HOME": str(isolated_home), "XDG_CONFIG_HOME": str(isolated_home / ".config"),
            "XDG_DATA_HOME": str(isolated_home / ".local/share")}  # fmt: skip


def test_ls_json_shape(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    s = make_session(base, files={"logs/app.log": "z" * 3000})
    cfg = write_config(tmp_path, base)
    r = run_cli("--config", str(cfg), "ls", "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    (row,) = out["sessions"]
    assert row["backend"] == "runs" and row["kind"] == "dirs" and row["id"] == s.name
    assert row["state"] == "idle"
    assert row["size_bytes"] >= 3000
    assert row["path"] == str(s)
    assert (
        row["created"].endswith(("+00:00", "Z"))
        or "+" in row["created"]
        or "-" in row["created"][19:]
    )
    assert set(row) >= {"backend", "kind", "id", "name", "state", "created", "last_active",
                        "expires", "size_bytes", "path", "attachable", "metadata"}  # fmt: skip
    assert out["backends"][0]["status"] == "ok"


def test_ls_table_and_unavailable_exit_code(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    make_session(base)
    cfg = write_config(
        tmp_path, base, "  - name: gone\n    kind: dirs\n    base: " + str(tmp_path / "nope") + "\n"
    )
    r = run_cli("--config", str(cfg), "ls", env=env)
    assert r.returncode == 3
    assert "BACKEND" in r.stdout and "runs" in r.stdout
    assert "backend gone unavailable" in r.stderr and "does not exist" in r.stderr


def test_logs_last_lines_and_not_found(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    s = make_session(base, files={"logs/app.log": "".join(f"line {i}\n" for i in range(50))})
    cfg = write_config(tmp_path, base)
    r = run_cli("--config", str(cfg), "logs", f"runs:{s.name}", "-n", "3", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["line 47", "line 48", "line 49"]
    # a bare id works too, when it is unique
    r = run_cli("--config", str(cfg), "logs", s.name, "-n", "1", env=env)
    assert r.stdout.strip() == "line 49"
    r = run_cli("--config", str(cfg), "logs", "runs:session_nope", env=env)
    assert r.returncode == 4
    assert "not a session directory name" in r.stderr


def test_prune_dry_run_json_then_yes(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    old = [make_session(base, age=timedelta(days=d)) for d in (40, 30, 20)]
    new = make_session(base, age=timedelta(hours=1))
    cfg = write_config(tmp_path, base, max_sessions=-1, max_age_days=10)
    r = run_cli("--config", str(cfg), "prune", "--dry-run", "--json", env=env)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert [e["id"] for e in plan] == [p.name for p in old]  # oldest first
    assert {e["reason"] for e in plan} == {"age"}
    assert all(e["bytes"] > 0 and e["path"] for e in plan)
    assert all(p.exists() for p in old)  # dry run touched nothing

    # no terminal and no --yes: refused, nothing removed
    r = run_cli("--config", str(cfg), "prune", env=env, input_text="y\n")
    assert r.returncode == 2
    assert "--yes" in r.stderr
    assert all(p.exists() for p in old)

    r = run_cli("--config", str(cfg), "prune", "--yes", env=env)
    assert r.returncode == 0, r.stderr
    assert "removed 3, failed 0" in r.stdout
    assert not any(p.exists() for p in old)
    assert new.exists()


def test_prune_keeps_active_unless_forced(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    proc = live_process()
    try:
        live = make_session(base, pid=proc.pid)
        os.utime(live, (1, 1))
        cfg = write_config(tmp_path, base, max_sessions=-1, max_age_days=1)
        r = run_cli("--config", str(cfg), "prune", "--yes", env=env)
        assert r.returncode == 0
        assert "keep" in r.stdout and "active" in r.stdout
        assert live.exists()
        r = run_cli("--config", str(cfg), "prune", "--yes", "--force", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not live.exists()
    finally:
        proc.kill()
        proc.wait()


def test_prune_refuses_symlinked_base(tmp_path: Path, env: dict[str, str]) -> None:
    real = tmp_path / "real"
    s = make_session(real, age=timedelta(days=99))
    link = tmp_path / "link"
    link.symlink_to(real)
    cfg = write_config(tmp_path, link, max_sessions=0, max_age_days=1)
    r = run_cli("--config", str(cfg), "prune", "--yes", env=env)
    assert r.returncode == 1
    assert "symlink" in r.stderr
    assert s.exists()


def test_delete_by_ref(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    a = make_session(base)
    b = make_session(base)
    cfg = write_config(tmp_path, base)
    r = run_cli("--config", str(cfg), "delete", f"runs:{a.name}", "--yes", "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["id"] for x in out["results"]] == [a.name] and out["results"][0]["ok"]
    assert not a.exists() and b.exists()


def test_config_commands_and_errors(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    cfg = write_config(tmp_path, base)
    r = run_cli("--config", str(cfg), "config", "path", env=env)
    assert r.stdout.strip() == str(cfg)
    r = run_cli("--config", str(cfg), "config", "check", env=env)
    assert r.returncode == 0 and "1 backends" in r.stdout
    r = run_cli("--config", str(cfg), "config", "show", env=env)
    assert json.loads(r.stdout)["backends"][0]["name"] == "runs"
    # no config anywhere: the embedded default
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_cli("config", "path", env=env, cwd=elsewhere)
    assert r.stdout.strip() == "(embedded default)"
    # ./sesstui.yml is found from its folder
    r = run_cli("config", "path", env=env, cwd=tmp_path)
    assert r.stdout.strip() == str(cfg)

    bad = tmp_path / "bad.yml"
    bad.write_text("backends:\n  - name: a\n    kind: dirs\n    base: /x\n    bsae: /y\n")
    r = run_cli("--config", str(bad), "ls", env=env)
    assert r.returncode == 2
    assert f"{bad}:5" in r.stderr and "bsae" in r.stderr

    dup = tmp_path / "dup.yml"
    dup.write_text("ui:\n  theme: a\n  theme: b\n")
    r = run_cli("--config", str(dup), "config", "check", env=env)
    assert r.returncode == 2 and f"{dup}:3" in r.stderr and "duplicate" in r.stderr

    broken = tmp_path / "broken.yml"
    broken.write_text("backends: [\n")
    r = run_cli("--config", str(broken), "config", "check", env=env)
    assert r.returncode == 2 and str(broken) in r.stderr


@pytest.mark.parametrize("cmd", ["ls", "logs", "prune", "delete", "config", "demo"])
def test_every_command_has_help(cmd: str) -> None:
    r = run_cli(cmd, "--help")
    assert r.returncode == 0
    assert f"sesstui {cmd}" in r.stdout
    assert "exit codes" in r.stdout


def test_version_names_the_installed_distribution() -> None:
    from importlib.metadata import version

    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"sesstui {version('sesstui')}"


def test_a_ref_to_an_unknown_backend_says_the_backend_is_unknown(
    tmp_path: Path, env: dict[str, str]
) -> None:
    base = tmp_path / "runs"
    a = make_session(base)
    cfg = write_config(tmp_path, base)
    r = run_cli("--config", str(cfg), "delete", f"nope:{a.name}", "--yes", env=env)
    assert r.returncode == 4, r.stderr
    assert "no backend named 'nope' (backends: runs" in r.stderr
    assert a.exists()


def test_usage_error_exit_code() -> None:
    r = run_cli("logs")
    assert r.returncode == 2
    assert "REF" in r.stderr


def test_protected_backend_needs_the_count_not_force(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    old = make_session(base, age=timedelta(days=40))
    proc = live_process()
    try:
        live = make_session(base, pid=proc.pid)
        os.utime(live, (1, 1))
        cfg = write_config(tmp_path, base, max_sessions=-1, max_age_days=10)
        text = cfg.read_text().replace(
            "    kind: dirs\n", "    kind: dirs\n    protected: true\n", 1
        )
        cfg.write_text(text)
        r = run_cli("--config", str(cfg), "prune", "--yes", env=env)
        assert r.returncode == 2
        assert "protected" in r.stderr and "--confirm-count 1" in r.stderr
        r = run_cli("--config", str(cfg), "prune", "--yes", "--confirm-count", "2", env=env)
        assert r.returncode == 2  # a wrong count is refused too
        assert old.exists()
        r = run_cli("--config", str(cfg), "prune", "--yes", "--confirm-count", "1", env=env)
        assert r.returncode == 0, r.stderr
        assert not old.exists()
        assert live.exists()  # confirming the count does not switch off the live guard
    finally:
        proc.kill()
        proc.wait()


def test_delete_twice_named_is_one_deletion(tmp_path: Path, env: dict[str, str]) -> None:
    base = tmp_path / "runs"
    a = make_session(base)
    cfg = write_config(tmp_path, base)
    ref = f"runs:{a.name}"
    r = run_cli("--config", str(cfg), "delete", ref, ref, "--yes", "--json", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert len(out["plan"]) == 1 and len(out["results"]) == 1 and out["results"][0]["ok"]


def test_delete_of_an_active_session_is_refused_with_exit_1(
    tmp_path: Path, env: dict[str, str]
) -> None:
    base = tmp_path / "runs"
    proc = live_process()
    try:
        live = make_session(base, pid=proc.pid)
        cfg = write_config(tmp_path, base)
        r = run_cli("--config", str(cfg), "delete", f"runs:{live.name}", "--yes", "--json", env=env)
        assert r.returncode == 1
        out = json.loads(r.stdout)
        assert out["plan"] == [] and "active" in out["skipped"][0]["why"]
        assert live.exists()
    finally:
        proc.kill()
        proc.wait()


def test_config_keys_lists_every_declared_key_even_with_a_broken_config(tmp_path: Path) -> None:
    from core.config.kinds import KNOWN_KINDS, kind
    from core.config.schema import key_docs

    broken = tmp_path / "broken.yml"
    broken.write_text("backends: [\n")  # the reference needs no config: a broken one is fine
    r = run_cli("--config", str(broken), "config", "keys")
    assert r.returncode == 0, r.stderr
    sections = ("\n" + r.stdout).split("\nbackends (kind: ")
    for name in KNOWN_KINDS:
        (block,) = [s for s in sections if s.startswith(f"{name})")]
        for doc in key_docs(kind(name).schema):
            assert f"\n  {doc.key}: " in block, (name, doc.key)
    assert "\nui\n" in r.stdout and "\n  theme: " in r.stdout
