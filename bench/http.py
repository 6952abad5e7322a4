"""HTTP benchmark: POST /transactions through the real service against GET /health, and projection lag.

    .venv/bin/python -m bench.http [--quick] [--seconds S] [--connections 32] [--workers 2]

A fresh migrated database is bootstrapped with `abparts bootstrap`; a customer
organization, 17 warehouses and 200 parts are inserted by SQL. Each server
variant (`abparts serve`, one process running the projectors in threads; the
same with ABPARTS_RUN_PROJECTORS=false and `abparts project` as a process of its
own, as docker-compose.yml deploys it; `uvicorn --factory bench.asgi:create
--workers N`) is started as a subprocess with the caps raised, signed in to with
POST /token, and loaded by bench/loadgen.py in a process of its own (wrk is not
installed; the generator is asyncio on the standard library):

    GET /health           the baseline: the same server and load, no database
    POST /transactions    creation movements spread over 16 warehouses x 200 parts
    the same, keyed       each POST with an Idempotency-Key of its own (baseline: unkeyed POSTs)

While the POST load runs, a probe (in this process, on a 33rd connection) posts
a creation into a warehouse of its own every 100 ms and measures the time from
its answer to the movement being visible in the inventory projection: on even
probes by polling the checkpoint (projections.engine.freshness.is_projected) every
millisecond, on odd ones by GET /inventory?min_position=... (which polls on the
server side, 5 ms doubling to 50 ms). The same probe with no load is the lag's
baseline.

Targets: >= 1,500 commands/s and p99 <= 20 ms at 32 connections; lag p99 <= 100 ms; keyed POSTs
>= 0.9 x unkeyed ones of the same run, with no 503.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from bench.common import (
    RESULTS,
    Reference,
    environment,
    latency_summary,
    now,
    postgres_cpu_seconds,
    ratio,
    say,
    table,
    targets_text,
    write_results,
)
from bench.database import create_database, describe, drop_database, server_url
from bench.service import Service, bootstrap, load

RATE_GOAL = 1_500.0
KEYED_GOAL = 0.9  # keyed POSTs at least this share of unkeyed ones, and never a 503
P99_GOAL = 20.0  # ms
LAG_GOAL = 100.0  # ms


def creation(warehouse: UUID, part: UUID) -> dict[str, str]:
    """The body of a creation movement of one piece."""
    return {
        "transaction_type": "creation",
        "part_id": str(part),
        "to_warehouse_id": str(warehouse),
        "quantity": "1",
    }


class Probe:
    """Posts a movement now and then and times how long it takes to be visible in the inventory."""

    def __init__(self, service: Service, database: str, warehouse: UUID, part: UUID, interval: float) -> None:
        self.service, self.database, self.interval = service, database, interval
        self.warehouse, self.part = warehouse, part
        self.stop = threading.Event()
        self.by_checkpoint: list[float] = []
        self.by_min_position: list[float] = []
        self.post: list[float] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.run, name="probe", daemon=True)

    def run(self, count: int | None = None) -> None:
        """Probe until stopped (or `count` times)."""
        from projections.engine.freshness import is_projected

        conn = self.service.connection()
        body = creation(self.warehouse, self.part)
        query = f"/inventory?warehouse_id={self.warehouse}&part_id={self.part}&min_position="
        with psycopg.connect(self.database, autocommit=True) as pg:
            i = 0
            while not self.stop.is_set() and (count is None or i < count):
                t0 = time.monotonic()
                status, answer = self.service.request("POST", "/transactions", body, conn=conn)
                posted = time.monotonic()
                if status != 201:
                    self.errors.append(f"POST {status}: {str(answer)[:200]}")
                    self.stop.wait(self.interval)
                    continue
                self.post.append(posted - t0)
                position = int(answer["position"])
                if i % 2 == 0:
                    while not is_projected(pg, ("inventory",), position) and time.monotonic() - posted < 30:
                        time.sleep(0.001)
                    self.by_checkpoint.append(time.monotonic() - posted)
                else:
                    status, answer = self.service.request("GET", query + str(position), conn=conn)
                    if status != 200:
                        self.errors.append(f"GET {status}: {str(answer)[:200]}")
                    else:
                        self.by_min_position.append(time.monotonic() - posted)
                i += 1
                self.stop.wait(self.interval)
        conn.close()

    def summary(self) -> dict[str, Any]:
        """Lag percentiles by each method, both together, and the probe's own POST latency."""
        return {
            "by_checkpoint": latency_summary(self.by_checkpoint),
            "by_min_position": latency_summary(self.by_min_position),
            "all": latency_summary(self.by_checkpoint + self.by_min_position),
            "probe_post": latency_summary(self.post),
            "errors": self.errors[:5],
        }


def measure(service: Service, database: str, ref: Reference, args: argparse.Namespace) -> dict[str, Any]:
    """Idle lag, GET /health under load, POST /transactions under load with the lag probe."""
    probe_wh, probe_part = ref.warehouse_ids[-1], ref.part_ids[0]
    idle = Probe(service, database, probe_wh, probe_part, interval=0.05)
    idle.run(count=args.idle_probes)
    bodies = [json.dumps(creation(w, p)) for p in ref.part_ids for w in ref.warehouse_ids[:-1]]
    base = {"port": service.port, "token": service.token, "connections": args.connections}
    base |= {"seconds": args.seconds, "warmup": args.warmup}
    phases: dict[str, Any] = {}
    for name, spec in (
        ("health", base | {"method": "GET", "path": "/health", "expect": 200}),
        ("post", base | {"method": "POST", "path": "/transactions", "bodies": bodies, "expect": 201}),
        (
            "post_keyed",
            base
            | {"method": "POST", "path": "/transactions", "bodies": bodies, "expect": 201, "keyed": True},
        ),
    ):
        say(f"    {name}: {args.connections} connections, {args.seconds:g} s")
        probe = Probe(service, database, probe_wh, probe_part, interval=0.1) if name == "post" else None
        server0, pg0 = service.cpu_seconds(), postgres_cpu_seconds(database)
        if probe:
            probe.thread.start()
        result = load(spec)
        if probe:
            probe.stop.set()
            probe.thread.join(60)
            result["lag"] = probe.summary()
        server1, pg1 = service.cpu_seconds(), postgres_cpu_seconds(database)
        elapsed = args.seconds + args.warmup
        result["server_cpu_share"] = (
            None if server0 is None or server1 is None else (server1 - server0) / elapsed
        )
        result["postgres_cpu_share"] = None if pg0 is None or pg1 is None else (pg1 - pg0) / elapsed
        # Server CPU (projectors included) per request answered, warm-up and probe included.
        served = max(1, result["requests_total"])
        result["server_cpu_ms_per_request"] = (
            None if server0 is None or server1 is None else 1000 * (server1 - server0) / served
        )
        result["loadgen_cpu_share"] = result["loadgen_cpu_seconds"] / elapsed
        phases[name] = result
    phases["idle_lag"] = idle.summary()
    return phases


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="5 s per load phase (about a minute and a half in all)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per load phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn workers of the second variant (0: skip)"
    )
    parser.add_argument("--idle-probes", type=int, default=40, help="lag probes with no load")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.idle_probes = 5.0, 1.0, 16
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON."""
    args = parse(argv)
    started = now()
    url = server_url()
    env = environment(url)
    say(f"http benchmark: {args.connections} connections, {args.seconds:g} s per phase on {describe(url)}")
    database = create_database(url)
    variants: list[dict[str, Any]] = []
    try:
        bootstrap(database)
        ref = Reference(database, warehouses=17, parts=200)
        plan: list[tuple[int | None, bool]] = [(None, False), (None, True)]
        if args.workers:
            plan.append((args.workers, False))
        for workers, apart in plan:
            service = Service(database, workers, projectors_apart=apart)
            say(f"  {service.name} on port {service.port}")
            try:
                variants.append({"server": service.name, "phases": measure(service, database, ref, args)})
            finally:
                service.stop()
    finally:
        if args.keep:
            say(f"kept {database}")
        else:
            drop_database(url, database)
    targets = judge(variants)
    print(render(variants, targets, args))
    report = {"server": describe(url), "environment": env, "load_generator": "bench/loadgen.py (asyncio)"}
    path = write_results("http", started, args.out, report | {"variants": variants, "targets": targets})
    print(f"\nresults: {path}")
    return 1 if args.strict and not all(t["met"] for t in targets) else 0


def judge(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target on the best variant (each variant's figure shown)."""

    def each(metric: Any, baseline: Any, unit: str) -> str:
        """Each variant's figure, its baseline of the same run, and their ratio."""
        parts = []
        for v in variants:
            value, base = metric(v["phases"]), baseline(v["phases"])
            parts.append(f"{v['server']}: {value:,.1f} {unit} vs {base:,.1f} ({value / base:.2f}x)")
        return "; ".join(parts)

    rate = max(v["phases"]["post"]["requests_per_second"] for v in variants)
    p99 = min(v["phases"]["post"]["latency"]["p99_ms"] for v in variants)
    lag = min(v["phases"]["post"]["lag"]["all"]["p99_ms"] for v in variants)
    keyed = min(
        v["phases"]["post_keyed"]["requests_per_second"]
        / max(v["phases"]["post"]["requests_per_second"], 1e-9)
        for v in variants
    )
    unavailable = sum(v["phases"]["post_keyed"]["statuses"].get("503", 0) for v in variants)
    return [
        {
            "target": f"POST /transactions >= {RATE_GOAL:,.0f} commands/s",
            "measured": each(
                lambda p: p["post"]["requests_per_second"],
                lambda p: p["health"]["requests_per_second"],
                "commands/s",
            )
            + " (baseline: GET /health, same load)",
            "met": rate >= RATE_GOAL,
        },
        {
            "target": f"POST /transactions p99 <= {P99_GOAL:g} ms",
            "measured": each(
                lambda p: p["post"]["latency"]["p99_ms"], lambda p: p["health"]["latency"]["p99_ms"], "ms"
            )
            + " (baseline: GET /health, same load)",
            "met": p99 <= P99_GOAL,
        },
        {
            "target": f"projection lag under load p99 <= {LAG_GOAL:g} ms",
            "measured": each(
                lambda p: p["post"]["lag"]["all"]["p99_ms"], lambda p: p["idle_lag"]["all"]["p99_ms"], "ms"
            )
            + " (baseline: the same probes with no load)",
            "met": lag <= LAG_GOAL,
        },
        {
            "target": f"keyed POST /transactions >= {KEYED_GOAL:g}x unkeyed, no 503",
            "measured": each(
                lambda p: p["post_keyed"]["requests_per_second"],
                lambda p: p["post"]["requests_per_second"],
                "commands/s",
            )
            + f" (baseline: unkeyed POSTs, same run); 503s: {unavailable}",
            "met": keyed >= KEYED_GOAL and unavailable == 0,
        },
    ]


PHASES = {"health": "GET /health", "post": "POST /transactions", "post_keyed": "POST /transactions, keyed"}


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(variants: list[dict[str, Any]], targets: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The human-readable report."""
    head = (
        "server / phase",
        "req/s",
        "x /health",
        "p50 ms",
        "p99 ms",
        "p99 x /health",
        "non-2xx",
        "CPU srv/pg/gen",
        "srv CPU ms/req",
    )
    rows = []
    lag_head = ("server / lag", "probes", "p50 ms", "p99 ms", "max ms", "p99 x idle")
    lag_rows = []
    for v in variants:
        health = v["phases"]["health"]
        for name, label in PHASES.items():
            p = v["phases"][name]
            bad = p["requests"] - p["ok"]
            rows.append(
                (
                    f"{v['server']}: {label}",
                    f"{p['requests_per_second']:,.0f}",
                    ratio(p["requests_per_second"], health["requests_per_second"]),
                    f"{p['latency']['p50_ms']:.1f}",
                    f"{p['latency']['p99_ms']:.1f}",
                    ratio(p["latency"]["p99_ms"], health["latency"]["p99_ms"]),
                    str(bad),
                    "/".join(
                        _share(p[k]) for k in ("server_cpu_share", "postgres_cpu_share", "loadgen_cpu_share")
                    ),
                    _ms(p.get("server_cpu_ms_per_request")),
                )
            )
        idle = v["phases"]["idle_lag"]
        loaded = v["phases"]["post"]["lag"]
        for label, key in (("checkpoint poll", "by_checkpoint"), ("GET min_position", "by_min_position")):
            for state, lag in (("idle", idle), ("under load", loaded)):
                s = lag[key]
                lag_rows.append(
                    (
                        f"{v['server']}: {label}, {state}",
                        str(s["count"]),
                        f"{s['p50_ms']:.1f}",
                        f"{s['p99_ms']:.1f}",
                        f"{s['max_ms']:.1f}",
                        ratio(s["p99_ms"], idle[key]["p99_ms"]),
                    )
                )
    errors = [
        e
        for v in variants
        for n in ("post", "post_keyed")
        for e in v["phases"][n].get("unexpected_sample", [])
    ]
    errors += [e for v in variants for e in v["phases"]["post"]["lag"]["errors"]]
    lines = [
        table(head, rows),
        "",
        f"{args.connections} connections, {args.seconds:g} s measured after {args.warmup:g} s of warm-up;"
        " CPU: share of one core used by the server (all workers), PostgreSQL and the load generator;"
        " srv CPU ms/req: server CPU (projectors included) per request, warm-up included",
        "",
        table(lag_head, lag_rows),
    ]
    if errors:
        lines += ["", "unexpected answers (sample):", *(f"  {e}" for e in errors[:5])]
    return "\n".join([*lines, "", "targets:", targets_text(targets)])


if __name__ == "__main__":
    raise SystemExit(main())
