"""The dashboard's keys, each with an id for ``ui.keymap`` (the screen's
docstring has the table)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

DASHBOARD_BINDINGS: list[BindingType] = [
    # "/" and ":" are priority bindings: they run as the key arrives, in
    # order, before the keys behind them in the same burst reach the
    # table ("/state:idle" or ":docker" sent at once over SSH); in a text
    # box or the log pane they step aside (SkipAction)
    Binding("slash", "filter", "Filter", id="sessions.filter", priority=True),
    Binding("r", "refresh", "Refresh", show=False, id="sessions.refresh"),
    # the log pane's title shows these two, so the footer fits 80 columns
    Binding("f", "toggle_follow", "Follow", show=False, id="logs.follow"),
    Binding("z", "zoom_log", "Zoom log", show=False, id="logs.zoom"),
    Binding("l", "focus_log", "Log", show=False, id="logs.focus"),
    Binding("m", "merge_logs", "Merged log", show=False, id="logs.merge"),
    Binding("a", "attach", "Attach", id="sessions.attach"),
    Binding("s", "start", "Start", id="sessions.start"),
    Binding("x", "stop", "Stop", id="sessions.stop"),
    Binding("e", "extend", "TTL", id="sessions.extend"),
    Binding("p", "prune", "Prune", id="sessions.prune"),
    Binding("d", "delete", "Delete", id="sessions.delete"),
    Binding("space", "select", "Select", show=False, id="sessions.select"),
    Binding("A", "select_all", "Select all", show=False, id="sessions.select_all"),
    Binding("greater_than_sign", "sort(1)", "Sort →", show=False, id="sessions.sort_next"),
    Binding("less_than_sign", "sort(-1)", "Sort ←", show=False, id="sessions.sort_prev"),
    Binding("I", "sort_reverse", "Invert sort", show=False, id="sessions.sort_reverse"),
    Binding("b", "group", "Group", show=False, id="sessions.group"),
    Binding("R", "related", "Related", show=False, id="sessions.related"),
    Binding("y", "copy_id", "Copy id", show=False, id="sessions.copy"),
    Binding("i", "inspect", "Inspect", show=False, id="sessions.inspect"),
    Binding("colon", "command", "Command", show=False, id="sessions.command", priority=True),
    Binding(
        "1,2,3,4,5,6,7,8,9", "jump_view", "View", key_display="1-9", show=False, id="views.jump"
    ),
    Binding("ctrl+r", "restart", "Restart", show=False, id="sessions.restart"),
    Binding("S", "toggle_stats", "Stats", show=False, id="sessions.stats"),
    Binding("C", "columns", "Columns", show=False, id="sessions.columns"),
    Binding("L", "cycle_layout", "Layout", show=False, id="layout.cycle"),
    Binding("D", "toggle_details", "Details", show=False, id="layout.details"),
    Binding("O", "orphans", "Orphans", show=False, id="app.orphans"),
    Binding("J", "journal", "Journal", show=False, id="app.journal"),
    Binding("question_mark", "help", "Help", id="app.help"),
    Binding("q", "app.quit", "Quit", id="app.quit"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="sessions.clear_filter"),
]
