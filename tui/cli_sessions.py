"""The ``sesstui`` commands that list and act on sessions: ls, logs, start,
restart, stop, extend, expire, inspect, stats, attach."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import datetime, timedelta

from core.backend import is_ttl_extender
from core.config.records import AppConfig
from core.errors import ActionFailed, ActionNotSupported, UsageError
from core.inventory import Inventory, Snapshot
from core.model import Session
from core.query import Query, QueryError, combine, parse_query
from tui.cli_output import EXIT_OK, EXIT_USAGE, _confirm, _dump_json, _health_exit, _print_table
from tui.formatting import bytes_text, session_json


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
    if not is_ttl_extender(inv.backend(session.backend)):
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
