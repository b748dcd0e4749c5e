"""SessionDir of the producer API: names, the retention rule, prune
(core.dirs.sessiondir / retention).

Real directories under tmp_path; mtimes are set with os.utime.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from core.dirs.naming import parse_name
from core.dirs.producer import (
    SessionDir,
)
from core.dirs.retention import Candidate, list_candidates, select_for_prune
from core.errors import ConfigError
from tests.dirs_producer_helpers import (
    AGE,
    COUNT,
    DAY,
    NOW,
    cand,
    clean_state,  # noqa: F401 - an autouse fixture
    make_dir,
    names,
)
from tests.helpers import as_nobody

# --------------------------------------------------------------------------
# names


def test_create_makes_a_named_dir_with_own_pid(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path / "runs")
    before = datetime.now().replace(microsecond=0)
    path = sd.create()
    after = datetime.now()
    assert path.is_dir()
    assert path.parent == tmp_path / "runs"
    assert sd.path == path
    parsed = parse_name(path.name)
    assert parsed is not None
    assert parsed.prefix == "session_"
    assert parsed.pid == os.getpid()
    assert re.fullmatch(r"[0-9a-f]{32}", parsed.uuid)
    assert parsed.created is not None
    assert before <= parsed.created <= after
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", parsed.timestamp)


def test_two_creates_in_the_same_second_differ(tmp_path: Path) -> None:
    # a year-only stamp makes "the same second" certain
    sd = SessionDir(tmp_path, timestamp_format="%Y")
    first, second = sd.create(), sd.create()
    assert first != second
    assert first.is_dir()
    assert second.is_dir()
    assert sd.path == second
    p1, p2 = parse_name(first.name, "session_", "%Y"), parse_name(second.name, "session_", "%Y")
    assert p1 is not None
    assert p2 is not None
    assert p1.timestamp == p2.timestamp
    assert p1.uuid != p2.uuid


def test_create_makes_missing_base_with_parents(tmp_path: Path) -> None:
    base = tmp_path / "a" / "b" / "c"
    path = SessionDir(base).create()
    assert path.parent == base
    assert path.is_dir()


def test_custom_prefix_and_format_are_used(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, prefix="run-", timestamp_format="%Y%m%d")
    path = sd.create()
    parsed = parse_name(path.name, "run-", "%Y%m%d")
    assert parsed is not None
    assert parsed.timestamp == datetime.now().strftime("%Y%m%d")


def test_relative_base_is_fixed_when_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = SessionDir("runs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = sd.create()
    assert path.parent == tmp_path / "runs"
    assert not (elsewhere / "runs").exists()


@pytest.mark.parametrize("fmt", ["%Y/%m", ""])
def test_timestamp_format_that_breaks_names_is_refused(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(ConfigError, match="timestamp_format"):
        SessionDir(tmp_path, timestamp_format=fmt)


@pytest.mark.parametrize("prefix", ["", "a/b", ".."])
def test_unsafe_prefix_is_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        SessionDir(tmp_path, prefix=prefix)


# --------------------------------------------------------------------------
# retention rule


def test_count_rule_selects_the_oldest_surplus() -> None:
    cands = [cand("c", 1), cand("a", 3), cand("e", 0), cand("b", 2), cand("d", 0.5)]
    assert names(select_for_prune(cands, 3, -1, NOW)) == [("a", COUNT), ("b", COUNT)]


def test_count_rule_first_then_age_over_the_rest() -> None:
    cands = [cand("a", 30), cand("b", 20), cand("c", 12), cand("d", 11), cand("e", 1)]
    # count keeps 3 (c, d, e) after removing a, b; age then removes c and d
    assert names(select_for_prune(cands, 3, 10, NOW)) == [
        ("a", COUNT),
        ("b", COUNT),
        ("c", AGE),
        ("d", AGE),
    ]


def test_minus_one_is_unlimited() -> None:
    cands = [cand(f"s{i}", 100 + i) for i in range(50)]
    assert select_for_prune(cands, -1, -1, NOW) == []
    assert len(select_for_prune(cands, -1, 10, NOW)) == 50
    assert {r for _, r in select_for_prune(cands, -1, 10, NOW)} == {AGE}
    assert len(select_for_prune(cands, 10, -1, NOW)) == 40


def test_exactly_at_the_limits_is_kept() -> None:
    cands = [cand("a", 10), cand("b", 5), cand("c", 1)]
    assert select_for_prune(cands, 3, 10, NOW) == []
    older = [*cands[1:], Candidate(Path("/base/a"), "a", NOW - 10 * DAY - 1)]
    assert names(select_for_prune(older, 3, 10, NOW)) == [("a", AGE)]


def test_zero_max_dirs_selects_everything_by_count() -> None:
    cands = [cand("a", 1), cand("b", 2)]
    assert names(select_for_prune(cands, 0, 0, NOW)) == [("b", COUNT), ("a", COUNT)]


def test_mtime_ties_break_by_name_whatever_the_input_order() -> None:
    same = NOW - DAY
    forward = [Candidate(Path(f"/b/{n}"), n, same) for n in ("x", "m", "a")]
    for order in (forward, list(reversed(forward))):
        assert names(select_for_prune(order, 1, -1, NOW)) == [("a", COUNT), ("m", COUNT)]


def test_age_result_is_oldest_first() -> None:
    cands = [cand("new-but-old", 11), cand("oldest", 40), cand("middle", 20)]
    assert [c.name for c, _ in select_for_prune(cands, -1, 10, NOW)] == [
        "oldest",
        "middle",
        "new-but-old",
    ]


def test_list_candidates_only_prefixed_real_directories(tmp_path: Path) -> None:
    base = tmp_path / "base"
    keep = make_dir(base, "session_a", 3)
    make_dir(base, "other_b", 50)
    (base / "session_file").write_text("not a dir")
    target = make_dir(tmp_path, "outside", 50)
    (base / "session_link").symlink_to(target, target_is_directory=True)
    found = list_candidates(base, "session_")
    assert [c.name for c in found] == ["session_a"]
    assert found[0].path == keep
    assert found[0].mtime == keep.stat().st_mtime
    assert list_candidates(tmp_path / "missing", "session_") == []


def test_candidate_mtime_is_the_dirs_own_not_its_files(tmp_path: Path) -> None:
    path = make_dir(tmp_path, "session_x", 5)
    sub = path / "sub"
    sub.mkdir()
    old = time.time() - 5 * DAY
    os.utime(path, (old, old))
    (sub / "fresh.log").write_text("new")  # changes sub's mtime, not path's
    (found,) = list_candidates(tmp_path, "session_")
    assert found.mtime == pytest.approx(old)


# --------------------------------------------------------------------------
# SessionDir prune


def test_prune_counts_but_keeps_the_current_session(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=3, max_age_days=-1)
    olds = [make_dir(tmp_path, f"session_old{i}", 5 - i) for i in range(3)]
    current = sd.create()
    # the current session counts: 4 dirs, limit 3 -> only the oldest goes
    assert sd.plan_prune() == [(olds[0], COUNT)]
    assert sd.prune() == [olds[0]]
    # (the shared prune lock file stays; it never matches the session pattern)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".sesstui-prune.lock") == sorted(
        [olds[1].name, olds[2].name, current.name]
    )


def test_current_session_is_never_pruned_even_when_oldest(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=2, max_age_days=1)
    current = sd.create()
    ancient = time.time() - 100 * DAY
    os.utime(current, (ancient, ancient))
    young = [make_dir(tmp_path, f"session_y{i}", 0) for i in range(2)]
    assert sd.plan_prune() == []  # current is selected by COUNT, skipped, no substitute
    assert sd.prune() == []
    assert current.is_dir()
    assert all(p.is_dir() for p in young)


def test_plan_prune_exclude_argument(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=0, max_age_days=-1)
    a = make_dir(tmp_path, "session_a", 2)
    b = make_dir(tmp_path, "session_b", 1)
    assert sd.plan_prune() == [(a, COUNT), (b, COUNT)]
    assert sd.plan_prune(exclude=a) == [(b, COUNT)]
    # the same directory named through another spelling is still excluded
    assert sd.plan_prune(exclude=tmp_path / "." / "session_b") == [(a, COUNT)]


def test_prune_age_rule_and_untouchables(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path, max_session_dirs=-1, max_age_days=10)
    old = make_dir(tmp_path, "session_old", 11)
    (old / "deep" / "er").mkdir(parents=True)
    (old / "deep" / "er" / "f.log").write_text("x")
    eleven_days = time.time() - 11 * DAY  # filling it moved its mtime: set it again
    os.utime(old, (eleven_days, eleven_days))
    fresh = make_dir(tmp_path, "session_fresh", 9)
    foreign = make_dir(tmp_path, "other_old", 99)
    stray = tmp_path / "session_file"
    stray.write_text("x")
    os.utime(stray, (0, 0))
    outside = make_dir(tmp_path / "elsewhere", "session_target", 99)
    link = tmp_path / "session_link"
    link.symlink_to(outside, target_is_directory=True)
    os.utime(link, (0, 0), follow_symlinks=False)
    assert sd.plan_prune() == [(old, AGE)]
    assert sd.prune() == [old]
    assert not old.exists()
    assert fresh.is_dir()
    assert foreign.is_dir()
    assert stray.is_file()
    assert link.is_symlink()
    assert outside.is_dir()


def test_prune_does_not_follow_symlinks_inside_a_session(tmp_path: Path) -> None:
    sd = SessionDir(tmp_path / "base", max_session_dirs=0)
    victim = make_dir(tmp_path / "base", "session_v", 1)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (victim / "link").symlink_to(precious, target_is_directory=True)
    assert sd.prune() == [victim]
    assert (precious / "keep.txt").read_text() == "keep"


def test_prune_failure_is_a_warning() -> None:
    # root ignores modes, so the prune runs as `nobody` in a forked child, on a
    # tree that nobody owns, inside a world-traversable temp folder
    top = Path(tempfile.mkdtemp(prefix="sesstui-prune-perm-"))
    try:
        top.chmod(0o755)
        base = top / "runs"
        base.mkdir()
        stuck = make_dir(base, "session_stuck", 2)
        (stuck / "inner").mkdir()
        (stuck / "inner" / "f").write_text("x")
        free = make_dir(base, "session_free", 1)
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(base):
                names: list[Path] = [Path(root), *(Path(root) / n for n in [*dirs, *files])]
                for n in names:
                    os.chown(n, 65534, 65534)
        (stuck / "inner").chmod(0o500)

        def prune() -> tuple[list[Path], list[str]]:
            messages: list[str] = []

            class Collect(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    messages.append(record.getMessage())

            logger = logging.getLogger("core.dirs")
            logger.addHandler(Collect(logging.WARNING))
            return SessionDir(base, max_session_dirs=0).prune(), messages

        removed, messages = as_nobody(prune) if os.geteuid() == 0 else prune()
        assert removed == [free]
        assert stuck.is_dir()
        assert any("could not remove" in m for m in messages)
    finally:
        for root, dirs, _ in os.walk(top):
            for d in dirs:
                (Path(root) / d).chmod(0o700)
        shutil.rmtree(top, ignore_errors=True)
