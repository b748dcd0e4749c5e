"""LogPane: the bounded, batch-written tail of the selected session's log."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Log

from core.model import LogLine


class LogPane(Log):
    """A ``Log`` that keeps at most ``max_lines`` and takes lines in batches."""

    def __init__(self, *, max_lines: int = 5000, id: str | None = None) -> None:  # noqa: A002
        super().__init__(max_lines=max_lines, highlight=False, auto_scroll=True, id=id)
        self.source = ""
        self.following = False

    def reset(self, title: str) -> None:
        self.clear()
        self.source = title

    def add(self, lines: Sequence[LogLine]) -> None:
        # one write per batch keeps the UI responsive under a fast log
        self.write_lines([f"── {ln.text} ──" if ln.notice else ln.text for ln in lines])

    def message(self, text: str) -> None:
        self.clear()
        self.write_line(text)
