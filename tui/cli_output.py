"""What the ``sesstui`` commands print: exit codes, tables, plans, JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TextIO

from core.errors import UsageError
from core.inventory import Snapshot
from core.model import HealthStatus, PrunePlan, PruneResult, Session
from tui.formatting import age_text, bytes_text, iso, size_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4


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
