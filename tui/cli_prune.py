"""The ``sesstui`` commands that clean up: prune and delete, orphans, journal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from core.errors import UsageError
from core.inventory import Inventory, Snapshot
from core.journal import Journal
from core.model import SessionRef
from tui.cli_output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    _dump_json,
    _plan_doc,
    _print_plan,
    _print_results,
)
from tui.formatting import bytes_text


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
