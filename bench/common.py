"""Helpers shared by the append, http and asof benchmarks: results, tables, percentiles, reference rows."""

from __future__ import annotations

import json
import os
import platform
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

RESULTS = Path(__file__).resolve().parent / "results"

Row = tuple[str, ...]


def say(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Count, p50, p90, p99 and max of latencies, in milliseconds."""
    return {
        "count": len(seconds),
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p90_ms": percentile(seconds, 0.90) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "max_ms": (max(seconds) if seconds else float("nan")) * 1000,
    }


def ratio(value: float, baseline: float) -> str:
    """`value / baseline` as `0.42x` (or `-` when there is no baseline)."""
    if not baseline or baseline != baseline or value != value:
        return "-"
    return f"{value / baseline:.2f}x"


def table(head: Row, rows: Sequence[Row]) -> str:
    """A plain aligned table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(row: Row) -> str:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])


def targets_text(targets: Sequence[dict[str, Any]]) -> str:
    """One line per target: met or MISSED, and what was measured."""
    return "\n".join(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}" for t in targets)


def environment(url: str) -> dict[str, Any]:
    """The machine and server the figures were measured on."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN"
                " ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections', 'wal_level')"
            ).fetchall()
        )
    return {
        "postgres": str(row[0]) if row else "?",
        "postgres_settings": settings,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }


def write_results(name: str, started: datetime, out: Path, report: dict[str, Any]) -> Path:
    """Write `report` to `<out>/<name>-<timestamp>.json`; return the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report = {"benchmark": name, "started_at": started.isoformat(), "finished_at": now().isoformat()} | report
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a local process (a PostgreSQL backend, a server), None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a process and its live children (uvicorn's workers), None if unreadable."""
    total = proc_cpu_seconds(pid)
    if total is None:
        return None
    for child in _children(pid):
        total += proc_cpu_seconds(child) or 0.0
    return total


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (scanning /proc: children of any thread count)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def postgres_cpu_seconds(url: str) -> float | None:
    """CPU seconds of every process of the (local) PostgreSQL server, None when not readable here."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        try:  # while the backend lives: its parent is the postmaster
            stat = Path(f"/proc/{row[0] if row else 0}/stat").read_text()
        except OSError:
            return None
    return tree_cpu_seconds(int(stat.rsplit(")", 1)[1].split()[1]))


def backend_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds so far of each backend connected to the database of `url` (not this one's), by pid.

    Only the database's own backends: on a server shared with other work (tests of other
    sessions) the postmaster's whole tree would count theirs too. None when /proc cannot see them.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    seen = {int(p): proc_cpu_seconds(int(p)) for (p,) in pids}
    if pids and all(v is None for v in seen.values()):
        return None
    return {p: v for p, v in seen.items() if v is not None}


def backend_cpu_delta(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """CPU seconds the database's backends used between two `backend_cpu` readings."""
    if before is None or after is None:
        return None
    return sum(v - before.get(p, 0.0) for p, v in after.items())


WAL_COUNTERS = ("wal_records", "wal_fpi", "wal_bytes")


def wal_counters(url: str) -> dict[str, int] | None:
    """The server's WAL written so far (pg_stat_wal: records, full-page images, bytes); None before 14.

    Server-wide: on a server shared with other work, theirs counts too. Busy backends report
    their WAL about once a second, so a reading may miss the last second's: phases of several
    seconds keep that error small.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            row = conn.execute(f"SELECT {', '.join(WAL_COUNTERS)} FROM pg_stat_wal").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return None if row is None else {k: int(v) for k, v in zip(WAL_COUNTERS, row, strict=True)}


def wal_per_request(
    before: dict[str, int] | None, after: dict[str, int] | None, served: int
) -> dict[str, float] | None:
    """The WAL written between two `wal_counters` readings, per request answered."""
    if before is None or after is None:
        return None
    return {k: (after[k] - before[k]) / max(1, served) for k in WAL_COUNTERS}


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class Reference:
    """Reference rows written straight with SQL (as tests/fixtures/world.py does): ids kept for commands."""

    def __init__(self, url: str, *, warehouses: int, parts: int) -> None:
        self.organization_id = uuid.uuid4()
        self.user_id = uuid.uuid4()
        self.warehouse_ids = [uuid.uuid4() for _ in range(warehouses)]
        self.part_ids = [uuid.uuid4() for _ in range(parts)]
        tag = uuid.uuid4().hex[:8]
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute(
                "INSERT INTO organizations (id, name, organization_type) VALUES (%s, %s, 'customer')",
                [self.organization_id, f"bench-customer-{tag}"],
            )
            conn.execute(
                "INSERT INTO users (id, organization_id, username, password_hash, email, role, user_status,"
                " is_active) VALUES (%s, %s, %s, 'x', %s, 'admin', 'active', true)",
                [self.user_id, self.organization_id, f"bench-{tag}", f"bench-{tag}@example.com"],
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO warehouses (id, organization_id, name, is_active) VALUES (%s, %s, %s, true)",
                    [
                        (w, self.organization_id, f"bench-wh-{tag}-{i}")
                        for i, w in enumerate(self.warehouse_ids)
                    ],
                )
                cur.executemany(
                    "INSERT INTO parts (id, part_number, name, part_type, unit_of_measure, unit_price)"
                    " VALUES (%s, %s, 'bench part', 'consumable', 'pieces', NULL)",
                    [(p, f"B-{tag}-{i}") for i, p in enumerate(self.part_ids)],
                )
