"""What a group-commit batch costs, by its size: client and PostgreSQL CPU per batch and per command.

    .venv/bin/python -m bench.batch_cost [--sizes 1,3,8,16] [--commands 2400] [--rounds 4] [--keyed]

One connection runs `PostgresLedger.execute_batch` of CreateStock commands (the append benchmark's,
over 16 warehouses x 200 parts) in batches of each size in turn, `--rounds` times interleaved, the
same number of commands each time; per size, the medians of the client's CPU (this process) and its
backend's CPU (from /proc, so a local server only), per command. A straight line through
(1 / size, CPU per command) gives each side's cost of a batch (the slope: statements, round trips,
the commit) and of a command in it (the intercept). That split decides whether overlapping smaller
batches (several committers) can pay: each batch fewer commands pays the batch's cost once more.

Not part of `python -m bench` (no target): a tool for where the append benchmark's time goes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import psycopg

from bench.append import PARTS, WAREHOUSES
from bench.common import Reference, proc_cpu_seconds, table
from bench.database import create_database, drop_database, server_url
from ledger.commands import CreateStock
from ledger.policy import Limits, Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.batch_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,3,8,16", help="batch sizes, e.g. 1,3,8,16")
    parser.add_argument("--commands", type=int, default=2400, help="commands per size and round")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--keyed", action="store_true", help="a key of its own per command")
    return parser.parse_args(argv)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares of y = a + b x: (a, b)."""
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b


def main(argv: Sequence[str] | None = None) -> int:
    """Measure; print the table and the fitted costs."""
    args = parse(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    url = server_url()
    database = create_database(url)
    try:
        reference = Reference(database, warehouses=WAREHOUSES, parts=PARTS)
        policy = Policy(limits=Limits(transactions_per_year=10**9), approval_value_threshold=None)
        ledger = PostgresLedger(policy)
        metadata = CommandMetadata(performed_by_user_id=reference.user_id)
        n = 0
        with psycopg.connect(database, autocommit=True) as conn:
            backend = conn.info.backend_pid

            def batch(size: int) -> None:
                nonlocal n
                items = []
                for k in range(size):
                    n += 1
                    part, warehouse = reference.part_ids[n % PARTS], reference.warehouse_ids[k % WAREHOUSES]
                    command = CreateStock(part_id=part, to_warehouse_id=warehouse, quantity=Decimal(1))
                    keyed = replace(metadata, idempotency_key=f"bench-{n}") if args.keyed else metadata
                    items.append((command, keyed))
                for outcome in ledger.execute_batch(conn, items):
                    if isinstance(outcome, Exception):
                        raise outcome

            for size in sizes:  # warm: every statement form prepared
                batch(size)
            runs: dict[int, list[tuple[float, float, float]]] = {s: [] for s in sizes}
            for _ in range(args.rounds):
                for size in sizes:
                    count = max(1, args.commands // size)
                    cpu0, pg0, t0 = time.process_time(), proc_cpu_seconds(backend) or 0.0, time.monotonic()
                    for _ in range(count):
                        batch(size)
                    cpu, pg = time.process_time() - cpu0, (proc_cpu_seconds(backend) or 0.0) - pg0
                    commands = 1000 / (count * size)
                    runs[size].append((cpu * commands, pg * commands, (time.monotonic() - t0) * commands))
    finally:
        drop_database(url, database)
    medians = {s: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for s, rs in runs.items()}
    rows = [(str(s), *(f"{v:.3f}" for v in medians[s])) for s in sizes]
    print(table(("batch size", "client CPU ms/cmd", "backend CPU ms/cmd", "wall ms/cmd"), rows))
    for side, i in (("client", 0), ("backend", 1)):
        per_command, per_batch = fit([(1 / s, medians[s][i]) for s in sizes])
        print(f"{side}: {per_batch:.3f} ms a batch + {per_command:.3f} ms a command")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
