"""core.backend.pump: the reading loop of every log worker ends on a finished
stream of every kind, instead of spinning on reads that return at once.

Each test bounds the loop with a ``stop`` that counts its checks: a loop that
spins would run into the bound (and fail the count) instead of hanging."""

from __future__ import annotations

import threading
from pathlib import Path

from core.backend import pump
from core.docker.stream import ContainerLogStream
from core.inventory import Inventory
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import FileSessionStore
from core.logmerge import MergedLine, MergedTail
from core.logtail import FileTail
from core.model import LogLine, SessionRef
from core.tmux.stream import PaneStream

BOUND = 50  # far more reads than a finished stream needs; a spin gets here at once


class Counter:
    """A ``stop`` for :func:`pump` that gives up after ``BOUND`` checks."""

    def __init__(self) -> None:
        self.checks = 0

    def __call__(self) -> bool:
        self.checks += 1
        return self.checks > BOUND


def run(stream: object, wait: float = 5.0) -> tuple[list[str], int, Counter]:
    got: list[str] = []
    stop = Counter()

    def emit(batch: list[LogLine]) -> None:
        got.extend(line.text for line in batch)

    reads = pump(stream, emit, stop=stop, wait=wait)  # type: ignore[arg-type]
    return got, reads, stop


def json_backend(base: Path) -> tuple[JsonBackend, str]:
    manager = SessionManager(FileSessionStore(base))
    record = manager.start_session(agent_id="triage")
    manager.record_turn(record.session_id, prompt="where is my order")
    return JsonBackend(JsonBackendConfig(name="agents", kind="json", base=base)), record.session_id


def test_a_json_transcript_ends_the_loop(tmp_path: Path) -> None:
    backend, sid = json_backend(tmp_path / "agents")
    # follow is what the dashboard asks for; a transcript never follows
    got, reads, stop = run(backend.tail(sid, lines=10, follow=True))
    assert any("where is my order" in t for t in got)
    assert reads == 2 and stop.checks == 2  # the lines, then the end


def test_a_stopped_containers_log_ends_the_loop() -> None:
    # what the engine sends for a container that has exited: its output, then EOF
    ended = LogLine("— container exited (0) —", notice=True)
    stream = ContainerLogStream([], iter([b"one\ntwo\n"]), ending=lambda: ended)
    got, reads, stop = run(stream)
    assert got[:2] == ["one", "two"] and got[-1] == ended.text
    assert reads <= 4 and stop.checks <= 4


def test_a_pane_piped_elsewhere_ends_the_loop() -> None:
    # tmux allows one pipe per pane: a pane piped by someone else is shown,
    # not followed (the backend's _follow_pane)
    stream = PaneStream([LogLine("$ make"), LogLine("already piped", notice=True)])
    got, reads, _ = run(stream)
    assert got == ["$ make", "already piped"]
    assert reads == 2


def test_an_unfollowed_file_ends_the_loop(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\n")
    got, reads, _ = run(FileTail(log, lines=10, follow=False))
    assert got == ["a", "b"] and reads == 2


def test_a_followed_file_blocks_until_closed(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\n")
    tail = FileTail(log, lines=10, follow=True)
    got: list[str] = []
    first = threading.Event()

    def emit(batch: list[LogLine]) -> None:
        got.extend(line.text for line in batch)
        first.set()

    stop = Counter()
    reads: list[int] = []
    thread = threading.Thread(target=lambda: reads.append(pump(tail, emit, stop=stop, wait=30)))
    thread.start()
    assert first.wait(10)
    tail.close()  # what _stop_tail does: the waiting read returns, the loop ends
    thread.join(10)
    assert not thread.is_alive()
    assert got == ["a"] and reads[0] <= 3


def test_a_merged_tail_of_finished_sources_ends_the_loop(tmp_path: Path) -> None:
    backend, sid = json_backend(tmp_path / "agents")
    inv = Inventory([backend])
    ref = SessionRef("agents", sid)
    got: list[MergedLine] = []
    stop = Counter()
    with MergedTail(inv, [ref], lines=10, labels={ref: "A"}, backlog_wait=5) as tail:
        reads = pump(tail, got.extend, stop=stop, wait=5)
        assert tail.done and tail.read_available(5) == []  # done: at once, no wait
    texts = [m.line.text for m in got]
    assert any("where is my order" in t for t in texts)
    assert texts[-1] == "log ended"
    assert reads <= 4 and stop.checks <= 4
    inv.close()


def test_pump_stops_when_asked() -> None:
    stream = ContainerLogStream([LogLine("x")], iter(()))
    assert pump(stream, lambda _b: None, stop=lambda: True) == 0
