"""The ``sesstui`` command: the dashboard, or the same operations headless.

Exit codes: 0 ok, 1 an action failed, 2 usage or configuration error,
3 a backend is unavailable, 4 a session was not found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from core.config.records import AppConfig
from core.errors import SesstuiError
from core.inventory import Inventory
from core.journal import ACTIONS, Journal
from tui.cli_output import EXIT_OK
from tui.cli_prune import _cmd_journal, _cmd_orphans, _cmd_prune, _journal_warning
from tui.cli_sessions import (
    _cmd_attach,
    _cmd_expire,
    _cmd_extend,
    _cmd_inspect,
    _cmd_logs,
    _cmd_ls,
    _cmd_restart,
    _cmd_start,
    _cmd_stats,
    _cmd_stop,
)

EPILOG = """\
exit codes: 0 ok, 1 action failed, 2 usage or config error,
            3 backend unavailable, 4 session not found
"""


def _version() -> str:
    """The installed distribution's version (the source tree's when run from it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sesstui")
    except PackageNotFoundError:
        return "(not installed; run from a source tree)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sesstui",
        description="One console for every session. With no command, opens the dashboard.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"sesstui {_version()}")
    p.add_argument("--config", metavar="FILE", help="config file (default: discovered, see README)")
    p.add_argument("--theme", help="dashboard theme, e.g. sesstui-dark, sesstui-light, sesstui-16")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    ls = add("ls", "list sessions of every backend")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument(
        "--backend", action="append", metavar="NAME", help="only this backend (repeatable)"
    )
    ls.add_argument("--no-sizes", action="store_true", help="skip measuring sizes (faster)")
    ls.add_argument(
        "--filter",
        metavar="QUERY",
        help="only sessions matching QUERY, e.g. 'state:idle age>7d size>1G' (see README)",
    )
    ls.add_argument(
        "--view", metavar="NAME", help="only sessions matching a saved view (config `views:`)"
    )

    logs = add("logs", "print a session's log (last lines, optionally follow)")
    logs.add_argument("ref", metavar="REF", help="backend:id, or a bare session name")
    logs.add_argument(
        "-n", "--lines", type=int, default=100, help="lines from the end (default 100)"
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--source", help="which log of the session (default: the newest)")
    logs.add_argument("--list", action="store_true", help="list the session's logs instead")

    for name, text in (
        ("prune", "remove sessions that the retention policy selects"),
        ("delete", "remove the named sessions"),
    ):
        c = add(name, text)
        if name == "delete":
            c.add_argument("refs", nargs="+", metavar="REF", help="backend:id or bare name")
        else:
            c.add_argument("--backend", action="append", metavar="NAME", help="only this backend")
        c.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        c.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        c.add_argument("--json", action="store_true", help="machine-readable plan and results")
        c.add_argument("--force", action="store_true", help="include active sessions")
        c.add_argument(
            "--confirm-count",
            type=int,
            metavar="N",
            help="for protected backends with --yes: the number of sessions you expect to remove",
        )

    start = add("start", "start a session spec from the configuration, or a stopped session")
    start.add_argument(
        "name",
        metavar="NAME",
        nargs="?",
        help="a key under `sessions:`, or the ref/name of a stopped container or tmux session",
    )
    start.add_argument("--list", action="store_true", help="list what can be started, and why")
    start.add_argument("--json", action="store_true", help="machine-readable output")

    restart = add("restart", "stop a session, then start it again (a container: engine restart)")
    restart.add_argument("ref", metavar="REF", help="backend:id, or a bare session name")
    restart.add_argument(
        "--timeout", type=float, metavar="S", help="seconds to wait before a kill (default: spec)"
    )
    restart.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    restart.add_argument("--json", action="store_true", help="machine-readable output")

    stop = add("stop", "stop a session: interrupt, wait, then kill")
    stop.add_argument("ref", metavar="REF", help="backend:id, or a bare session name")
    stop.add_argument("--timeout", type=float, metavar="S", help="seconds to wait (default: spec)")
    stop.add_argument("--force", action="store_true", help="kill at once, no interrupt")
    stop.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    insp = add("inspect", "show a session's whole record (container inspect, panes, tree, turns)")
    insp.add_argument("ref", metavar="REF", help="backend:id, or a bare session name")
    insp.add_argument("--json", action="store_true", help="machine-readable output")

    st = add("stats", "live CPU, memory, growth and turns per hour of sessions")
    st.add_argument("refs", nargs="*", metavar="REF", help="sessions (default: every session)")
    st.add_argument(
        "--backend", action="append", metavar="NAME", help="only this backend (repeatable)"
    )
    st.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between the two readings rates need (default 1)",
    )
    st.add_argument("--json", action="store_true", help="machine-readable output")

    attach = add("attach", "attach this terminal to a session (tmux attach / switch-client)")
    attach.add_argument("ref", metavar="REF", help="backend:id, or a bare session name")

    ext = add("extend", "give a TTL session (kv) a new lifetime from now")
    ext.add_argument("ref", metavar="REF", help="backend:id, or a bare session id")
    ext.add_argument("--ttl", required=True, metavar="DURATION", help="e.g. 30m, 2h, 1d")

    exp = add("expire", "expire a TTL session (kv) now")
    exp.add_argument("ref", metavar="REF", help="backend:id, or a bare session id")
    exp.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    orph = add("orphans", "report what is left behind: unused session dirs, empty workspaces, ...")
    orph.add_argument("--json", action="store_true", help="machine-readable report")
    orph.add_argument(
        "--backend", action="append", metavar="NAME", help="only this backend's orphans"
    )
    orph.add_argument("--check", action="store_true", help="exit 1 when any orphan is found")

    jr = add("journal", "show the actions taken (start, stop, prune ...) and their CLI commands")
    jr.add_argument(
        "-n",
        "--lines",
        type=int,
        default=50,
        metavar="N",
        help="the newest N entries (default 50, 0 = all)",
    )
    jr.add_argument("--json", action="store_true", help="JSON lines, one entry per line")
    jr.add_argument(
        "--action", choices=ACTIONS, metavar="ACTION", help=f"only this: {', '.join(ACTIONS)}"
    )
    jr.add_argument("--since", metavar="DURATION", help="only the last DURATION, e.g. 2h, 1d")

    add("demo", "open the dashboard on a throwaway sandbox of live sessions")

    cfg = add("config", "check, show or locate the configuration, or list every key")
    cfg.add_argument("action", choices=["check", "show", "path", "keys"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            return _run_dashboard(args)
        if args.command == "demo":
            from tui.demo import run_demo

            return run_demo(theme=args.theme)
        if args.command == "journal":
            return _cmd_journal(args)  # needs no config: a broken one must not hide it
        if args.command == "config" and args.action == "keys":
            from core.config.reference import key_reference

            print(key_reference())  # from the schemas; no config is read
            return EXIT_OK
        config = _load(args)
        if args.command == "config":
            return _cmd_config(args, config)
        inventory = Inventory.from_config(
            config, source="cli", journal=Journal.default(on_warning=_journal_warning)
        )
        try:
            handler = {
                "ls": _cmd_ls,
                "logs": _cmd_logs,
                "prune": _cmd_prune,
                "delete": _cmd_prune,
                "start": _cmd_start,
                "restart": _cmd_restart,
                "stop": _cmd_stop,
                "attach": _cmd_attach,
                "inspect": _cmd_inspect,
                "stats": _cmd_stats,
                "extend": _cmd_extend,
                "expire": _cmd_expire,
                "orphans": _cmd_orphans,
            }[args.command]
            return handler(args, inventory)
        finally:
            inventory.close()
    except SesstuiError as e:
        print(f"sesstui: {e.title.lower()}: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error for us
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _load(args: argparse.Namespace) -> AppConfig:
    from core.config import load_config

    return load_config(args.config)


def _run_dashboard(args: argparse.Namespace) -> int:
    config = _load(args)
    from tui.app import SesstuiApp
    from tui.hangup import HangupGuard

    app = SesstuiApp(config, theme=args.theme)
    with HangupGuard(app) as guard:  # a closed terminal ends it, never an orphan
        app.run()
    return guard.code or app.return_code or EXIT_OK


# -- config -------------------------------------------------------------------


def _cmd_config(args: argparse.Namespace, config: AppConfig) -> int:
    from core.config import config_to_dict

    where = str(config.source) if config.source is not None else "(embedded default)"
    if args.action == "path":
        print(where)
    elif args.action == "check":
        themes = _check_theme(config)
        print(
            f"ok: {where}: {len(config.backends)} backends, {len(config.sessions)} session "
            f"specs, theme {config.ui.theme} ({themes} themes)"
        )
    else:
        print(json.dumps(config_to_dict(config, redact=True), indent=2))
    return EXIT_OK


def _check_theme(config: AppConfig) -> int:
    """The checks the dashboard makes before it starts: every user theme file
    loads, and ``ui.theme`` names a theme (ConfigError with file:line).
    Here, not in core: themes are Textual's, and core never imports it."""
    from core.errors import ConfigError
    from tui.themes import load_themes

    themes = load_themes()  # a broken user theme raises, naming its file and line
    if config.ui.theme not in themes.names:
        origin = config.ui.theme_origin
        raise ConfigError(
            f"unknown theme {config.ui.theme!r}; known: {', '.join(themes.names)} "
            "(user themes go in ~/.config/sesstui/themes/*.yml)",
            file=origin.file,
            line=origin.line,
            key="ui.theme",
        )
    return len(themes.names)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
