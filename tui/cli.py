"""The ``sesstui`` command: the dashboard, or the same operations headless.

Exit codes: 0 ok, 1 an action failed, 2 usage or configuration error,
3 a backend is unavailable, 4 a session was not found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

from core.config.records import AppConfig
from core.errors import ActionFailed, ActionNotSupported, SesstuiError, UsageError
from core.inventory import Inventory, Snapshot
from core.journal import ACTIONS, Journal
from core.model import Capability, HealthStatus, PrunePlan, PruneResult, Session, SessionRef
from core.query import Query, QueryError, combine, parse_query
from tui.formatting import age_text, bytes_text, iso, session_json, size_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4

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

    cfg = add("config", "check, show or locate the configuration")
    cfg.add_argument("action", choices=["check", "show", "path"])
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


# -- ls -----------------------------------------------------------------------


def _ls_query(args: argparse.Namespace, config: AppConfig | None) -> Query | None:
    """The ``--view`` and ``--filter`` queries as one, or None without either."""
    if args.view is None and args.filter is None:
        return None
    queries = []
    if args.view is not None:
        views = config.views if config is not None else {}
        if args.view not in views:
            known = ", ".join(views) or "none (add them under `views:` in the config)"
            raise UsageError(f"unknown view '{args.view}'; views: {known}")
        queries.append(parse_query(views[args.view]))
    if args.filter is not None:
        queries.append(parse_query(args.filter))
    query = combine(*queries)
    if args.no_sizes and query.uses("size"):
        raise UsageError(
            "the query compares sizes, which --no-sizes skips measuring; drop --no-sizes "
            "or the size term"
        )
    return query


def _cmd_ls(args: argparse.Namespace, inv: Inventory) -> int:
    try:
        query = _ls_query(args, inv.config)
    except QueryError as e:
        print(f"sesstui: bad query: {e.message}", file=sys.stderr)
        print(e.caret_line(indent="  ", with_message=False), file=sys.stderr)
        return EXIT_USAGE
    snap = inv.refresh(args.backend)
    sessions = list(snap.sessions)
    now = datetime.now().astimezone()
    if query is not None:
        # measuring is the slow part: measure only what the other terms keep
        # (activity too waits: a measured size can move last_active forward)
        sessions = query.without("size", "active", "idle").filter(sessions, now)
    if not args.no_sizes:
        sizes = dict(inv.measure(sessions))
        sessions = [s.with_size(sizes[s.ref]) if s.ref in sizes else s for s in sessions]
    if query is not None:
        sessions = query.filter(sessions, now)
    if args.json:
        out = {
            "sessions": [session_json(s) for s in sessions],
            "backends": [
                {
                    "name": h.backend,
                    "kind": h.kind,
                    "status": h.status.value,
                    "reason": h.reason,
                    "sessions": h.sessions,
                    "endpoint": h.endpoint,
                }
                for h in snap.health
            ],
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(sessions, sys.stdout)
    return _health_exit(snap)


def _health_exit(snap: Snapshot) -> int:
    bad = [h for h in snap.health if h.status is HealthStatus.UNAVAILABLE]
    for h in bad:
        print(f"sesstui: backend {h.backend} unavailable: {h.reason}", file=sys.stderr)
    return EXIT_UNAVAILABLE if bad else EXIT_OK


def _print_table(sessions: list[Session], out: TextIO) -> None:
    now = datetime.now().astimezone()
    rows = [("BACKEND", "NAME", "STATE", "AGE", "ACTIVE", "SIZE", "INFO")]
    rows += [
        (
            s.backend,
            s.name,
            s.state.value,
            age_text(s.created, now),
            age_text(s.last_active, now),
            size_text(s.size, pending="-"),
            s.info,
        )
        for s in sessions
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
        out.write(f"  {r[-1]}\n".rstrip() + "\n")
    if not sessions:
        out.write("(no sessions)\n")


# -- logs ---------------------------------------------------------------------


def _cmd_logs(args: argparse.Namespace, inv: Inventory) -> int:
    if args.lines < 0:
        raise UsageError("-n must be 0 or more")
    session = inv.find(args.ref)
    backend = inv.backend(session.backend)
    if args.list:
        for src in backend.logs(session.id):
            print(f"{src.name}\t{bytes_text(src.size)}")
        return EXIT_OK
    stream = inv.tail(session.ref, lines=args.lines, follow=args.follow, source=args.source)
    try:
        for line in stream:
            text = f"[{line.text}]" if line.notice else line.text
            sys.stdout.write(text + "\n")
            if args.follow:
                sys.stdout.flush()
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        stream.close()
    return EXIT_OK


# -- start / stop / attach ------------------------------------------------------


def _cmd_start(args: argparse.Namespace, inv: Inventory) -> int:
    if args.list or args.name is None:
        if args.name is not None:
            raise UsageError("start --list takes no NAME")
        if not args.list:
            raise UsageError("start needs a NAME (see `sesstui start --list` for what can start)")
        snap = inv.refresh()
        choices = inv.startable(snap)
        if args.json:
            _dump_json(
                {
                    "startable": [
                        {
                            "key": c.key,
                            "backend": c.backend,
                            "name": c.name,
                            "what": c.what,
                            "spec": c.spec is not None,
                            "state": c.session.state.value if c.session else None,
                        }
                        for c in choices
                    ],
                    "reason": choices.reason,
                }
            )
        else:
            for c in choices:
                print(f"{c.key}\t{c.backend}\t{c.what}")
            if not choices:
                print(choices.reason)
        return _health_exit(snap)
    session = inv.start(args.name)
    if args.json:
        _dump_json({"started": str(session.ref), "session": session_json(session)})
        return EXIT_OK
    where = f" in {session.path}" if session.path else ""
    print(f"started {session.ref}{where}")
    return EXIT_OK


def _confirm(question: str, refusal: str, args: argparse.Namespace) -> bool:
    """True with --yes, or when a person at a terminal says yes."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{refusal} without confirmation; pass --yes")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _cmd_restart(args: argparse.Namespace, inv: Inventory) -> int:
    session = inv.find(args.ref)
    timeout = inv.stop_timeout(session.ref) if args.timeout is None else args.timeout
    if not _confirm(f"Restart {session.ref}?", f"refusing to restart {session.ref}", args):
        print("cancelled; nothing restarted")
        return EXIT_OK
    after = inv.restart(session.ref, timeout=timeout)
    if args.json:
        _dump_json({"restarted": str(after.ref), "session": session_json(after)})
    else:
        print(f"restarted {after.ref} ({after.state.value})")
    return EXIT_OK


def _cmd_stop(args: argparse.Namespace, inv: Inventory) -> int:
    session = inv.find(args.ref)
    timeout = inv.stop_timeout(session.ref) if args.timeout is None else args.timeout
    told = inv.stop_description(session.ref, timeout=timeout)
    if not told.can_stop:
        raise ActionNotSupported(f"cannot stop {session.ref}: {told.stop}")
    how = told.kill if args.force else told.stop
    verb = "Kill" if args.force else "Stop"
    if not _confirm(f"{verb} {session.ref}? {how}", f"refusing to stop {session.ref}", args):
        print("cancelled; nothing stopped")
        return EXIT_OK
    inv.stop(session.ref, graceful=not args.force, timeout=timeout)
    print(f"{'killed' if args.force else 'stopped'} {session.ref}")
    return EXIT_OK


def _cmd_extend(args: argparse.Namespace, inv: Inventory) -> int:
    from core.durations import parse_duration

    ttl = parse_duration(args.ttl)
    if ttl.total_seconds() <= 0:
        raise UsageError("--ttl must be more than zero; to end a session now use `sesstui expire`")
    session = _ttl_session(args.ref, inv, "extend")
    inv.extend(session.ref, ttl)
    print(f"extended {session.ref}: expires in {args.ttl.strip()}")
    return EXIT_OK


def _ttl_session(ref: str, inv: Inventory, verb: str) -> Session:
    """The session ``ref`` names, when its backend has TTLs; else a clear error."""
    session = inv.find(ref)
    if Capability.EXTEND not in inv.backend(session.backend).capabilities:
        raise ActionNotSupported(
            f"cannot {verb} {session.ref}: {session.kind} sessions have no TTL (only kv "
            f"sessions do); to end it use `sesstui stop` or `sesstui delete {session.ref}`"
        )
    return session


def _cmd_expire(args: argparse.Namespace, inv: Inventory) -> int:
    session = _ttl_session(args.ref, inv, "expire")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"refusing to expire {session.ref} without confirmation; pass --yes")
        try:
            answer = input(f"Expire {session.ref} now (its record is removed)? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("cancelled; nothing changed")
            return EXIT_OK
    inv.extend(session.ref, timedelta(0))
    print(f"expired {session.ref}")
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace, inv: Inventory) -> int:
    session = inv.find(args.ref)
    inspection = inv.inspect(session.ref)
    if args.json:
        _dump_json(inspection.to_json())
    else:
        for line in inspection.lines():
            sys.stdout.write(line + "\n")
    return EXIT_OK


def _cmd_stats(args: argparse.Namespace, inv: Inventory) -> int:
    if not 0 < args.interval <= 3600:
        raise UsageError("--interval must be more than 0 and at most 3600 seconds")
    snap: Snapshot | None = None
    if args.refs:
        if args.backend:
            raise UsageError("give REFs or --backend, not both")
        sessions = [inv.find(text) for text in args.refs]
    else:
        snap = inv.refresh(args.backend)
        sessions = list(snap.sessions)
    stats = inv.stats(sessions, interval=args.interval)
    if args.json:
        _dump_json({"stats": [s.to_json() for s in stats], "interval": args.interval})
    else:
        names = {s.ref: s.name for s in sessions}
        rows = [("BACKEND", "NAME", "CPU", "MEMORY", "PROCS", "SIZE", "GROWTH", "TURNS/H", "NOTE")]
        for st in stats:
            memory = "-" if st.memory_bytes is None else bytes_text(st.memory_bytes)
            if st.memory_limit and st.memory_bytes is not None:
                memory += f" / {bytes_text(st.memory_limit)}"
            rows.append(
                (
                    st.ref.backend,
                    names.get(st.ref, st.ref.id),
                    "-" if st.cpu_percent is None else f"{st.cpu_percent:.1f}%",
                    memory,
                    "-" if st.processes is None else str(st.processes),
                    "-" if st.size_bytes is None else bytes_text(st.size_bytes),
                    "-"
                    if st.growth_bytes_per_s is None
                    else f"{bytes_text(int(st.growth_bytes_per_s))}/s",
                    "-" if st.turns_per_hour is None else f"{st.turns_per_hour:g}",
                    st.note,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            line = "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False))
            sys.stdout.write(f"{line}  {r[-1]}".rstrip() + "\n")
        if not stats:
            sys.stdout.write("(no sessions)\n")
    return _health_exit(snap) if snap is not None else EXIT_OK


def _cmd_attach(args: argparse.Namespace, inv: Inventory) -> int:
    session = inv.find(args.ref)
    argv = inv.attach_argv(session.ref)
    if shutil.which(argv[0]) is None:
        inv.record_attach(session.ref, result="failed", detail=f"{argv[0]} not found")
        raise ActionFailed(f"cannot run {argv[0]}: not found; is it installed and on PATH?")
    inv.record_attach(session.ref)  # now: exec replaces this process
    inv.close()
    try:
        # replace this process: the terminal (local or over SSH) is the session's now
        os.execvp(argv[0], argv)  # noqa: S606 - an argv list built by core, no shell
    except OSError as e:
        raise ActionFailed(
            f"cannot run {argv[0]}: {e.strerror}; is it installed and on PATH?"
        ) from e
    return EXIT_OK  # pragma: no cover - execvp does not return


# -- orphans ------------------------------------------------------------------


def _cmd_orphans(args: argparse.Namespace, inv: Inventory) -> int:
    """Exit 0, or 3 when a backend could not be checked; with --check, 1 when
    any orphan is found (that wins over 3)."""
    from core.orphans import load_orphans

    config = inv.config
    if config is None:  # pragma: no cover - main() builds the inventory from config
        raise UsageError("orphans needs a configuration")
    report = load_orphans(inv, config, backends=args.backend)
    if args.json:
        _dump_json(
            {
                "orphans": [
                    {
                        "category": o.category,
                        "backend": o.backend,
                        "ref": str(o.ref) if o.ref is not None else None,
                        "name": o.name,
                        "path": o.path,
                        "reason": o.reason,
                        "bytes": o.bytes,
                        "actionable": o.actionable,
                    }
                    for o in report
                ],
                "counts": report.counts(),
                "total_bytes": report.total_bytes,
                "skipped": list(report.skipped),
            }
        )
    else:
        rows = [("CATEGORY", "WHAT", "SIZE", "REASON")]
        rows += [
            (o.category, o.label, "-" if o.bytes is None else bytes_text(o.bytes), o.reason)
            for o in report
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows if len(rows) > 1 else []:
            sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
            sys.stdout.write(f"  {r[3]}\n")
        counts = ", ".join(f"{n} {c}" for c, n in report.counts().items() if n)
        if len(report):
            print(f"{len(report)} orphans ({counts}), {bytes_text(report.total_bytes)}")
        else:
            print("no orphans")
    for note in report.skipped:
        print(f"sesstui: skipped {note}", file=sys.stderr)
    if args.check and len(report):
        return EXIT_FAILED
    return EXIT_UNAVAILABLE if report.skipped else EXIT_OK


# -- journal ------------------------------------------------------------------


def _journal_warning(message: str) -> None:
    print(f"sesstui: warning: {message}", file=sys.stderr)


def _cmd_journal(args: argparse.Namespace) -> int:
    from core.durations import parse_duration

    if args.lines < 0:
        raise UsageError("-n must be 0 or more (0 shows every entry)")
    since = None
    if args.since is not None:
        since = datetime.now().astimezone() - parse_duration(args.since)
    read = Journal.default().read(args.lines or None, since=since, action=args.action)
    for problem in read.problems:
        print(f"sesstui: warning: {problem}", file=sys.stderr)
    if args.json:
        for e in read.entries:
            sys.stdout.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
        return EXIT_OK
    rows = [("TIME", "SOURCE", "ACTION", "TARGET", "RESULT", "COMMAND")]
    rows += [
        (
            e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            e.source,
            e.action,
            e.target_text(),
            e.result,
            e.command,
        )
        for e in read.entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows if read.entries else []:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
        sys.stdout.write(f"  {r[-1]}\n")
    if not read.entries:
        sys.stdout.write("(no journal entries)\n")
    return EXIT_OK


# -- prune / delete -----------------------------------------------------------


def _cmd_prune(args: argparse.Namespace, inv: Inventory) -> int:
    if args.command == "delete":
        snap: Snapshot | None = None
        refs: list[SessionRef] = []
        for text in args.refs:
            ref = SessionRef.parse(text)
            if ref is None or ref.backend not in inv.backends:
                snap = snap or inv.refresh()
                ref = inv.find(text, snap).ref
            refs.append(ref)
        plans = inv.plan_delete(refs, force=args.force)
    else:
        plans = inv.plan_prune(args.backend, force=args.force)
    entries = [e for p in plans for e in p.entries]
    # a delete that keeps what it was asked to remove, or a backend that could
    # not plan, is a failure even though nothing else went wrong
    planned_ok = all(not p.error for p in plans) and not (
        args.command == "delete" and any(p.skipped for p in plans)
    )
    plan_exit = EXIT_OK if planned_ok else EXIT_FAILED
    if args.json and (args.dry_run or not entries):
        _dump_json(_plan_doc(plans, []))
        return plan_exit
    if not args.json:
        _print_plan(plans, sys.stdout)
    if args.dry_run or not entries:
        return plan_exit
    protected = inv.needs_typed_confirm(plans)
    if args.yes and protected and args.confirm_count != len(entries):
        names = ", ".join(sorted({p.backend for p in plans if p.entries} & inv.protected))
        raise UsageError(
            f"backend {names} is protected: pass --confirm-count {len(entries)} with --yes "
            "(the number of sessions this plan removes; see --dry-run), or confirm at the prompt"
        )
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"refusing to {args.command} without confirmation; "
                "review with --dry-run, then pass --yes"
            )
        total = sum(p.total_bytes for p in plans)
        try:
            if protected:
                prompt = f"Protected backend: type {len(entries)} to remove {len(entries)} "
                answer = input(f"{prompt}session(s), {bytes_text(total)}: ")
                confirmed = answer.strip() == str(len(entries))
            else:
                answer = input(f"Remove {len(entries)} session(s), {bytes_text(total)}? [y/N] ")
                confirmed = answer.strip().lower() in ("y", "yes")
        except EOFError:
            confirmed = False
        if not confirmed:
            print("cancelled; nothing removed")
            return EXIT_OK
    results = inv.execute(plans, force=args.force, action=args.command)
    if args.json:
        _dump_json(_plan_doc(plans, results))
    else:
        _print_results(results, sys.stdout)
    return plan_exit if all(r.ok for r in results) else EXIT_FAILED


def _plan_doc(plans: list[PrunePlan], results: list[PruneResult]) -> dict[str, object]:
    return {
        "plan": _plan_json(plans),
        "skipped": [
            {"backend": s.backend, "id": s.id, "path": s.path, "why": s.why}
            for p in plans
            for s in p.skipped
        ],
        "errors": [{"backend": p.backend, "error": p.error} for p in plans if p.error]
        + [{"backend": r.backend, "error": r.error} for r in results if r.error],
        "results": _results_json(results),
    }


def _plan_json(plans: list[PrunePlan]) -> list[dict[str, object]]:
    return [
        {
            "backend": e.backend,
            "id": e.id,
            "path": e.path,
            "reason": e.reason.value,
            "detail": e.detail,
            "bytes": e.bytes,
            "mtime": iso(datetime.fromtimestamp(e.mtime).astimezone()) if e.mtime else None,
        }
        for p in plans
        for e in p.entries
    ]


def _results_json(results: list[PruneResult]) -> list[dict[str, object]]:
    return [
        {"backend": r.entry.backend, "id": r.entry.id, "ok": r.ok, "error": r.error}
        for res in results
        for r in res.results
    ]


def _dump_json(obj: object) -> None:
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _print_plan(plans: list[PrunePlan], out: TextIO) -> None:
    n = 0
    for plan in plans:
        if plan.error:
            print(f"sesstui: {plan.backend}: cannot plan: {plan.error}", file=sys.stderr)
            continue
        where = f" ({plan.base})" if plan.base else ""
        out.write(
            f"{plan.backend}{where}: {len(plan.entries)} to remove, "
            f"{bytes_text(plan.total_bytes)}\n"
        )
        for e in plan.entries:
            n += 1
            detail = f" - {e.detail}" if e.detail else ""
            out.write(f"  remove  {e.id}  {bytes_text(e.bytes)}  [{e.reason.value}{detail}]\n")
        for s in plan.skipped:
            out.write(f"  keep    {s.id}  ({s.why})\n")
    if n == 0:
        out.write("nothing to remove\n")


def _print_results(results: list[PruneResult], out: TextIO) -> None:
    for res in results:
        if res.error:
            print(f"sesstui: {res.backend}: nothing removed: {res.error}", file=sys.stderr)
            continue
        for r in res.results:
            mark = "removed" if r.ok else "FAILED "
            tail = "" if r.ok else f"  {r.error}"
            out.write(f"  {mark} {r.entry.id}{tail}\n")
        out.write(
            f"{res.backend}: removed {len(res.removed)}, failed {len(res.failed)}, "
            f"freed {bytes_text(res.freed_bytes)}\n"
        )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
