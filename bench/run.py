"""Run the benchmarks from a clean install and print a table of ratios against same-run baselines.

python bench/run.py                    # all of them (the live rows take several minutes)
python bench/run.py --quick            # a smoke run: small sizes, short durations
python bench/run.py --only scan,live   # some (by module suffix; positional names work too)
python bench/run.py --only scan --load # under a busy loop on each core (benches that support it)
python bench/run.py --seconds 180      # the duration-based rows run this long
python bench/run.py --markdown         # the table as Markdown (for the README)

Every bench runs in its own process of the clean venv built by ``bench/_venv.py`` (default
/tmp/sesstui-bench-venv): a wheel of the working tree, installed without ``-e``; ``core`` and
``tui`` are checked to import from that venv's site-packages.  Exit status 1 when a row is over
budget (or a bench failed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _venv
from bench._common import Row, format_value, row_from_dict

MODULES = ["import", "scan", "tail", "prune", "tmux", "docker", "kv", "json", "tui", "live"]


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help="benches to run (default: all)")
    p.add_argument("--only", default="", help="comma-separated benches, e.g. scan,live")
    p.add_argument("--quick", action="store_true", help="smoke run: small and short")
    p.add_argument("--load", action="store_true", help="busy loop on each core while measuring")
    p.add_argument("--seconds", type=float, help="duration of the time-based rows")
    p.add_argument("--venv", type=Path, default=_venv.DEFAULT_VENV, help="the clean venv")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)
    chosen = [n for part in [args.only, *args.names] for n in part.split(",") if n]
    unknown = [n for n in chosen if n not in MODULES]
    if unknown:
        p.error(f"unknown bench {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    args.chosen = chosen or MODULES
    return args


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {python}"


def _run_one(venv: _venv.CleanVenv, name: str, args: argparse.Namespace) -> list[Row]:
    with tempfile.NamedTemporaryFile(prefix=f"sesstui-bench-{name}-", suffix=".json") as out:
        extra = {"SESSTUI_BENCH_CHILD": "1", "SESSTUI_BENCH_JSON": out.name}
        if args.quick:
            extra["SESSTUI_BENCH_QUICK"] = "1"
        if args.load:
            extra["SESSTUI_BENCH_LOAD"] = "1"
        if args.seconds:
            extra["SESSTUI_BENCH_SECONDS"] = str(args.seconds)
        proc = subprocess.run(
            [str(venv.python), "-m", f"bench.bench_{name}"],
            cwd=venv.bench_src,
            env=venv.env(**extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        text = Path(out.name).read_text()
    if not text:
        tail = proc.stderr.strip().splitlines()[-6:]
        print(f"bench_{name} failed (exit {proc.returncode}):", *tail, sep="\n  ", file=sys.stderr)
        return [
            Row(
                f"bench_{name}: failed, see stderr",
                1,
                0,
                0,
                unit="",
                note=(tail or ["no output"])[-1],
            )
        ]
    return [row_from_dict(d) for d in json.loads(text)]


def _budget(r: Row) -> str:
    if r.budget == float("inf"):
        return "report"
    return f"≤ {format_value(r.budget, r.unit)}" if r.absolute else f"≤ {r.budget:g}x"


def _ratio(r: Row) -> str:
    return "-" if r.absolute else f"{r.ratio:.2f}"


def print_table(rows: list[Row], *, markdown: bool) -> None:
    if markdown:
        print("| benchmark | measured | baseline | ratio | budget | verdict | runs, spread |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r.name} | {format_value(r.measured, r.unit)} | "
                f"{format_value(r.baseline, r.unit)} | {_ratio(r)} | {_budget(r)} | "
                f"{'ok' if r.ok else 'OVER'} | {r.note} |"
            )
        return
    width = max(len(r.name) for r in rows)
    print(
        f"{'benchmark'.ljust(width)}  {'measured':>11}  {'baseline':>11}  ratio  budget    verdict"
    )
    for r in rows:
        verdict = "ok" if r.ok else "OVER"
        print(
            f"{r.name.ljust(width)}  {format_value(r.measured, r.unit):>11}  "
            f"{format_value(r.baseline, r.unit):>11}  {_ratio(r):>5}  {_budget(r):8}  {verdict}"
        )
        if r.note:
            print(f"{''.ljust(width)}    {r.note}")


def main(argv: list[str]) -> int:
    args = _parse(argv)
    venv = _venv.ensure(args.venv)
    rows: list[Row] = []
    for name in args.chosen:
        print(f"bench: running bench_{name} …", file=sys.stderr, flush=True)
        rows.extend(_run_one(venv, name, args))
    mode = ", ".join(
        m
        for m, on in (("QUICK SMOKE RUN, numbers mean nothing", args.quick), ("--load", args.load))
        if on
    )
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {_machine()}" + (f" · {mode}" if mode else ""))
    print(f"clean install: {venv.root} (core from its site-packages)\n")
    print_table(rows, markdown=args.markdown)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
