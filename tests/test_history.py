"""Since last open: real session directories, a real saved file."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import load_config
from core.config.records import AppConfig
from core.errors import ConfigError
from core.history import (
    DEFAULT_GROW_BYTES,
    Changes,
    Growth,
    History,
    SavedSession,
    answered,
    diff,
    format_size,
    since_last_open,
)
from core.inventory import Inventory
from core.model import BackendHealth, HealthStatus, Session, SessionRef, State
from core.paths import state_dir
from tests.helpers import dirs_config, make_session

MiB = 1024**2


# -- a real inventory ---------------------------------------------------------------


class Runs:
    """Two dirs backends (runs, jobs) and their sessions, as the dashboard sees them."""

    def __init__(self, tmp_path: Path) -> None:
        self.runs = tmp_path / "runs"
        self.jobs = tmp_path / "jobs"
        self.runs.mkdir()
        self.jobs.mkdir()
        config = AppConfig(backends=(dirs_config(self.runs), dirs_config(self.jobs, name="jobs")))
        self.inv = Inventory.from_config(config, journal=False)

    def listing(self) -> tuple[list[Session], frozenset[str]]:
        """A refresh plus sizes: what since_last_open is handed."""
        snap = self.inv.refresh()
        sizes = dict(self.inv.measure(snap.sessions))
        sessions = [s.with_size(sizes[s.ref]) if s.ref in sizes else s for s in snap.sessions]
        return sessions, answered(snap.health)


def ref(path: Path, backend: str = "runs") -> SessionRef:
    return SessionRef(backend, path.name)


def test_first_open_has_nothing_to_compare_and_saves(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    a = make_session(r.runs, files={"out": b"x" * 5000})
    history = History(tmp_path / "state" / "last-inventory.json")
    assert history.load() is None
    sessions, ok = r.listing()
    assert since_last_open(history, sessions, ok) is None
    saved = history.load()
    assert saved is not None
    assert saved.backends == {"runs", "jobs"}
    entry = saved.sessions[ref(a)]
    listed = {x.ref: x for x in sessions}[ref(a)]
    assert (entry.name, entry.kind, entry.state) == (listed.name, "dirs", listed.state.value)
    assert entry.disk_bytes is not None and entry.disk_bytes >= 5000
    assert entry.created is not None and entry.created.tzinfo is not None


def test_appeared_disappeared_and_grew(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    grows = make_session(r.runs, files={"log": b"x" * 1000})
    stays = make_session(r.runs)
    goes = make_session(r.jobs)
    history = History(tmp_path / "last.json")
    since_last_open(history, *r.listing())
    shutil.rmtree(goes)
    (grows / "log").write_bytes(b"x" * (3 * MiB))
    (stays / "small").write_bytes(b"y" * 8192)  # grew, but under the threshold
    new_runs = [make_session(r.runs) for _ in range(2)]
    new_job = make_session(r.jobs)
    changes = since_last_open(history, *r.listing(), grow_bytes=2 * MiB)
    assert changes is not None and changes
    assert sorted(s.ref.id for s in changes.appeared) == sorted(
        p.name for p in [*new_runs, new_job]
    )
    assert [s.ref for s in changes.disappeared] == [ref(goes, "jobs")]
    (growth,) = changes.grew
    assert growth.ref == ref(grows) and growth.delta >= 3 * MiB - 16384
    assert changes.summary() == (
        "Since last open: 3 new (2 runs, 1 jobs), 1 gone\n"  # too long for one line
        f"1 grew > 2 MiB (runs:{growth.name} +{format_size(growth.delta)})"
    )
    # the new state is saved: opening again reports nothing
    again = since_last_open(history, *r.listing(), grow_bytes=2 * MiB)
    assert again is not None and not again and again.summary() == ""


def test_a_backend_that_is_down_hides_nothing_as_gone(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    job = make_session(r.jobs)
    history = History(tmp_path / "last.json")
    since_last_open(history, *r.listing())
    r.jobs.rename(tmp_path / "jobs-away")  # the backend's base is gone: unavailable
    sessions, ok = r.listing()
    assert ok == {"runs"}
    changes = since_last_open(history, sessions, ok)
    assert changes is not None and not changes.disappeared
    # its saved sessions are carried over, so they are compared when it is back
    saved = history.load()
    assert saved is not None and ref(job, "jobs") in saved.sessions
    (tmp_path / "jobs-away").rename(r.jobs)
    shutil.rmtree(job)
    back = since_last_open(history, *r.listing())
    assert back is not None and [s.ref for s in back.disappeared] == [ref(job, "jobs")]


def test_answered_means_a_complete_listing() -> None:
    health = [
        BackendHealth("runs", "dirs", HealthStatus.OK),
        BackendHealth("tm", "tmux", HealthStatus.DEGRADED, "2 panes could not be read"),
        BackendHealth("dk", "docker", HealthStatus.UNAVAILABLE, "cannot connect"),
    ]
    assert answered(health) == {"runs"}


def test_a_degraded_backend_hides_nothing_as_gone_and_keeps_its_entries(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    seen = make_session(r.jobs)
    unread = make_session(r.jobs)
    history = History(tmp_path / "last.json")
    since_last_open(history, *r.listing())
    later = make_session(r.jobs)
    # a partial listing: "jobs" answered, but one of its sessions could not be read
    snap = r.inv.refresh()
    health = [
        replace(h, status=HealthStatus.DEGRADED, reason="1 session could not be read")
        if h.backend == "jobs"
        else h
        for h in snap.health
    ]
    partial = [s for s in snap.sessions if s.ref != ref(unread, "jobs")]
    assert {s.ref for s in snap.sessions} - {s.ref for s in partial} == {ref(unread, "jobs")}
    ok = answered(health)
    assert ok == {"runs"}
    changes = since_last_open(history, partial, ok)
    assert changes is not None and not changes  # nothing gone, nothing new on a partial listing
    saved = history.load()
    assert saved is not None and "jobs" in saved.backends
    assert {ref(seen, "jobs"), ref(unread, "jobs")} <= set(saved.sessions)  # not dropped
    # complete again: the unread one was never gone; the one made meanwhile is new
    back = since_last_open(history, *r.listing())
    assert back is not None and not back.disappeared
    assert [s.ref for s in back.appeared] == [ref(later, "jobs")]


def test_a_newly_configured_backend_is_not_all_new(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    make_session(r.jobs)
    history = History(tmp_path / "last.json")
    sessions, _ = r.listing()
    since_last_open(history, sessions, {"runs"})  # jobs was not configured (or down) then
    changes = since_last_open(history, *r.listing())
    assert changes is not None and not changes
    saved = history.load()
    assert saved is not None and saved.backends == {"runs", "jobs"}


def test_a_size_not_measured_now_keeps_the_saved_one(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    a = make_session(r.runs, files={"log": b"x" * 1000})
    history = History(tmp_path / "last.json")
    since_last_open(history, *r.listing())
    snap = r.inv.refresh()  # listed, not measured
    since_last_open(history, snap.sessions, answered(snap.health))
    saved = history.load()
    assert saved is not None and (saved.sessions[ref(a)].disk_bytes or 0) >= 1000
    (a / "log").write_bytes(b"x" * (2 * MiB))
    changes = since_last_open(history, *r.listing(), grow_bytes=MiB)
    assert changes is not None and [g.ref for g in changes.grew] == [ref(a)]


def test_grow_ratio_also_has_to_be_met(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    big = make_session(r.runs, files={"data": b"x" * (4 * MiB)})
    small = make_session(r.runs, files={"data": b"x" * MiB})
    history = History(tmp_path / "last.json")
    previous_sessions, ok = r.listing()
    history.save(previous_sessions, ok)
    previous = history.load()
    for path in (big, small):
        with (path / "data").open("ab") as f:
            f.write(b"y" * (MiB + 4096))
    sessions, ok = r.listing()
    plain = diff(previous, sessions, ok_backends=ok, grow_bytes=MiB)
    assert {g.ref for g in plain.grew} == {ref(big), ref(small)}
    ratio = diff(previous, sessions, ok_backends=ok, grow_bytes=MiB, grow_ratio=0.5)
    assert [g.ref for g in ratio.grew] == [ref(small)]  # +1 MiB is half of 1 MiB, not of 4


def test_corrupt_or_foreign_files_load_as_none(tmp_path: Path) -> None:
    path = tmp_path / "last.json"
    history = History(path)
    for text in ("{not json", "[]", '{"version": 99, "backends": [], "sessions": {}}', ""):
        path.write_text(text)
        assert history.load() is None
    path.write_bytes(b"\xff\xfe")
    assert history.load() is None
    path.unlink()
    path.mkdir()  # unreadable as a file
    assert history.load() is None


def test_odd_entries_are_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "last.json"
    good = {"name": "a", "kind": "dirs", "state": "stopped", "disk_bytes": 10, "created": None}
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "saved_at": "2026-11-21T14:30:00+00:00",
                "backends": ["runs"],
                "sessions": {
                    "runs:a": good,
                    "runs:b": {**good, "disk_bytes": "big"},
                    "runs:c": {**good, "created": "yesterday"},
                    "no-colon": good,
                    "runs:d": [],
                },
            }
        )
    )
    saved = History(path).load()
    assert saved is not None and list(saved.sessions) == [SessionRef("runs", "a")]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    make_session(r.runs)
    state = tmp_path / "state"
    history = History(state / "last-inventory.json")
    history.save(*r.listing())
    history.save(*r.listing())
    assert [p.name for p in state.iterdir()] == ["last-inventory.json"]
    assert json.loads((state / "last-inventory.json").read_text())["version"] == 1


def test_an_unwritable_state_dir_never_fails_the_notice(tmp_path: Path) -> None:
    r = Runs(tmp_path)
    make_session(r.runs)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    history = History(blocker / "last-inventory.json")
    assert since_last_open(history, *r.listing()) is None  # no raise
    with pytest.raises(OSError):
        history.save(*r.listing())


def test_default_lives_in_the_state_dir(isolated_home: Path) -> None:
    assert History.default().path == state_dir() / "last-inventory.json"
    assert str(isolated_home) in str(History.default().path)


def test_summary_shapes() -> None:
    assert Changes().summary() == ""
    one_line = Changes(
        appeared=(),
        disappeared=(),
        grew=(Growth(SessionRef("runs", "session_x"), "session_x", MiB, MiB + 1288490188),),
    )
    assert one_line.summary() == "Since last open: 1 grew > 100 MiB (runs:session_x +1.2 GiB)"
    grew_only = Changes(grew=(Growth(SessionRef("runs", "x"), "x", 0, 300 * MiB),))
    assert grew_only.summary() == "Since last open: 1 grew > 100 MiB (runs:x +300 MiB)"
    long_name = "session_2026-11-21-14-30-00_12345_" + "a" * 32
    two = Changes(
        grew=(
            Growth(SessionRef("runs", long_name), long_name, 0, 2 * 1024**3),
            Growth(SessionRef("runs", "y"), "y", 0, 200 * MiB),
        ),
        grow_bytes=DEFAULT_GROW_BYTES,
    )
    line = two.summary()
    assert line.startswith("Since last open: 2 grew > 100 MiB (largest runs:session_2026")
    assert "…" in line and line.endswith("+2 GiB)")


def test_summary_of_the_design_example() -> None:
    def row(backend: str, ident: str) -> Session:
        return Session(SessionRef(backend, ident), ident, "dirs", State.STOPPED)

    changes = Changes(
        appeared=(row("runs", "a"), row("web", "w"), row("runs", "b")),
        disappeared=tuple(SavedSession.of(row("runs", n)) for n in ("c", "d")),
        grew=(Growth(SessionRef("runs", "session_x"), "session_x", MiB, MiB + 1288490188),),
    )
    assert changes.summary() == (
        "Since last open: 3 new (2 runs, 1 web), 2 gone, 1 grew > 100 MiB (runs:session_x +1.2 GiB)"
    )


# -- configuration ------------------------------------------------------------------


def test_ui_grow_notice_in_config(tmp_path: Path) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text("ui:\n  grow_notice: 1.5G\n")
    assert load_config(cfg).ui.grow_notice == 1536 * MiB
    cfg.write_text("ui:\n  grow_notice: 4096\n")
    assert load_config(cfg).ui.grow_notice == 4096
    cfg.write_text("ui: {theme: sesstui-dark}\n")
    assert load_config(cfg).ui.grow_notice == DEFAULT_GROW_BYTES


def test_a_bad_grow_notice_names_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text("ui:\n  theme: sesstui-dark\n  grow_notice: huge\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert (info.value.file, info.value.line, info.value.key) == (str(cfg), 3, "ui.grow_notice")
    assert "e.g. 500K, 100M" in info.value.message
