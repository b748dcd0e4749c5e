"""A session's windows, panes and process trees, in sections."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from core.tmux.base import GONE, TmuxBase
from core.tmux.listing import local_time
from core.tmux.syntax import window_target

if TYPE_CHECKING:
    from core.inspection import Section


class InspectMixin(TmuxBase):
    """inspect_sections of a :class:`TmuxBackend`."""

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The session, each window with its panes, and each pane's process
        tree from ``/proc`` (pid, state, RSS, command line): one tmux process
        and one scan of ``/proc``."""
        from core.inspection import Section, size_text
        from core.procs import children_map, read_processes, tree

        name = self._checked(session_id)
        fixed = [
            "window_index", "window_id", "window_active", "window_panes", "window_layout",
            "pane_index", "pane_id", "pane_active", "pane_pid", "pane_dead",
            "pane_dead_status", "pane_width", "pane_height", "session_attached",
            "session_created", "session_windows",
        ]  # fmt: skip
        texts = ["window_name", "pane_current_command", "pane_title", "pane_current_path"]
        fmt = "\x1f".join(f"#{{{f}}}" for f in fixed + texts)
        result = self.runner.run("list-panes", "-s", "-t", window_target(name), "-F", fmt)
        if result.outcome in GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise self._server_error(result)
        rows = []
        for line in result.stdout.split(b"\n"):
            parts = line.split(b"\x1f", len(fixed) + len(texts) - 1)
            if len(parts) == len(fixed) + len(texts):
                keys = fixed + texts
                rows.append({k: os.fsdecode(v) for k, v in zip(keys, parts, strict=True)})
        if not rows:
            raise self._not_found(name)
        procs = read_processes()
        kids = children_map(procs)
        first = rows[0]
        session = Section.make(
            "tmux session",
            {
                "name": name,
                "server": self.socket,
                "created": local_time(int(first["session_created"] or 0)),
                "windows": first["session_windows"],
                "attached clients": first["session_attached"],
            },
        )
        windows: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            windows.setdefault(row["window_id"], []).append(row)
        sections = [session]
        for panes in windows.values():
            w = panes[0]
            pane_sections = []
            for pane in panes:
                pid = int(pane["pane_pid"] or 0)
                lines = [
                    f"{'  ' * depth}{p.pid} {p.state} {size_text(p.rss_bytes):>10}  {p.label}"
                    for depth, p in tree([pid], procs, kids)
                ]
                dead = pane["pane_dead"] == "1"
                pane_sections.append(
                    Section.make(
                        f"pane {pane['pane_index']} ({pane['pane_id']})"
                        + (" · active" if pane["pane_active"] == "1" else ""),
                        {
                            "pid": pid,
                            "command": pane["pane_current_command"],
                            "cwd": pane["pane_current_path"],
                            "size": f"{pane['pane_width']}x{pane['pane_height']}",
                            "title": pane["pane_title"],
                            "state": (
                                f"exited (status {pane['pane_dead_status'] or '?'})"
                                if dead
                                else "running"
                            ),
                        },
                        ["processes (pid state rss command):", *lines] if lines else [],
                    )
                )
            sections.append(
                Section.make(
                    f"window {w['window_index']}: {w['window_name']}"
                    + (" · active" if w["window_active"] == "1" else ""),
                    {
                        "id": w["window_id"],
                        "panes": w["window_panes"],
                        "layout": w["window_layout"],
                    },
                    children=pane_sections,
                )
            )
        return sections
