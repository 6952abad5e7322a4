"""The HTTP benchmark's lag probe, its verdicts on issue 12's targets, and its printed report."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any
from uuid import UUID

import psycopg

from bench.common import latency_summary, ratio, table, targets_text
from bench.service import Service

POST_SHARE_OF_PGBENCH = 0.15  # POST /transactions at the widest count >= this x pgbench's INSERTs
POST_P99_MS = 50.0
POST_P50_MS_ONE = 2.0  # at 1 connection
KEYED_SHARE = 0.9  # keyed >= this x unkeyed, no 503
INVENTORY_SHARE_OF_FLOOR = 0.3
INVENTORY_P99_MS = 30.0
HEALTH_SHARE_OF_FLOOR = 0.8
SERVER_CPU_MS = 0.8  # per command
POSTGRES_CPU_MS = 0.4
LAG_P99_MS = 100.0
LOADGEN_CPU_SHARE = 0.10  # of one core


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
        self.lags: list[float] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.run, name="probe", daemon=True)

    def run(self, count: int | None = None) -> None:
        """Probe until stopped (or `count` times): POST, then poll the inventory checkpoint every ms."""
        from projections.engine.freshness import is_projected

        conn = self.service.connection()
        body = creation(self.warehouse, self.part)
        with psycopg.connect(self.database, autocommit=True) as pg:
            i = 0
            while not self.stop.is_set() and (count is None or i < count):
                status, answer = self.service.request("POST", "/transactions", body, conn=conn)
                posted = time.monotonic()
                if status != 201:
                    self.errors.append(f"POST {status}: {str(answer)[:200]}")
                else:
                    position = int(answer["position"])
                    while not is_projected(pg, ("inventory",), position) and time.monotonic() - posted < 30:
                        time.sleep(0.001)
                    self.lags.append(time.monotonic() - posted)
                i += 1
                self.stop.wait(self.interval)
        conn.close()

    def summary(self) -> dict[str, Any]:
        """Lag percentiles, and any unexpected answer."""
        return {"lag": latency_summary(self.lags), "errors": self.errors[:5]}


def _rate(p: dict[str, Any]) -> float:
    return float(p.get("requests_per_second", p.get("tps", 0.0)))


def judge(phases: dict[str, Any], connections: list[int]) -> list[dict[str, Any]]:
    """Each of issue 12's HTTP targets at the widest and narrowest connection counts, with its baseline."""
    wide, one = max(connections), min(connections)
    post, keyed, inv = phases["post"][wide], phases["post_keyed"][wide], phases["inventory"][wide]
    health, floor, pg = phases["health"][wide], phases["floor"][wide], phases["pgbench"][wide]
    post_one = phases["post"][one]
    unavailable = keyed["statuses"].get("503", 0)
    srv_ms, pg_ms = post["server_cpu_ms_per_request"], post["postgres_cpu_ms_per_request"]
    gen = max(p["loadgen_cpu_share"] for name in ("post", "post_keyed") for p in phases[name].values())
    gen_get = max(p["loadgen_cpu_share"] for name in ("floor", "health") for p in phases[name].values())

    def share(value: float, base: float, goal: float, what: str, unit: str) -> dict[str, Any]:
        return {
            "target": f"{what} >= {goal:g}x baseline",
            "measured": f"{value:,.0f} {unit} vs {base:,.0f} ({ratio(value, base)})",
            "met": base > 0 and value / base >= goal,
        }

    def bound(value: float | None, goal: float, what: str, base: str) -> dict[str, Any]:
        # A phase that answered nothing has no latency to judge (wrk reports 0).
        value = None if value is not None and value <= 0 else value
        shown = "-" if value is None else f"{value:.2f} ms"
        return {
            "target": f"{what} <= {goal:g} ms",
            "measured": f"{shown} ({base})",
            "met": value is not None and value <= goal,
        }

    lag = post.get("lag", {}).get("lag", {}).get("p99_ms")
    idle_lag = phases["idle_lag"][0]["lag"]["p99_ms"]
    return [
        share(
            _rate(post),
            _rate(pg),
            POST_SHARE_OF_PGBENCH,
            f"POST /transactions at {wide} conn (baseline: pgbench INSERT, {wide} clients)",
            "/s",
        ),
        bound(
            post["latency"]["p99_ms"],
            POST_P99_MS,
            f"POST /transactions p99 at {wide} conn",
            f"pgbench latency avg {pg['latency_ms']} ms",
        ),
        bound(
            post_one["latency"]["p50_ms"],
            POST_P50_MS_ONE,
            f"POST /transactions p50 at {one} conn",
            f"floor p50 {phases['floor'][one]['latency']['p50_ms']:.2f} ms",
        ),
        share(
            _rate(keyed),
            _rate(post),
            KEYED_SHARE,
            f"keyed POST at {wide} conn (baseline: unkeyed, same run)",
            "/s",
        )
        | ({"met": False, "measured": f"{unavailable} answers 503"} if unavailable else {}),
        share(
            _rate(inv),
            _rate(floor),
            INVENTORY_SHARE_OF_FLOOR,
            f"GET /inventory 100 rows at {wide} conn (baseline: floor)",
            "/s",
        ),
        bound(
            inv["latency"]["p99_ms"],
            INVENTORY_P99_MS,
            f"GET /inventory p99 at {wide} conn",
            f"floor p99 {floor['latency']['p99_ms']:.2f} ms",
        ),
        share(
            _rate(health),
            _rate(floor),
            HEALTH_SHARE_OF_FLOOR,
            f"GET /health at {wide} conn (baseline: floor)",
            "/s",
        ),
        bound(
            srv_ms,
            SERVER_CPU_MS,
            "server CPU per command",
            f"floor {phases['floor'][wide]['server_cpu_ms_per_request']:.3f} ms/request",
        ),
        bound(pg_ms, POSTGRES_CPU_MS, "PostgreSQL CPU per command", f"pgbench {pg['tps']:,.0f} INSERT/s"),
        bound(lag, LAG_P99_MS, "projection lag p99 under POST load", f"idle p99 {idle_lag:.1f} ms"),
        {
            "target": f"load generator CPU < {LOADGEN_CPU_SHARE:.0%} of a core (POST phases)",
            "measured": f"at most {gen:.1%} of a core; {gen_get:.1%} at the GET phases' 5-10x higher rates",
            "met": gen < LOADGEN_CPU_SHARE,
        },
    ]


PHASES = {
    "pgbench": "pgbench INSERT",
    "floor": "floor GET /",
    "health": "GET /health",
    "post": "POST /transactions",
    "post_keyed": "POST, keyed",
    "inventory": "GET /inventory (100 rows)",
}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def wal_line(post: dict[str, Any], keyed: dict[str, Any], connections: int) -> str:
    """What the database wrote per command during POST (the log, the projections, their indexes)."""

    def per(p: dict[str, Any]) -> str:
        wal = p.get("wal_per_request")
        if wal is None:
            return "-"
        return (
            f"{wal['wal_records']:.1f} records, {wal['wal_bytes']:,.0f} B"
            f" ({wal['wal_fpi']:.2f} full-page images)"
        )

    return (
        f"WAL per command during POST at {connections} (server-wide, pg_stat_wal): {per(post)};"
        f" keyed: {per(keyed)}"
    )


def render(phases: dict[str, Any], targets: list[dict[str, Any]], args: argparse.Namespace, gen: str) -> str:
    """The human-readable report: one row per phase and connection count, then the targets."""
    head = (
        "phase",
        "conn",
        "req/s",
        "x floor",
        "x pgbench",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "CPU srv/pg/gen",
        "ms/req srv/pg",
    )
    rows = []
    for name, label in PHASES.items():
        for c, p in phases[name].items():
            rate = _rate(p)
            floor, pg = _rate(phases["floor"][c]), _rate(phases["pgbench"][c])
            if name == "pgbench":
                rows.append((label, str(c), f"{rate:,.0f}", "", "", "", "", "", "", ""))
                continue
            bad = p["requests"] - p["ok"]
            cpu = "/".join(
                _fmt(p[k], ".0%") for k in ("server_cpu_share", "postgres_cpu_share", "loadgen_cpu_share")
            )
            ms = "/".join(
                _fmt(p[k], ".2f") for k in ("server_cpu_ms_per_request", "postgres_cpu_ms_per_request")
            )
            rows.append(
                (
                    label,
                    str(c),
                    f"{rate:,.0f}",
                    ratio(rate, floor),
                    ratio(rate, pg),
                    f"{p['latency']['p50_ms']:.2f}",
                    f"{p['latency']['p99_ms']:.1f}",
                    str(bad),
                    cpu,
                    ms,
                )
            )
    wide = max(args.connections)
    post = phases["post"][wide]
    errors = [
        e
        for n in ("post", "post_keyed", "inventory")
        for p in phases[n].values()
        for e in p.get("unexpected_sample", [])
    ]
    errors += post.get("lag", {}).get("errors", [])
    lines = [
        table(head, rows),
        "",
        f"load generator: {gen}; {args.seconds:g} s measured after {args.warmup:g} s of warm-up per phase;"
        f" server settings: {args.env or 'defaults'}",
        "CPU: share of one core used by the server (all its processes), the database's backends and the"
        " load generator; ms/req: CPU per request answered (warm-up included)",
        f"server memory during POST at {wide}: {post['rss_mb_before']:.0f} -> {post['rss_mb_after']:.0f} MB;"
        f" keyed: {phases['post_keyed'][wide]['rss_mb_after']:.0f} MB",
        wal_line(post, phases["post_keyed"][wide], wide),
    ]
    if errors:
        lines += ["", "unexpected answers (sample):", *(f"  {e}" for e in errors[:5])]
    return "\n".join([*lines, "", "targets:", targets_text(targets)])
