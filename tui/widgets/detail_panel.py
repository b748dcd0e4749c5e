"""DetailPanel: everything known about the selected session."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from core.model import LogSource, Session
from core.redaction import redact, redact_fields
from tui.formatting import break_long_words, bytes_text, minutes_ago_text
from tui.theme_style import theme_style


class DetailPanel(VerticalScroll):
    """A scrollable key/value view of one session and its logs.

    The fields are drawn in three parts, one under the other, aligned as one
    grid: those above the ticking times, the times (created, active), and the
    rest.  The times say how long ago in whole minutes (the exact time beside
    them has the seconds): when a minute turns, a tick draws the lines of the
    times that changed, instead of laying out every field again."""

    DEFAULT_CSS = """
    DetailPanel > Static { width: 1fr; }
    """

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.clock = clock
        self._head = Static("", id="detail-body")
        self._times = FieldLines(id="detail-times")
        self._rest = Static("", id="detail-rest")
        self.session: Session | None = None
        self.sources: Sequence[LogSource] = ()
        self.related: list[str] = []
        self.sized = True  # does the session's backend measure sizes?
        self.record = ""  # the session's record (pretty JSON) when its backend has one
        self._shown_agos = ("", "")  # the "(… ago)" texts drawn (see tick)
        self._label_width = 0  # the labels' column, over all three parts
        self.stats = ""  # live stats (CPU, memory, growth...) when they are on

    def compose(self):  # type: ignore[no-untyped-def]  # noqa: ANN201 - textual's ComposeResult
        yield self._head
        yield self._times
        yield self._rest

    def show(self, session: Session | None, sources: Sequence[LogSource] = ()) -> None:
        self.session = session
        self.sources = sources
        self._shown_agos = self._agos()
        self._draw()

    def _draw(self) -> None:
        head, times, rest = self._render_parts()
        for part, content in ((self._head, head), (self._rest, rest)):
            part.display = content is not None
            part.update("" if content is None else content)
        self._times.display = times is not None
        self._times.update(times)

    def _agos(self) -> tuple[str, str]:
        s = self.session
        if s is None:
            return ("", "")
        now = self.clock()
        return (minutes_ago_text(s.created, now), minutes_ago_text(s.last_active, now))

    def tick(self) -> bool:
        """Redraw the times when a "(5m ago)" shown would change; True if redrawn."""
        agos = self._agos()
        if self.session is None or agos == self._shown_agos:
            return False
        self._shown_agos = agos
        # the lines that changed are drawn again, and the screen is laid out
        # again only when the times take more or fewer lines
        rows = self._time_rows(self.session, agos)
        self._times.update(self._grid(rows, self._label_width))
        return True

    def on_resize(self) -> None:
        if self.session is not None:
            self._draw()

    def show_message(self, text: str) -> None:
        self.session = None
        self._head.display = True
        self._head.update(Text(text, style="dim"))
        self._times.display = self._rest.display = False

    def _render_body(self) -> Group | Text:
        """The whole body as one renderable (the three parts, one under the other)."""
        parts = [p for p in self._render_parts() if p is not None]
        return parts[0] if len(parts) == 1 and isinstance(parts[0], Text) else Group(*parts)

    def _render_parts(
        self,
    ) -> tuple[Fields | Text, Fields | None, Fields | Group | None]:
        """Above the times, the times, and the rest (with the record, if any);
        None for a part with nothing in it."""
        s = self.session
        if s is None:
            return Text("No session selected.", style="dim"), None, None
        head = self._head_rows(s)
        times = self._time_rows(s, self._agos())
        rest = self._rest_rows(s)
        width = self._label_width = max((len(label) for label, _ in head + times + rest), default=0)
        body: Fields | Group | None = self._grid(rest, width) if rest else None
        if self.record:
            # the whole record, scrollable with the panel (focus it with tab)
            record = Text(redact(self.record))
            lead = [body, Text("")] if body is not None else []
            body = Group(*lead, Text("record", style="bold"), record)
        return self._grid(head, width), self._grid(times, width) if times else None, body

    def _head_rows(self, s: Session) -> list[tuple[str, str | Text]]:
        state_colour = theme_style(self.app, f"state-{s.state.value}")
        rows: list[tuple[str, str | Text]] = [
            ("id", s.id),
            ("backend", f"{s.backend} ({s.kind})"),
            ("state", Text(s.state.value, style=state_colour)),
        ]
        if self.stats:
            rows.append(("stats", self.stats))
        return rows

    def _time_rows(self, s: Session, agos: tuple[str, str]) -> list[tuple[str, str | Text]]:
        """The created and active rows, with ``agos`` (:meth:`_agos`) beside them."""
        rows: list[tuple[str, str | Text]] = []
        if s.created:
            rows.append(("created", f"{s.created:%Y-%m-%d %H:%M:%S} ({agos[0]})"))
        if s.last_active:
            rows.append(("active", f"{s.last_active:%Y-%m-%d %H:%M:%S} ({agos[1]})"))
        return rows

    def _rest_rows(self, s: Session) -> list[tuple[str, str | Text]]:
        rows: list[tuple[str, str | Text]] = []

        def row(label: str, value: str | Text) -> None:
            rows.append((label, value))

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
        return rows

    def _grid(self, rows: list[tuple[str, str | Text]], label_width: int) -> Fields:
        """Labels (``label_width`` wide: every part's labels line up), then
        values over the width left; a long path or id breaks after a ``/``,
        ``_`` or ``-``, never in the middle of a name."""
        # the panel's inner width (borders and padding are outside it), less a
        # scrollbar's room whether one shows or not: the same lines either way
        inner = self.content_region.width - self.styles.scrollbar_size_vertical
        width = inner - label_width - 1
        return Fields(
            [
                # a value is text, never markup: "[admin]" is shown, not taken for a style
                (label, Text(break_long_words(value, width)) if isinstance(value, str) else value)
                for label, value in rows
            ],
            label_width,
        )


class Fields:
    """Label and value rows, drawn as a two-column grid would draw them (bold
    labels, values folded to the width left) without a table's layout: a
    second's tick draws its times in a fraction of the time."""

    def __init__(self, rows: list[tuple[str, Text]], label_width: int) -> None:
        self.rows = rows
        self.label_width = label_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.label_width
        values = options.update(
            width=max(1, options.max_width - width - 1), height=None, overflow="fold"
        )
        bold = Style(bold=True)
        space = Segment(" ")
        for label, value in self.rows:
            for i, line in enumerate(console.render_lines(value, values, pad=False)):
                yield Segment((label if i == 0 else "").ljust(width), bold)
                yield space
                yield from line
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max(
            (cell_len(line) for _, v in self.rows for line in v.plain.split("\n")), default=0
        )
        return Measurement(self.label_width + 1, self.label_width + 1 + longest)


class FieldLines(Widget):
    """:class:`Fields` drawn line by line: an update redraws only the lines
    whose text changed (a minute's "(5m ago)": one line, not the part), and
    lays the screen out again only when the number of lines changes."""

    DEFAULT_CSS = """
    FieldLines { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.fields: Fields | None = None
        self._laid: tuple[int, list[list[Segment]]] = (-1, [])  # the lines, at a width
        self._strips: dict[int, Strip] = {}  # drawn lines, by y

    def update(self, fields: Fields | None) -> None:
        """Show ``fields`` (None: nothing)."""
        width, before = self._laid
        self.fields = fields
        self._laid = (-1, [])
        self._strips.clear()
        if width < 0:
            self.refresh(layout=True)
            return
        after = self._lines(width)
        if len(after) != len(before):
            self.refresh(layout=True)
            return
        changed = [
            Region(0, y, width, 1)
            for y, (old, new) in enumerate(zip(before, after, strict=True))
            if old != new
        ]
        if changed:
            self.refresh(*changed)

    def _lines(self, width: int) -> list[list[Segment]]:
        """The lines of the fields at ``width`` (worked out once per update and width)."""
        if self._laid[0] != width:
            lines: list[list[Segment]] = []
            if self.fields is not None and width > 0:
                console = self.app.console
                lines = console.render_lines(
                    self.fields, console.options.update_width(width), pad=False
                )
            self._laid = (width, lines)
            self._strips.clear()
        return self._laid[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # (a new theme: the lines are drawn in its colours)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is None:
            lines = self._lines(width)
            base = self.rich_style
            if y < len(lines):
                strip = Strip(lines[y]).apply_style(base).extend_cell_length(width, base)
            else:
                strip = Strip.blank(width, base)
            self._strips[y] = strip
        return strip
