"""Backdating benchmark: a backdated movement against a current one, and stock as of a date, on a long log.

    .venv/bin/python -m bench.backdate [--events N | --quick] [--appends K] [--samples S]

A fresh database gets bench/dataset.py's reference rows and a synthetic log of N
events (default 1,000,000; --quick 100,000) dated over two years, with a balance
snapshot every 10,000 events (as a log grown under the projector has). The
ledger's clock then stands just after the log's last event, and, alternately
on one connection, K movements are appended through the ledger's pipeline
(PostgresLedger.execute): current ones (dated now) into warehouse W1 and
backdated ones (dated 20 days before, inside the default 30-day window) into
W2. Measured, all in the same run:

    append          each command's time, backdated vs current (the baseline)
    reads           stock as of a date of W2 vs of W1 (the baseline), at a date 10 days back
                    (the backdated movements count, the current ones do not) and at now (both
                    count): before the snapshotter has passed the appends, and after
    as of a date    GET /inventory/as-of?at=T's SQL (projections.tools.as_happened) for a random
                    warehouse and date of the log, vs as of a random position (the baseline)
    index cost      current appends with the date index (migration 0013) and with it dropped, in
                    two alternating rounds: what the index costs every append (no target; a figure)

Targets: a backdated movement costs at most 2x a current one (append time, and
reads of what it touched); as of a date p99 <= 50 ms at 1,000,000 events.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from bench import dataset
from bench.common import RESULTS, environment, latency_summary, now, ratio, say, targets_text, write_results
from bench.database import create_database, describe, drop_database, server_url
from bench.service import bootstrap
from ledger.commands import CreateStock
from ledger.policy import Policy
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata

DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 100_000
INTERVAL = 10_000
GOAL_MS = 50.0
GOAL_RATIO = 2.0
BACK = timedelta(days=20)
MD5 = "SELECT md5(%s)::uuid"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.backdate", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="log size (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events, fewer samples")
    parser.add_argument("--appends", type=int, default=400, help="movements of each kind (default 400)")
    parser.add_argument("--samples", type=int, default=100, help="reads per kind (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.events, args.appends, args.samples = QUICK_EVENTS, 200, 60
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the figures and targets; write the JSON."""
    args = parse(argv)
    started, url = now(), server_url()
    env = environment(url)
    say(f"backdate benchmark: {args.events:,} events on {describe(url)}")
    database = create_database(url)
    try:
        bootstrap(database)
        with psycopg.connect(database, autocommit=True) as conn:
            setup = load(conn, args.events)
            report = run(conn, args)
    finally:
        if args.keep:
            say(f"kept {database}")
        else:
            drop_database(url, database)
    report["targets"] = judge(report, args.events)
    print(render(report))
    path = write_results(
        "backdate",
        started,
        args.out,
        {"server": describe(url), "environment": env, "events": args.events, "setup": setup} | report,
    )
    print(f"\nresults: {path}")
    return 1 if args.strict and not all(t["met"] for t in report["targets"]) else 0


def load(conn: Connection, events: int) -> dict[str, float]:
    """The reference rows, the log, and a snapshot every INTERVAL events, with the snapshotter's SQL."""
    from projections.tools.snapshot_taking import take

    t0 = time.monotonic()
    dataset.create_reference(conn)
    dataset.generate(conn, events)
    generated = time.monotonic() - t0
    say(f"  generated in {generated:.1f} s; taking a snapshot every {INTERVAL:,} events")
    t0, last = time.monotonic(), 0
    head = _scalar(conn, "SELECT max(position) FROM ledger_events")
    for position in range(INTERVAL, head + 1, INTERVAL):
        with conn.transaction():
            take(conn, last, position)
        last = position
    conn.execute("ANALYZE ledger_events, stock_snapshots, stock_snapshot_balances")
    return {"generate_seconds": generated, "snapshot_seconds": time.monotonic() - t0}


def run(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    """Appends of both kinds, then the reads, before and after the snapshotter passes them."""
    from projections.tools.snapshot_taking import advance

    w1, w2, part, user = (
        _md5(conn, name) for name in ("bench-wh-1", "bench-wh-2", "bench-part-1", "bench-user-1")
    )
    end = _moment(conn, "SELECT max(recorded_at) FROM ledger_events")
    clock = [end + timedelta(seconds=1)]
    ledger = PostgresLedger(Policy(), clock=lambda: clock[0])
    metadata = CommandMetadata(performed_by_user_id=user, request_id="bench:backdate")
    times: dict[str, list[float]] = {"current": [], "backdated": []}
    say(f"  appending {args.appends} current and {args.appends} backdated movements, alternately")
    for _ in range(args.appends):
        for kind, warehouse, dated in (("current", w1, None), ("backdated", w2, clock[0] - BACK)):
            command = CreateStock(
                part_id=part, to_warehouse_id=warehouse, quantity=Decimal(1), transaction_date=dated
            )
            t0 = time.perf_counter()
            ledger.execute(conn, command, metadata)
            times[kind].append(time.perf_counter() - t0)
            clock[0] += timedelta(milliseconds=10)
    points = {"10 days back": clock[0] - timedelta(days=10), "now": clock[0]}
    reads = {"unsnapshotted": _reads(conn, args.samples, points, w1, w2)}
    while advance(conn, interval=INTERVAL) or _scalar(conn, "SELECT count(*) FROM stock_snapshot_marks"):
        pass
    conn.execute("ANALYZE ledger_events, stock_snapshots")
    reads["snapshotted"] = _reads(conn, args.samples, points, w1, w2)
    say("  as of random dates and positions of the log")
    random_reads = _random_reads(conn, args.samples, end)

    def current() -> None:
        clock[0] += timedelta(milliseconds=10)
        ledger.execute(conn, CreateStock(part_id=part, to_warehouse_id=w1, quantity=Decimal(1)), metadata)

    say("  current appends with the date index, then without it (what the index costs every append)")
    return {
        "append": {kind: latency_summary(values) for kind, values in times.items()},
        "reads": reads,
        "random": random_reads,
        "index_cost": _index_cost(conn, current, args.appends),
    }


def _index_cost(conn: Connection, append: Callable[[], object], appends: int) -> dict[str, Any]:
    """Append latencies with ledger_events_happened_at_idx and without it, in two alternating rounds."""
    row = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'ledger_events_happened_at_idx'")
    definition = row.fetchone()
    assert definition is not None
    rounds: dict[str, list[float]] = {"with": [], "without": []}
    for last in (False, True):
        rounds["with"] += _timed(appends // 2, append)
        conn.execute("DROP INDEX ledger_events_happened_at_idx")
        rounds["without"] += _timed(appends // 2, append)
        if not last:
            conn.execute(definition[0])
    conn.execute(definition[0])
    return {kind: latency_summary(values) for kind, values in rounds.items()}


def _reads(
    conn: Connection, samples: int, points: dict[str, datetime], w1: UUID, w2: UUID
) -> dict[str, dict[str, Any]]:
    from projections.tools.as_happened import stock_happened_by

    result: dict[str, dict[str, Any]] = {}
    for label, on in points.items():
        for name, warehouse in (("current", w1), ("backdated", w2)):
            result[f"{label}, {name}"] = latency_summary(
                _timed(samples, partial(stock_happened_by, conn, on, None, warehouse))
            )
    return result


def _random_reads(conn: Connection, samples: int, end: datetime) -> dict[str, dict[str, Any]]:
    from projections.tools.as_happened import stock_happened_by
    from projections.tools.snapshots import stock_at_position

    rng = random.Random(20261201)
    head = _scalar(conn, "SELECT max(position) FROM ledger_events")
    first = _moment(conn, "SELECT min(recorded_at) FROM ledger_events")
    warehouses = [_md5(conn, f"bench-wh-{w}") for w in range(dataset.WAREHOUSES)]

    def by_date() -> object:
        on = first + (end - first) * rng.random()
        return stock_happened_by(conn, on, None, rng.choice(warehouses))

    def by_position() -> object:
        return stock_at_position(conn, rng.randint(1, head), rng.choice(warehouses))

    return {
        "position": latency_summary(_timed(samples, by_position)),
        "date": latency_summary(_timed(samples, by_date)),
    }


def _timed(samples: int, call: Callable[[], object]) -> list[float]:
    call()  # warm the caches once, as a serving process has them
    seconds = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t0)
    return seconds


def judge(report: dict[str, Any], events: int) -> list[dict[str, Any]]:
    """The targets: backdated within 2x current (append, reads); as of a date p99 within 50 ms."""
    note = "" if events >= DEFAULT_EVENTS else f" (at {events:,} events; the target is stated for 1,000,000)"
    append = report["append"]
    targets = [_ratio_target("append", append["backdated"]["p50_ms"], append["current"]["p50_ms"], note)]
    for state, reads in report["reads"].items():
        for point in ("10 days back", "now"):
            back, cur = reads[f"{point}, backdated"]["p50_ms"], reads[f"{point}, current"]["p50_ms"]
            targets.append(_ratio_target(f"read as of {point}, {state}", back, cur, note))
    rand = report["random"]
    p99, base = rand["date"]["p99_ms"], rand["position"]["p99_ms"]
    targets.append(
        {
            "target": f"as of a date p99 <= {GOAL_MS:g} ms",
            "measured": f"{p99:,.1f} ms vs as of a position {base:,.1f} ms ({ratio(p99, base)}){note}",
            "met": p99 <= GOAL_MS,
        }
    )
    return targets


def _ratio_target(what: str, backdated: float, current: float, note: str) -> dict[str, Any]:
    return {
        "target": f"backdated {what} p50 <= {GOAL_RATIO:g}x current",
        "measured": f"{backdated:,.2f} ms vs current {current:,.2f} ms ({ratio(backdated, current)}){note}",
        "met": backdated <= GOAL_RATIO * current,
    }


def render(report: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = ["", "what                                   p50 ms    p99 ms"]
    rows = [(f"append, {k}", v) for k, v in report["append"].items()]
    rows += [(f"read {state}: {k}", v) for state, reads in report["reads"].items() for k, v in reads.items()]
    rows += [(f"as of a random {k}", v) for k, v in report["random"].items()]
    rows += [(f"append, date index: {k}", v) for k, v in report["index_cost"].items()]
    lines += [f"{name:<36} {v['p50_ms']:>8.2f}  {v['p99_ms']:>8.2f}" for name, v in rows]
    return "\n".join([*lines, "", "targets:", targets_text(report["targets"])])


def _md5(conn: Connection, name: str) -> UUID:
    row = conn.execute(MD5, [name]).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def _moment(conn: Connection, query: str) -> datetime:
    row = conn.execute(query).fetchone()
    assert row is not None and row[0] is not None
    moment: datetime = row[0]
    return moment


def _scalar(conn: Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


if __name__ == "__main__":
    raise SystemExit(main())
