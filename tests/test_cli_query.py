"""`sesstui ls --filter QUERY` and `--view NAME`, run as a user runs them, over
real session directories."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import make_session, run_cli


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    return {"HOME": str(isolated_home), "XDG_CONFIG_HOME": str(isolated_home / ".config"),
            "XDG_DATA_HOME": str(isolated_home / ".local/share")}  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """Two backends of session dirs: runs (old+big, fresh+small) and other (fresh)."""
    runs, other = tmp_path / "runs", tmp_path / "other"
    made = {
        "old": make_session(
            runs, age=timedelta(days=12), files={"logs/app.log": b"x" * (2 * 1024 * 1024)}
        ),
        "fresh": make_session(runs, age=timedelta(hours=1)),
        "elsewhere": make_session(other, age=timedelta(days=9)),
    }
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        "backends:\n"
        f"  - {{name: runs, kind: dirs, base: {runs}}}\n"
        f"  - {{name: other, kind: dirs, base: {other}}}\n"
        "views:\n"
        "  stale: 'age>7d'\n"
        "  big: 'size>1M'\n"
        "  everything: ''\n"
    )
    return cfg, made


def ls_ids(cfg: Path, env: dict[str, str], *args: str) -> list[str]:
    r = run_cli("--config", str(cfg), "ls", "--json", *args, env=env)
    assert r.returncode == 0, r.stderr
    return sorted(row["id"] for row in json.loads(r.stdout)["sessions"])


def ids(made: dict[str, Path], *keys: str) -> list[str]:
    return sorted(made[k].name for k in keys)


def test_filter_json(setup: tuple[Path, dict[str, Path]], env: dict[str, str]) -> None:
    cfg, made = setup
    assert ls_ids(cfg, env) == ids(made, "old", "fresh", "elsewhere")
    assert ls_ids(cfg, env, "--filter", "age>7d") == ids(made, "old", "elsewhere")
    assert ls_ids(cfg, env, "--filter", "backend:runs age>7d") == ids(made, "old")
    assert ls_ids(cfg, env, "--filter", "backend:runs -age>7d") == ids(made, "fresh")
    assert ls_ids(cfg, env, "--filter", "size>1M") == ids(made, "old")
    assert ls_ids(cfg, env, "--filter", "size<1M state:idle") == ids(made, "fresh", "elsewhere")
    assert ls_ids(cfg, env, "--filter", "idle>7d") == ids(made, "old", "elsewhere")
    assert ls_ids(cfg, env, "--filter", "other") == ids(made, "elsewhere")  # a bare word
    assert ls_ids(cfg, env, "--filter", "") == ids(made, "old", "fresh", "elsewhere")
    # --backend and --filter together
    assert ls_ids(cfg, env, "--backend", "runs", "--filter", "age<1d") == ids(made, "fresh")


def test_filter_table(setup: tuple[Path, dict[str, Path]], env: dict[str, str]) -> None:
    cfg, _ = setup
    r = run_cli("--config", str(cfg), "ls", "--filter", "backend:other", env=env)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows[0].startswith("BACKEND") and len(rows) == 2 and rows[1].startswith("other ")
    r = run_cli("--config", str(cfg), "ls", "--filter", "kind:tmux", env=env)
    assert r.returncode == 0 and "(no sessions)" in r.stdout


def test_views(setup: tuple[Path, dict[str, Path]], env: dict[str, str]) -> None:
    cfg, made = setup
    assert ls_ids(cfg, env, "--view", "stale") == ids(made, "old", "elsewhere")
    assert ls_ids(cfg, env, "--view", "big") == ids(made, "old")
    assert ls_ids(cfg, env, "--view", "everything") == ids(made, "old", "fresh", "elsewhere")
    # a view and a filter: both must match
    assert ls_ids(cfg, env, "--view", "stale", "--filter", "backend:other") == ids(
        made, "elsewhere"
    )


def test_unknown_view_lists_the_known_ones(
    setup: tuple[Path, dict[str, Path]], env: dict[str, str]
) -> None:
    cfg, _ = setup
    r = run_cli("--config", str(cfg), "ls", "--view", "stal", env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert "unknown view 'stal'; views: stale, big, everything" in r.stderr


def test_no_views_configured(tmp_path: Path, env: dict[str, str]) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: runs, kind: dirs, base: {tmp_path / 'runs'}}}\n")
    r = run_cli("--config", str(cfg), "ls", "--view", "stale", env=env)
    assert r.returncode == 2
    assert "views: none (add them under `views:` in the config)" in r.stderr


def test_bad_query_prints_a_caret_under_the_mistake(
    setup: tuple[Path, dict[str, Path]], env: dict[str, str]
) -> None:
    cfg, _ = setup
    r = run_cli("--config", str(cfg), "ls", "--filter", "backend:runs agee>7d", env=env)
    assert r.returncode == 2 and r.stdout == ""
    first, query, caret = r.stderr.splitlines()
    assert first.startswith("sesstui: bad query: unknown field 'agee'; did you mean 'age'?")
    assert query == "  backend:runs agee>7d"
    assert caret == "               ^^^^"
    r = run_cli("--config", str(cfg), "ls", "--filter", "state:idle,gone", env=env)
    assert r.returncode == 2
    assert "unknown state 'gone'" in r.stderr and r.stderr.splitlines()[-1] == "             ^^^^"


def test_size_term_needs_sizes(setup: tuple[Path, dict[str, Path]], env: dict[str, str]) -> None:
    cfg, made = setup
    r = run_cli("--config", str(cfg), "ls", "--no-sizes", "--filter", "size>1M", env=env)
    assert r.returncode == 2
    assert "--no-sizes" in r.stderr and "drop --no-sizes" in r.stderr
    r = run_cli("--config", str(cfg), "ls", "--no-sizes", "--view", "big", env=env)
    assert r.returncode == 2
    # other terms work without sizes, and the JSON says nothing was measured
    r = run_cli("--config", str(cfg), "ls", "--json", "--no-sizes", "--filter", "age>7d", env=env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["sessions"]
    assert sorted(row["id"] for row in rows) == ids(made, "old", "elsewhere")
    assert all(row["size_bytes"] is None for row in rows)
