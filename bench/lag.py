"""Projection lag under an append load, without HTTP: the projection side's share of the lag.

    .venv/bin/python -m bench.lag [--quick] [--seconds S] [--writers W]

A fresh migrated database gets reference rows by SQL. A ProjectorHub runs in
this process with the settings' defaults, woken as `abparts project` is: a
Listener on the NOTIFY that the writers' Notifiers send (one per writer
process, coalesced as in the API). W writer processes append creations through
PostgresLedger as fast as they can; a probe in this process appends one every
50 ms, wakes the hub directly (as the API process does for its own appends) and
times until the inventory checkpoint passes it, waiting as GET
/inventory?min_position does (freshness.wait_until_projected, notified).

The baseline is the same probe with no load, in the same run. Memory: this
process's RSS (the workers') before and after the load, which must stay flat.

Target (from issue 12): lag p99 <= 100 ms under load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import psycopg

from api.runtime.settings import Settings
from bench.common import Reference, latency_summary, say
from bench.phases import current_rss_kib

LAG_GOAL = 100.0  # ms
PROBE_INTERVAL = 0.05
WRITERS = 4
MIN_INTERVAL = Settings.model_fields["projector_min_interval"].default


def _ledger() -> Any:
    from ledger.policy import Limits, Policy
    from ledger.postgres.service import PostgresLedger

    return PostgresLedger(Policy(limits=Limits(transactions_per_year=10**9), approval_value_threshold=None))


def writer(job: dict[str, Any]) -> int:
    """Append creations into this writer's warehouses until the deadline; how many."""
    from ledger.commands import CreateStock
    from ledger.recorded import CommandMetadata
    from projections.engine.wakeup import Notifier

    ledger, stop = _ledger(), threading.Event()
    metadata = CommandMetadata(performed_by_user_id=uuid.UUID(job["user"]))
    notifier = Notifier(job["database"], stop, min_interval=MIN_INTERVAL, origin=f"writer-{job['index']}")
    threading.Thread(target=notifier.run, daemon=True).start()
    warehouses, parts = [uuid.UUID(w) for w in job["warehouses"]], [uuid.UUID(p) for p in job["parts"]]
    n = 0
    with psycopg.connect(job["database"], autocommit=True) as conn:
        deadline = time.monotonic() + job["seconds"]  # from its own start: spawning takes a while
        while time.monotonic() < deadline:
            command = CreateStock(
                part_id=parts[n % len(parts)],
                to_warehouse_id=warehouses[n % len(warehouses)],
                quantity=Decimal(1),
            )
            ledger.execute(conn, command, metadata)
            notifier.poke()
            n += 1
    stop.set()
    notifier.stop()
    return n


class Probe:
    """Appends a creation every PROBE_INTERVAL and times until the inventory projection includes it."""

    def __init__(self, database: str, ref: Reference, wake: Any) -> None:
        self.database, self.ref, self.wake = database, ref, wake
        self.lags: list[float] = []
        self.stop = threading.Event()

    def run(self, count: int | None = None) -> None:
        """Probe until stopped (or `count` times)."""
        from ledger.commands import CreateStock
        from ledger.recorded import CommandMetadata
        from projections.engine.freshness import wait_until_projected

        ledger = _ledger()
        metadata = CommandMetadata(performed_by_user_id=self.ref.user_id)
        command = CreateStock(
            part_id=self.ref.part_ids[0], to_warehouse_id=self.ref.warehouse_ids[-1], quantity=Decimal(1)
        )
        with psycopg.connect(self.database, autocommit=True) as conn:
            while not self.stop.is_set() and (count is None or len(self.lags) < count):
                position = ledger.execute(conn, command, metadata).position
                appended = time.monotonic()
                self.wake()
                if wait_until_projected(conn, ("inventory",), position, timeout=30, notified=True):
                    self.lags.append(time.monotonic() - appended)
                self.stop.wait(PROBE_INTERVAL)


def measure(database: str, seconds: float, writers: int, idle_probes: int) -> dict[str, Any]:
    """Idle lag, then lag under `writers` writer processes for `seconds`; a JSON-able dict."""
    from projections.engine.wakeup import Listener
    from projections.engine.worker import ProjectorHub
    from projections.registry import ALL

    settings = Settings()
    ref = Reference(database, warehouses=17, parts=200)
    hub = ProjectorHub(
        database,
        ALL,
        batch_size=settings.projector_batch_size,
        poll_interval=settings.projector_poll_interval,
        min_interval=settings.projector_min_interval,
    )
    hub.start()
    threading.Thread(target=Listener(database, hub.wake, hub.stop_event).run, daemon=True).start()
    try:
        idle = Probe(database, ref, hub.wake)
        idle.run(count=idle_probes)
        rss_before = current_rss_kib()
        jobs = [
            {
                "index": k,
                "database": database,
                "user": str(ref.user_id),
                "warehouses": [str(w) for w in ref.warehouse_ids[:-1][k::writers]],
                "parts": [str(p) for p in ref.part_ids],
                "seconds": seconds,
            }
            for k in range(writers)
        ]
        loaded = Probe(database, ref, hub.wake)
        probe = threading.Thread(target=loaded.run, daemon=True)
        with multiprocessing.get_context("spawn").Pool(writers) as pool:
            pending = pool.map_async(writer, jobs)
            _wait_for_appends(database, writers)  # the probe counts once every writer appends
            probe.start()
            appended = pending.get(seconds + 120)
        loaded.stop.set()
        probe.join(60)
        rss_after = current_rss_kib()
    finally:
        hub.stop()
    return {
        "writers": writers,
        "seconds": seconds,
        "commands_per_second": sum(appended) / seconds,
        "idle": latency_summary(idle.lags),
        "loaded": latency_summary(loaded.lags),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "min_interval": settings.projector_min_interval,
    }


def _wait_for_appends(database: str, writers: int) -> None:
    """Until the log holds `writers` more events than now (each writer has started), at most a minute."""
    with psycopg.connect(database, autocommit=True) as conn:
        count = "SELECT count(*) FROM ledger_events"
        row = conn.execute(count).fetchone()
        start, deadline = (row[0] if row else 0), time.monotonic() + 60
        while time.monotonic() < deadline:
            row = conn.execute(count).fetchone()
            if row is not None and row[0] >= start + writers:
                return
            time.sleep(0.05)


def render(result: dict[str, Any]) -> list[str]:
    """Lines for the report: the lag idle and under load, the writers' rate, the RSS."""
    idle, loaded = result["idle"], result["loaded"]
    growth = (result["rss_after_kib"] - result["rss_before_kib"]) / 1024
    return [
        f"projection lag (inventory, notified wait), {result['writers']} writer processes at "
        f"{result['commands_per_second']:,.0f} commands/s, min_interval {result['min_interval']:g} s:",
        f"  idle (baseline)  n={idle['count']:<4} p50 {idle['p50_ms']:6.1f} ms  p99 {idle['p99_ms']:6.1f} ms",
        f"  under load       n={loaded['count']:<4} p50 {loaded['p50_ms']:6.1f} ms  "
        f"p99 {loaded['p99_ms']:6.1f} ms  ({loaded['p99_ms'] / idle['p99_ms']:.2f}x idle)",
        f"  workers' RSS {result['rss_before_kib'] / 1024:.0f} MiB before the load, {growth:+.1f} MiB after",
    ]


def judge(result: dict[str, Any]) -> dict[str, Any]:
    """The lag target, with its same-run baseline."""
    p99, idle = result["loaded"]["p99_ms"], result["idle"]["p99_ms"]
    return {
        "target": f"projection lag under append load p99 <= {LAG_GOAL:g} ms",
        "measured": f"{p99:.1f} ms under {result['commands_per_second']:,.0f} commands/s "
        f"vs {idle:.1f} ms idle ({p99 / idle:.2f}x)",
        "met": p99 <= LAG_GOAL,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the lag benchmark on a fresh database; print the lines and the verdict."""
    from bench.database import create_database, describe, drop_database, server_url

    parser = argparse.ArgumentParser(prog="python -m bench.lag", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s of load")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=WRITERS)
    parser.add_argument("--idle-probes", type=int, default=40)
    args, _ = parser.parse_known_args(argv)
    seconds = 5.0 if args.quick else args.seconds
    url = server_url()
    database = create_database(url)
    say(f"lag benchmark: {args.writers} writers, {seconds:g} s on {describe(url)}")
    try:
        result = measure(database, seconds, args.writers, args.idle_probes)
    finally:
        drop_database(url, database)
    verdict = judge(result)
    print("\n".join([*render(result), f"  [{'met' if verdict['met'] else 'MISSED'}] {verdict['measured']}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
