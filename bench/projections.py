"""Projections benchmark: catch-up throughput, full rebuild time and memory against a set-based fold.

    .venv/bin/python -m bench.projections [--events N | --quick] [--sizes A,B,...]

For each size (default N/10 and N) a fresh database is created, migrated and
filled with a synthetic log (bench/dataset.py, not measured); bench/phases.py
then measures, in a process of its own, the baseline fold, a worker-like
sequential catch-up, a ProjectorHub catch-up and a full rebuild. Prints a
table and writes everything to bench/results/projections-<timestamp>.json.

Then bench/lag.py measures the projection lag under an append load (no HTTP) in
another fresh database, beside the same probe with no load.

Targets (from the issue), judged at the largest size:
    catch-up >= 100,000 events/s; rebuild within 5x the set-based fold; memory flat as N grows;
    projection lag under load p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import lag
from bench.database import create_database, describe, drop_database, server_url
from bench.phases import WORKER_BATCH, measure_size

DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 100_000
RESULTS = Path(__file__).resolve().parent / "results"

CATCH_UP_TARGET = 100_000  # events/s
REBUILD_TARGET = 5.0  # x the fold's time
MEMORY_TARGET = 0.10  # peak RSS may grow by at most this share from the smallest to the largest size
MIB = 1024


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.projections", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="log size N (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"N = {QUICK_EVENTS:,}")
    parser.add_argument("--sizes", help="comma-separated log sizes to run (default: N/10 and N)")
    parser.add_argument(
        "--per-transaction",
        type=int,
        default=10_000,
        help="events per generating transaction (default 10,000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--lag-seconds", type=float, help="seconds of append load for the lag (default 20)")
    args, _ = parser.parse_known_args(argv)  # `python -m bench` passes every benchmark the same arguments
    args.lag_seconds = args.lag_seconds or (5.0 if args.quick else 20.0)
    events = QUICK_EVENTS if args.quick else args.events
    if args.sizes:
        args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    else:
        args.size_list = sorted({max(events // 10, 100), events})
    if min(args.size_list) < 100:
        parser.error("sizes must be at least 100 events")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON; 0 (or 1 with --strict and a missed target)."""
    args = parse(argv)
    started = datetime.now(UTC)
    url = server_url()
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        version = str(row[0]) if row else "?"
    _say(f"projections benchmark: sizes {', '.join(f'{n:,}' for n in args.size_list)} on {describe(url)}")
    sizes = [_run_size(url, n, args.per_transaction, keep=args.keep) for n in args.size_list]
    _say(f"projection lag: {args.lag_seconds:g} s of append load")
    lagged = _run_lag(url, args.lag_seconds)
    targets = [*judge(sizes), lag.judge(lagged)]
    report = {
        "benchmark": "projections",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "server": describe(url),
        "postgres": version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "worker_batch": WORKER_BATCH,
        "rebuild_batch": 50_000,
        "sizes": sizes,
        "lag": lagged,
        "targets": targets,
    }
    print(render(sizes, targets, lag.render(lagged)))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"projections-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nresults: {path}")
    return 1 if args.strict and not all(t["met"] for t in targets) else 0


def _run_size(url: str, events: int, per_transaction: int, *, keep: bool) -> dict[str, Any]:
    """One size in a fresh database and a fresh process (so that its peak RSS is its own)."""
    _say(f"{events:,} events: creating and migrating a database")
    database = create_database(url)
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result: dict[str, Any] = pool.submit(measure_size, database, events, per_transaction).result()
    finally:
        if keep:
            _say(f"kept {database}")
        else:
            drop_database(url, database)
    return result


def _run_lag(url: str, seconds: float) -> dict[str, Any]:
    """bench/lag.py's measure in a fresh database (this process runs the workers)."""
    database = create_database(url)
    try:
        return lag.measure(database, seconds, lag.WRITERS, idle_probes=40)
    finally:
        drop_database(url, database)


def judge(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target, measured at the largest size, met or not."""
    largest, smallest = sizes[-1], sizes[0]
    phases = largest["phases"]
    fold_seconds = largest["fold"]["seconds"]
    targets: list[dict[str, Any]] = []
    for name in ("sequential", "hub"):
        rate = phases[name]["events_per_second"]
        fold_rate = largest["events"] / fold_seconds if fold_seconds else float("inf")
        targets.append(
            {
                "target": f"catch-up ({name}) >= {CATCH_UP_TARGET:,} events/s",
                "measured": f"{rate:,.0f} events/s at {largest['events']:,} events vs the set-based fold's "
                f"{fold_rate:,.0f} ({rate / fold_rate:.2f}x)",
                "met": rate >= CATCH_UP_TARGET,
            }
        )
    ratio = phases["rebuild"]["seconds"] / fold_seconds if fold_seconds else float("inf")
    note = "" if largest["events"] >= DEFAULT_EVENTS else " (the target is stated for 1,000,000)"
    targets.append(
        {
            "target": f"rebuild within {REBUILD_TARGET:g}x the set-based fold",
            "measured": f"{phases['rebuild']['seconds']:,.1f} s vs fold {fold_seconds:,.1f} s: "
            f"{ratio:.1f}x at {largest['events']:,} events{note}",
            "met": ratio <= REBUILD_TARGET,
        }
    )
    if len(sizes) > 1:
        growth = largest["maxrss_kib"] / smallest["maxrss_kib"] - 1
        targets.append(
            {
                "target": f"memory flat as N grows (peak RSS +{MEMORY_TARGET:.0%} at most)",
                "measured": (
                    f"{smallest['maxrss_kib'] / MIB:.0f} MiB at {smallest['events']:,} -> "
                    f"{largest['maxrss_kib'] / MIB:.0f} MiB at {largest['events']:,} ({growth:+.1%})"
                ),
                "met": growth <= MEMORY_TARGET,
            }
        )
    mismatched = {
        f"{phase}.{table}": count
        for size in sizes
        for phase, measured in size["phases"].items()
        for table, count in measured["mismatches"].items()
        if count
    }
    targets.append(
        {
            "target": "read tables equal to the fold after each phase",
            "measured": "equal" if not mismatched else f"differing rows: {mismatched}",
            "met": not mismatched,
        }
    )
    return targets


def render(sizes: list[dict[str, Any]], targets: list[dict[str, Any]], lag_lines: Sequence[str] = ()) -> str:
    """The human-readable report."""
    heads = [f"{s['events']:,} events" for s in sizes]
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, cell: Any) -> None:
        rows.append((label, [cell(s) for s in sizes]))

    def ph(s: dict[str, Any], name: str) -> dict[str, Any]:
        phase: dict[str, Any] = s["phases"][name]
        return phase

    add("generate (not measured)", lambda s: f"{s['generate_seconds']:.1f} s")
    add("log size on disk", lambda s: f"{s['log_bytes'] / 2**20:,.0f} MiB")
    add("baseline: set-based fold", lambda s: f"{s['fold']['seconds']:.2f} s")
    for name, label in (("sequential", "catch-up, sequential"), ("hub", "catch-up, ProjectorHub")):
        add(label, lambda s, n=name: f"{ph(s, n)['seconds']:.2f} s")
        add("  events/s", lambda s, n=name: f"{ph(s, n)['events_per_second']:,.0f}")
        add("  x fold time", lambda s, n=name: f"{ph(s, n)['seconds'] / s['fold']['seconds']:.1f}x")
    add("full rebuild (batch 50,000)", lambda s: f"{ph(s, 'rebuild')['seconds']:.2f} s")
    add("  events/s", lambda s: f"{ph(s, 'rebuild')['events_per_second']:,.0f}")
    add("  x fold time", lambda s: f"{ph(s, 'rebuild')['seconds'] / s['fold']['seconds']:.1f}x")
    add("peak RSS (ru_maxrss)", lambda s: f"{s['maxrss_kib'] / MIB:.0f} MiB")
    for name in ("sequential", "hub", "rebuild"):
        add(
            f"  RSS after - before {name}",
            lambda s, n=name: f"{(ph(s, n)['rss_after_kib'] - ph(s, n)['rss_before_kib']) / MIB:+.1f} MiB",
        )
    add(
        "server temp files seq/hub/rebuild",
        lambda s: (
            "/".join(f"{ph(s, n)['temp_bytes'] / 2**20:.0f}" for n in ("sequential", "hub", "rebuild"))
            + " MiB"
        ),
    )
    add(
        "rows differing from the fold",
        lambda s: str(sum(c for p in s["phases"].values() for c in p["mismatches"].values())),
    )
    width = max(len(label) for label, _ in rows)
    cols = [max(len(h), *(len(cells[i]) for _, cells in rows)) for i, h in enumerate(heads)]
    lines = [" ".join([" " * width, *(h.rjust(c) for h, c in zip(heads, cols, strict=True))])]
    lines += [
        " ".join([label.ljust(width), *(v.rjust(c) for v, c in zip(cells, cols, strict=True))])
        for label, cells in rows
    ]
    largest = sizes[-1]
    lines += ["", f"where the time goes at {largest['events']:,} events (seconds):"]
    lines += _breakdown("baseline fold", largest["fold"]["statements"])
    lines += _breakdown("sequential catch-up", ph(largest, "sequential")["statements"])
    lines += _breakdown("rebuild", ph(largest, "rebuild")["statements"])
    mismatched = [t for t in targets if t["target"].startswith("read tables") and not t["met"]]
    for target in mismatched:
        lines += ["", f"WARNING: {target['measured']}"]
    lines += ["", *lag_lines, "", "targets:"]
    lines += [f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}" for t in targets]
    plans: dict[str, str] = largest.get("plans", {})
    seq = ph(largest, "sequential")["statements"]
    if plans and seq:
        slowest = max(seq, key=lambda name: seq[name])
        if slowest in plans:
            lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the slowest statement, {slowest}, on one batch:"]
            lines += ["  " + line for line in plans[slowest].splitlines()]
    return "\n".join(lines)


def _breakdown(title: str, seconds: dict[str, float]) -> list[str]:
    total = sum(seconds.values())
    if not total:
        return []
    lines = [f"  {title}: {total:.2f} s in statements"]
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        lines.append(f"    {name:<32} {value:8.2f}  {value / total:6.1%}")
    return lines


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
