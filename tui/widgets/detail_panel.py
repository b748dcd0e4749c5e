"""DetailPanel: everything known about the selected session."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.model import LogSource, Session
from core.redaction import redact, redact_fields
from tui.formatting import ago_text, break_long_words, bytes_text
from tui.theme_style import theme_style


class DetailPanel(VerticalScroll):
    """A scrollable key/value view of one session and its logs."""

    DEFAULT_CSS = """
    DetailPanel > Static { width: 1fr; }
    """

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.clock = clock
        self._body = Static("", id="detail-body")
        self.session: Session | None = None
        self.sources: Sequence[LogSource] = ()
        self.related: list[str] = []
        self.sized = True  # does the session's backend measure sizes?
        self.record = ""  # the session's record (pretty JSON) when its backend has one
        self._shown_agos = ("", "")  # the "(… ago)" texts drawn (see tick)
        self.stats = ""  # live stats (CPU, memory, growth...) when they are on

    def compose(self):  # type: ignore[no-untyped-def]  # noqa: ANN201 - textual's ComposeResult
        yield self._body

    def show(self, session: Session | None, sources: Sequence[LogSource] = ()) -> None:
        self.session = session
        self.sources = sources
        self._shown_agos = self._agos()
        self._body.update(self._render_body())

    def _agos(self) -> tuple[str, str]:
        s = self.session
        if s is None:
            return ("", "")
        now = self.clock()
        return (ago_text(s.created, now), ago_text(s.last_active, now))

    def tick(self) -> bool:
        """Redraw when a "(5m ago)" shown would change; True if redrawn."""
        agos = self._agos()
        if self.session is None or agos == self._shown_agos:
            return False
        # the same lengths ("9s" to "8s"... never "9s" to "10s") wrap the same
        # way: a repaint of the panel, not a layout of the screen
        same_size = [len(a) for a in agos] == [len(a) for a in self._shown_agos]
        self._shown_agos = agos
        self._body.update(self._render_body(), layout=not same_size)
        return True

    def on_resize(self) -> None:
        if self.session is not None:
            self._body.update(self._render_body())

    def show_message(self, text: str) -> None:
        self.session = None
        self._body.update(Text(text, style="dim"))

    def _render_body(self) -> Table | Text | Group:
        grid = self._render_fields()
        if self.record and self.session is not None:
            # the whole record, scrollable with the panel (focus it with tab)
            record = Text(redact(self.record))
            return Group(grid, Text(""), Text("record", style="bold"), record)
        return grid

    def _render_fields(self) -> Table | Text:
        s = self.session
        if s is None:
            return Text("No session selected.", style="dim")
        now = self.clock()
        rows: list[tuple[str, str | Text]] = []
        state_colour = theme_style(self.app, f"state-{s.state.value}")

        def row(label: str, value: str | Text) -> None:
            rows.append((label, value))

        row("id", s.id)
        row("backend", f"{s.backend} ({s.kind})")
        row("state", Text(s.state.value, style=state_colour))
        if self.stats:
            row("stats", self.stats)
        if s.created:
            row("created", f"{s.created:%Y-%m-%d %H:%M:%S} ({ago_text(s.created, now)})")
        if s.last_active:
            row("active", f"{s.last_active:%Y-%m-%d %H:%M:%S} ({ago_text(s.last_active, now)})")
        if s.expires:
            row("expires", f"{s.expires:%Y-%m-%d %H:%M:%S}")
        if s.size is not None:
            row("size", f"{bytes_text(s.size.disk)} on disk")
            row("", f"{bytes_text(s.size.apparent)} apparent, {s.size.files} files")
        elif self.sized:
            row("size", Text("measuring…", style="dim"))
        if s.path:
            row("path", s.path)
        if self.related:
            row("related", "\n".join(self.related))
        for k, v in redact_fields(s.metadata).items():
            if k not in ("base", "uuid"):
                row(k, v)
        if self.sources:
            row(
                "logs",
                "\n".join(
                    src.name if src.size is None else f"{src.name} ({bytes_text(src.size)})"
                    for src in self.sources
                ),
            )
        return self._grid(rows)

    def _grid(self, rows: list[tuple[str, str | Text]]) -> Table:
        """Labels, then values over the width left; a long path or id breaks
        after a ``/``, ``_`` or ``-``, never in the middle of a name."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        label_width = max((len(label) for label, _ in rows), default=0)
        # the panel's inner width (borders and padding are outside it), less a
        # scrollbar's room whether one shows or not: the same lines either way
        inner = self.content_region.width - self.styles.scrollbar_size_vertical
        width = inner - label_width - 1
        for label, value in rows:
            fitted = break_long_words(value, width) if isinstance(value, str) else value
            grid.add_row(label, fitted)
        return grid
