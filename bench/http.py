"""HTTP benchmark: the service beside its same-run floors (bare FastAPI, pgbench), issue 12's targets.

    .venv/bin/python -m bench.http [--quick] [--seconds S] [--connections 1,8,32] [--env K=V ...]

A fresh migrated database is bootstrapped with `abparts bootstrap`; a customer
organization, 17 warehouses and 200 parts are inserted by SQL, and each (warehouse, part) gets
one creation through the ledger (bench/service.py's `prime`: the phases measure movements of
stock that exists, not the one-off creation of its level and inventory row). In one run, on one
PostgreSQL, each at 1, 8 and 32 connections (`--connections`):

    pgbench              one single-row INSERT per transaction into a scratch table (bench/pgbench.py)
    framework floor      a bare FastAPI `GET /` (bench/floor.py) with the service's own uvicorn options
    GET /health          `abparts serve` as configured (ABPARTS_WORKERS, ...; `--env` sets more)
    POST /transactions   creations spread over 16 warehouses x 200 parts
    the same, keyed      each POST with an Idempotency-Key of its own
    GET /inventory       a 100-row page (`?limit=100`), once the projections have caught up

Baselines and our phases are interleaved (per connection count: floor, GET /health, pgbench,
POST and keyed POST, alternating which goes first, each once the projectors have caught up; then
floor and GET /inventory), `--repeats` times (default 2, `--quick` 1), and
each figure is the median repeat (of two, the slower): on a shared machine the load changes by the minute.

The load generator is Debian's wrk (bench/wrk.py, installed with apt-get when missing; its own
CPU is printed), else bench/loadgen.py (asyncio), and the report says which. During POST at the
widest connection count: a lag probe (a creation every 100 ms on a connection of its own, then the
time until the inventory projection shows it), the server's CPU (the serve process and its
children, from /proc) and the database's backends' CPU (pg_stat_activity's pids, from /proc), each
divided by the commands answered. The machine may be shared: every target is a ratio to a
baseline of the same run, or an absolute bound printed beside one.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from bench import pgbench, wrk
from bench.common import (
    RESULTS,
    Reference,
    backend_cpu,
    backend_cpu_delta,
    environment,
    now,
    say,
    wal_counters,
    wal_per_request,
    write_results,
)
from bench.database import create_database, describe, drop_database, server_url
from bench.http_report import Probe, creation, judge, render
from bench.service import Service, bootstrap, load, prime


def _generator(spec: dict[str, Any], use_wrk: bool) -> dict[str, Any]:
    return wrk.run(spec) if use_wrk else load(spec)


def _measured(
    service: Service, database: str, spec: dict[str, Any], use_wrk: bool, probe: Probe | None = None
) -> dict[str, Any]:
    """One load phase, with the server's and the database's CPU (and memory) around it."""
    server0, pg0, rss0 = service.cpu_seconds(), backend_cpu(database), service.rss_bytes()
    wal0 = wal_counters(database)
    if probe:
        probe.thread.start()
    result = _generator(spec, use_wrk)
    if probe:
        probe.stop.set()
        probe.thread.join(60)
        result["lag"] = probe.summary()
    server1, pg1, wal1 = service.cpu_seconds(), backend_cpu(database), wal_counters(database)
    elapsed = spec["seconds"] + spec["warmup"]
    served = max(1, result["requests_total"])
    server = None if server0 is None or server1 is None else server1 - server0
    pg = backend_cpu_delta(pg0, pg1)
    result |= {
        "server_cpu_share": None if server is None else server / elapsed,
        "postgres_cpu_share": None if pg is None else pg / elapsed,
        "loadgen_cpu_share": result["loadgen_cpu_seconds"] / elapsed,
        # per request answered, warm-up and probe included (projectors included on the server side)
        "server_cpu_ms_per_request": None if server is None else 1000 * server / served,
        "postgres_cpu_ms_per_request": None if pg is None else 1000 * pg / served,
        # what the database wrote for each request: the log and every projection's rows and indexes
        "wal_per_request": wal_per_request(wal0, wal1, served),
        "rss_mb_before": rss0 / 2**20,
        "rss_mb_after": service.rss_bytes() / 2**20,
    }
    return result


def _wait_caught_up(database: str, timeout: float = 120.0) -> float:
    """Until every projection has applied the log's last event (checkpoints are (xid, position)).

    Returns the seconds it waited: the backlog a phase started right away would have shared the
    machine with.
    """
    from projections.engine.freshness import wait_until_projected
    from projections.registry import ALL

    started = time.monotonic()
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(max(position), 0) FROM ledger_events").fetchone()
        if row and row[0]:
            wait_until_projected(conn, [p.name for p in ALL], int(row[0]), timeout)
    return time.monotonic() - started


def post_order(repeat: int, index: int) -> tuple[str, str]:
    """The two POST phases of a repeat's `index`-th connection count, in the order they run.

    They alternate (by repeat and connection count): the one that runs second runs on a longer log
    and a bigger key table, and the report's keyed/unkeyed ratio must not carry that order.
    """
    return ("post", "post_keyed") if (repeat + index) % 2 == 0 else ("post_keyed", "post")


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample of median rate (its latencies and CPU with it); every sample's rate kept beside."""
    ordered = sorted(samples, key=_rate)
    return ordered[(len(ordered) - 1) // 2] | {"repeats": [round(_rate(x), 1) for x in samples]}


def _rate(p: dict[str, Any]) -> float:
    return float(p.get("requests_per_second", p.get("tps", 0.0)))


def run_all(
    database: str, ref: Reference, args: argparse.Namespace, use_wrk: bool
) -> dict[str, dict[int, Any]]:
    """Every phase at every connection count, the baselines interleaved with ours; medians of repeats.

    The floor app and the service run side by side (the idle one costs nothing); for each connection
    count and repeat: floor, GET /health, pgbench, then POST and keyed POST (in alternating order,
    each once the projectors have caught up: `post_order`); then floor and GET /inventory again. On
    a machine shared with other work the load changes by the minute: a baseline measured seconds
    before its phase is the fair one.
    """
    floor = Service(database, args.env, floor=True)
    service = Service(database, args.env)
    say(f"  {floor.name} on port {floor.port}, {service.name} on port {service.port}")
    wide = max(args.connections)
    probe_wh, probe_part = ref.warehouse_ids[-1], ref.part_ids[0]
    bodies = [json.dumps(creation(w, p)) for p in ref.part_ids for w in ref.warehouse_ids[:-1]]
    timing = {"seconds": args.seconds, "warmup": args.warmup}
    ours = {"port": service.port, "token": service.token} | timing
    post = {"method": "POST", "path": "/transactions", "bodies": bodies, "expect": 201}
    plans: dict[str, tuple[Service | None, dict[str, Any]]] = {
        "floor": (floor, {"port": floor.port, "method": "GET", "path": "/", "expect": 200} | timing),
        "health": (service, ours | {"method": "GET", "path": "/health", "expect": 200}),
        "pgbench": (None, {}),
        "post": (service, ours | post),
        "post_keyed": (service, ours | post | {"keyed": True}),
        "inventory": (service, ours | {"method": "GET", "path": "/inventory?limit=100", "expect": 200}),
    }
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {name: {} for name in plans}

    def phase(name: str, c: int, probe: Probe | None = None) -> None:
        waited = None
        if name.startswith("post"):
            # The projectors catch up first: else the second POST phase shares the machine with
            # their backlog from the first (and the first with pgbench's).
            waited = _wait_caught_up(database)
        say(
            f"    {name}: {c} connections, {args.seconds:g} s"
            + (f" (caught up in {waited:.1f} s)" if waited else "")
        )
        server, spec = plans[name]
        if server is None:
            result = pgbench.rate(database, c, args.seconds)
        else:
            result = _measured(server, database, spec | {"connections": c}, use_wrk, probe)
        samples[name].setdefault(c, []).append(
            result | ({"caught_up_wait_s": waited} if waited is not None else {})
        )

    try:
        idle = Probe(service, database, probe_wh, probe_part, interval=0.05)
        idle.run(count=args.idle_probes)
        for r in range(args.repeats):
            for i, c in enumerate(args.connections):
                for name in ("floor", "health", "pgbench", *post_order(r, i)):
                    first_wide_post = name == "post" and c == wide and r == 0
                    probe = Probe(service, database, probe_wh, probe_part, 0.1) if first_wide_post else None
                    phase(name, c, probe)
        _wait_caught_up(database)
        with psycopg.connect(database, autocommit=True) as conn:
            # What autovacuum does within a minute of a table growing this much: without it the
            # planner of a fresh database guesses the inventory's size and plans the page's joins
            # for 10x fewer rows (2.4 ms -> 5.4 ms a page here).
            conn.execute("ANALYZE")
        for _ in range(args.repeats):
            for c in args.connections:
                phase("floor", c)
                phase("inventory", c)
    finally:
        service.stop()
        floor.stop()
    out: dict[str, dict[int, Any]] = {n: {c: _median(v) for c, v in by.items()} for n, by in samples.items()}
    lag = next(x["lag"] for x in samples["post"][wide] if "lag" in x)
    out["post"][wide]["lag"] = lag
    out["idle_lag"] = {0: idle.summary()}
    return out


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per phase (about two minutes in all)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--connections", default="1,8,32", help="connection counts (default 1,8,32)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="an ABPARTS_* setting for the servers"
    )
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats; the median is kept")
    parser.add_argument("--idle-probes", type=int, default=40, help="lag probes with no load")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--loadgen", action="store_true", help="use bench/loadgen.py even if wrk is there")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.idle_probes, args.repeats = 3.0, 1.0, 16, 1
    args.connections = sorted({int(c) for c in str(args.connections).split(",")})
    args.env = dict(e.split("=", 1) for e in args.env)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON."""
    args = parse(argv)
    started = now()
    url = server_url()
    env = environment(url)
    use_wrk = not args.loadgen and wrk.ensure()
    generator = "wrk (Debian, 1 thread, Lua script)" if use_wrk else "bench/loadgen.py (asyncio)"
    say(f"http benchmark: {args.connections} connections, {args.seconds:g} s per phase on {describe(url)}")
    say(f"  load generator: {generator}")
    database = create_database(url)
    try:
        bootstrap(database)
        ref = Reference(database, warehouses=17, parts=200)
        prime(database, ref.user_id, [(w, p) for p in ref.part_ids for w in ref.warehouse_ids])
        pgbench.prepare(database)
        phases = run_all(database, ref, args, use_wrk)
    finally:
        if args.keep:
            say(f"kept {database}")
        else:
            drop_database(url, database)
    targets = judge(phases, args.connections)
    print(render(phases, targets, args, generator))
    report = {"server": describe(url), "environment": env, "load_generator": generator, "settings": args.env}
    path = write_results("http", started, args.out, report | {"phases": phases, "targets": targets})
    print(f"\nresults: {path}")
    return 1 if args.strict and not all(t["met"] for t in targets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
