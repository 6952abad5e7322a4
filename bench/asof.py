"""As-of benchmark: GET /inventory/as-of for random past points of a long log, against GET /inventory.

    .venv/bin/python -m bench.asof [--events N | --quick] [--samples K]

A fresh database gets bench/dataset.py's reference rows and a synthetic log of
N events (default 1,000,000; --quick 100,000), its projections rebuilt
(projections.tools.rebuild), then `abparts serve` runs on it (bench/service.py) and
one connection asks, one request at a time (latency, not throughput):

    baseline        GET /inventory?warehouse_id=W&limit=500 (current stock of one warehouse, a projection)
    position, 1 wh  GET /inventory/as-of?position=P&warehouse_id=W
    position, all   GET /inventory/as-of?position=P (every warehouse: up to 20,000 balances)
    at, 1 wh        GET /inventory/as-of?at=T&warehouse_id=W (T a random moment of the log's two years)

P is uniform over the log; T over the first --at-events events in A, over the
whole log in B. Both start from the nearest balance snapshot, by position or
by recorded_at (projections/tools/snapshots.py), and sum the events after it in SQL.
Two states of the same log:

    A. as loaded: the projector takes its first snapshot at the head, so every past
       position folds from position 0 (a log imported or grown before snapshots existed)
    B. with a snapshot every 10,000 events below the head (as a log grown live under the
       projector has), backfilled here with the projector's own statements (snapshot_taking.take)

Each kind stops after --samples requests or its time budget. Where the time
goes: EXPLAIN ANALYZE of the snapshot query at the middle of the log (A and B),
and the Python fold (ledger.postgres.history.stock_at, which `abparts stock
--as-of` still uses and `?at=` used to) split into reading + decoding rows,
parsing events and folding them.

Target: p99 <= 50 ms at 1,000,000 events.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench import dataset
from bench.common import (
    RESULTS,
    environment,
    latency_summary,
    now,
    ratio,
    say,
    table,
    targets_text,
    write_results,
)
from bench.database import create_database, describe, drop_database, server_url
from bench.service import Service, bootstrap
from ledger.postgres.connection import Connection

DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 100_000
INTERVAL = 10_000  # the settings' default snapshot_interval
GOAL = 50.0  # ms, p99
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HEAD = "SELECT coalesce(max(position), 0) FROM ledger_events"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.asof", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="log size (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events, smaller budgets")
    parser.add_argument("--samples", type=int, default=100, help="requests per kind at most (default 100)")
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per kind at most (default 40)")
    parser.add_argument(
        "--at-events",
        type=int,
        default=50_000,
        help="`?at=` moments fall in the first this many events (its cost grows faster than linearly)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.events, args.samples, args.budget = QUICK_EVENTS, 60, 6.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON."""
    args = parse(argv)
    started = now()
    url = server_url()
    env = environment(url)
    say(f"as-of benchmark: {args.events:,} events on {describe(url)}")
    database = create_database(url)
    setup: dict[str, float] = {}
    try:
        bootstrap(database)
        with psycopg.connect(database, autocommit=True) as conn:
            t0 = time.monotonic()
            dataset.create_reference(conn)
            dataset.generate(conn, args.events)
            setup["generate_seconds"] = time.monotonic() - t0
            say(f"  generated in {setup['generate_seconds']:.1f} s; rebuilding the projections")
            t0 = time.monotonic()
            from projections.registry import ALL
            from projections.tools.rebuild import rebuild

            rebuild(conn, ALL, io.StringIO(), batch_size=50_000)
            setup["rebuild_seconds"] = time.monotonic() - t0
            head = _scalar(conn, HEAD)
        service = Service(database)
        try:
            _wait_first_snapshot(database)
            rng = random.Random(20261128)
            say("  A: as loaded (one snapshot, at the head)")
            kinds_a = measure(
                service, args, rng, head, ("baseline", "position_1wh", "position_all", "at_1wh")
            )
            where_a = explain_position(database, head // 2)
            order_by = order_by_check(database, min(head // 2, args.at_events))
            say("  B: backfilling a snapshot every 10,000 events")
            t0 = time.monotonic()
            setup["backfilled_snapshots"] = backfill(database, head)
            setup["backfill_seconds"] = time.monotonic() - t0
            say("  B: with snapshots every 10,000 events")
            kinds_b = measure(
                service,
                args,
                rng,
                head,
                ("baseline", "position_1wh", "position_all", "at_1wh"),
                at_events=head,
            )
            where_b = explain_position(database, head // 2)
            where_at = profile_at(database, min(head // 2, args.at_events))
        finally:
            service.stop()
    finally:
        if args.keep:
            say(f"kept {database}")
        else:
            drop_database(url, database)
    states = {"A": kinds_a, "B": kinds_b}
    where = {
        "A_position_explain": where_a,
        "B_position_explain": where_b,
        "at_fold_split": where_at,
        "read_range_order_by": order_by,
    }
    targets = judge(states, args.events)
    print(render(states, where, setup, targets, args.events))
    path = write_results(
        "asof",
        started,
        args.out,
        {
            "server": describe(url),
            "environment": env,
            "events": args.events,
            "setup": setup,
            "states": states,
            "where": where,
            "targets": targets,
        },
    )
    print(f"\nresults: {path}")
    return 1 if args.strict and not all(t["met"] for t in targets) else 0


def _scalar(conn: Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _wait_first_snapshot(database: str, timeout: float = 300.0) -> None:
    """Until the projector has taken its first balance snapshot (and so is caught up)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database, autocommit=True) as conn:
        while _scalar(conn, "SELECT count(*) FROM stock_snapshots") == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("no balance snapshot within the timeout")
            time.sleep(0.2)


def measure(
    service: Service,
    args: argparse.Namespace,
    rng: random.Random,
    head: int,
    kinds: Sequence[str],
    at_events: int | None = None,
) -> dict[str, Any]:
    """Each kind of request, sequentially on one connection, until its sample count or budget.

    `?at=` moments fall in the first `at_events` events (default: --at-events).
    """
    at_share = min(1.0, (at_events or args.at_events) / max(head, 1))
    warehouses = [dataset_warehouse(w) for w in range(dataset.WAREHOUSES)]
    conn = service.connection()
    results: dict[str, Any] = {}
    for kind in kinds:
        latencies: list[float] = []
        items: list[int] = []
        deadline = time.monotonic() + args.budget
        while len(latencies) < args.samples and time.monotonic() < deadline:
            warehouse = rng.choice(warehouses)
            fraction = rng.random()
            if kind == "baseline":
                path = f"/inventory?warehouse_id={warehouse}&limit=500"
            elif kind == "position_1wh":
                path = f"/inventory/as-of?position={max(1, int(fraction * head))}&warehouse_id={warehouse}"
            elif kind == "position_all":
                path = f"/inventory/as-of?position={max(1, int(fraction * head))}"
            else:
                moment = EPOCH + timedelta(seconds=fraction * at_share * dataset.SPAN_SECONDS)
                path = f"/inventory/as-of?at={moment.strftime('%Y-%m-%dT%H:%M:%SZ')}&warehouse_id={warehouse}"
            t0 = time.monotonic()
            status, answer = service.request("GET", path, conn=conn)
            latencies.append(time.monotonic() - t0)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {str(answer)[:300]}")
            items.append(len(answer["items"]))
        results[kind] = latency_summary(latencies) | {"mean_items": sum(items) / max(len(items), 1)}
        say(f"    {kind}: {len(latencies)} requests, p99 {results[kind]['p99_ms']:.1f} ms")
    conn.close()
    return results


def dataset_warehouse(index: int) -> str:
    """The id of bench/dataset.py's warehouse `index` (md5 of its name, as a uuid)."""
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"bench-wh-{index}".encode()).hexdigest()))


def backfill(database: str, head: int) -> int:
    """A balance snapshot every INTERVAL events below the first one, with the projector's own statements.

    The first one is then retaken from the last of those, as a log grown under the projector has it.
    """
    from projections.tools.snapshot_taking import take

    taken = 0
    with psycopg.connect(database, autocommit=True) as conn:
        first = _scalar(conn, "SELECT min(position) FROM stock_snapshots")
        last = 0
        for position in range(INTERVAL, min(first, head), INTERVAL):
            with conn.transaction():
                take(conn, last, position)
            last, taken = position, taken + 1
        if 0 < last < first:
            with conn.transaction():
                conn.execute("DELETE FROM stock_snapshots WHERE position = %s", [first])
                take(conn, last, first)
        conn.execute("ANALYZE stock_snapshots, stock_snapshot_balances")
    return taken


def explain_position(database: str, position: int) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the snapshot as-of query at `position`: time, and the plan."""
    from projections.tools.snapshots import AS_OF, stock_at_position

    with psycopg.connect(database, autocommit=True) as conn:
        t0 = time.monotonic()
        rows = stock_at_position(conn, position)
        seconds = time.monotonic() - t0
        base = _scalar(
            conn, f"SELECT coalesce(max(position), 0) FROM stock_snapshots WHERE position <= {position}"
        )
        params = {"base": base, "hi": position, "warehouse_id": None, "part_id": None}
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + AS_OF, params).fetchall())
    return {
        "position": position,
        "from_snapshot": base,
        "events_folded": position - base,
        "sql_seconds": seconds,
        "balances": len(rows),
        "plan": plan,
    }


def profile_at(database: str, position: int) -> dict[str, Any]:
    """`?at=`'s Python fold up to `position`, split: read + decode rows, parse events, fold."""
    from ledger.fold import apply
    from ledger.postgres.history import iter_events

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT recorded_at FROM ledger_events WHERE position = %s", [position]).fetchone()
        until = row[0] if row else None
        levels: dict[Any, Any] = {}
        read = parse_ = fold = 0.0
        events = 0
        rows = iter_events(conn, recorded_until=until)
        t0 = time.monotonic()
        for recorded in rows:
            t1 = time.monotonic()
            event = recorded.event()
            t2 = time.monotonic()
            apply(levels, event)
            t3 = time.monotonic()
            read, parse_, fold = read + t1 - t0, parse_ + t2 - t1, fold + t3 - t2
            events += 1
            t0 = time.monotonic()
        read += time.monotonic() - t0
    total = read + parse_ + fold
    return {
        "position": position,
        "events": events,
        "seconds": total,
        "events_per_second": events / total if total else 0.0,
        "read_and_decode_seconds": read,
        "parse_event_seconds": parse_,
        "fold_seconds": fold,
    }


def order_by_check(database: str, position: int) -> dict[str, Any]:
    """One 1,000-event batch of history.READ_RANGE after `position`, as written and with qualified ORDER BY.

    COLUMNS selects `writer_xid::text::bigint` under the name writer_xid, and
    ORDER BY prefers an output column's name to an input column's: as written the
    batch sorts every matching row instead of walking (writer_xid, position).
    """
    from ledger.postgres.history import READ_RANGE

    fixed = READ_RANGE.replace(
        "ORDER BY writer_xid, position", "ORDER BY ledger_events.writer_xid, ledger_events.position"
    )
    result: dict[str, Any] = {"position": position}
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT writer_xid::text::bigint FROM ledger_events WHERE position = %s", [position]
        ).fetchone()
        params = {
            "xid": row[0] if row else 0,
            "after": position,
            "horizon": 2**62,
            "first": 0,
            "last": 2**63 - 1,
            "until": None,
            "limit": 1000,
        }
        conn.execute("SET plan_cache_mode = force_generic_plan")  # as psycopg's prepared statement runs it
        for name, query in (("as_written", READ_RANGE), ("qualified", fixed)):
            plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE) " + query, params, prepare=True).fetchall()]
            result[name] = {
                "execution_ms": float(plan[-1].split(":")[1].split()[0]),
                "plan": "\n".join(plan),
            }
    return result


def judge(states: dict[str, Any], events: int) -> list[dict[str, Any]]:
    """The p99 target for each way of asking, in each state."""
    note = "" if events >= DEFAULT_EVENTS else f" (at {events:,} events; the target is stated for 1,000,000)"
    targets = []
    kinds = (
        ("A", "position_1wh"),
        ("B", "position_1wh"),
        ("B", "position_all"),
        ("A", "at_1wh"),
        ("B", "at_1wh"),
    )
    for state, kind in kinds:
        p99, base = states[state][kind]["p99_ms"], states[state]["baseline"]["p99_ms"]
        targets.append(
            {
                "target": f"as-of {kind} p99 <= {GOAL:g} ms, state {state}",
                "measured": f"{p99:,.1f} ms vs current stock {base:,.1f} ms ({p99 / base:.2f}x){note}",
                "met": p99 <= GOAL,
            }
        )
    return targets


LABELS = {
    "baseline": "GET /inventory?warehouse_id (baseline)",
    "position_1wh": "as-of ?position=P&warehouse_id",
    "position_all": "as-of ?position=P (all warehouses)",
    "at_1wh": "as-of ?at=T&warehouse_id",
}


def render(
    states: dict[str, Any],
    where: dict[str, Any],
    setup: dict[str, float],
    targets: list[dict[str, Any]],
    n: int,
) -> str:
    """The human-readable report."""
    head = ("state / request", "requests", "items", "p50 ms", "p99 ms", "max ms", "p50 x base", "p99 x base")
    rows = []
    for state, kinds in states.items():
        base = kinds["baseline"]
        for kind, s in kinds.items():
            rows.append(
                (
                    f"{state}: {LABELS[kind]}",
                    str(s["count"]),
                    f"{s['mean_items']:,.0f}",
                    f"{s['p50_ms']:,.1f}",
                    f"{s['p99_ms']:,.1f}",
                    f"{s['max_ms']:,.1f}",
                    ratio(s["p50_ms"], base["p50_ms"]),
                    ratio(s["p99_ms"], base["p99_ms"]),
                )
            )
    a, b, at = where["A_position_explain"], where["B_position_explain"], where["at_fold_split"]
    o = where["read_range_order_by"]
    lines = [
        f"log: {n:,} events (generated in {setup['generate_seconds']:.0f} s, projections rebuilt in"
        f" {setup['rebuild_seconds']:.0f} s); B: {setup.get('backfilled_snapshots', 0):.0f} snapshots"
        f" backfilled in {setup.get('backfill_seconds', 0):.1f} s",
        "A: one snapshot (at the head); B: a snapshot every 10,000 events",
        "",
        table(head, rows),
        "",
        "where the time goes (in-process, at the middle of the log):",
        f"  ?position= A: the snapshot query folds {a['events_folded']:,} events (from snapshot"
        f" {a['from_snapshot']:,}) in {a['sql_seconds'] * 1000:,.0f} ms of SQL",
        f"  ?position= B: it folds {b['events_folded']:,} events (from snapshot {b['from_snapshot']:,})"
        f" in {b['sql_seconds'] * 1000:,.0f} ms of SQL",
        f"  ?at=: Python fold of {at['events']:,} events in {at['seconds']:.2f} s"
        f" ({at['events_per_second']:,.0f} events/s): read + decode rows"
        f" {at['read_and_decode_seconds']:.2f} s,"
        f" parse events {at['parse_event_seconds']:.2f} s, fold {at['fold_seconds']:.2f} s",
        f"  ?at= reads history.READ_RANGE in batches of 1,000: one batch after position {o['position']:,}"
        f" takes {o['as_written']['execution_ms']:,.1f} ms as written (ORDER BY writer_xid resolves to"
        " the output column writer_xid::text::bigint: a sort)"
        f" and {o['qualified']['execution_ms']:,.1f} ms"
        " with ORDER BY ledger_events.writer_xid, ledger_events.position (an index walk)",
        "",
        "targets:",
        targets_text(targets),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
