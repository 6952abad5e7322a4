"""The measured phases of the projections benchmark, for one log size, in a process of its own.

Each size runs in a fresh (spawned) process so that its peak RSS is its own.
The phases, on one freshly generated log:

    fold         the baseline (bench/fold.py)
    sequential   a worker-like loop: one batch (the settings' size) per projection, one transaction each
    hub          projections/engine/worker.py's ProjectorHub: one thread and connection per projection
    rebuild      projections.tools.rebuild.rebuild(conn, ALL, out, batch_size=50_000), caught-up database

After each catch-up and after the rebuild the read tables are compared with
the fold. The sequential loop and the rebuild time every projection statement
(a thin connection subclass, which sends them one at a time where a worker
pipelines them) and, on one batch in the middle of the log, the sequential loop
runs each of them under EXPLAIN (ANALYZE, BUFFERS) instead, keeping the plans.
"""

from __future__ import annotations

import io
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import psycopg
from psycopg import Pipeline
from psycopg.abc import Params

from api.runtime.settings import Settings
from bench import dataset, fold
from ledger.postgres.connection import Connection
from projections.engine.runner import SWAP_LOCK, apply_batch
from projections.engine.worker import ProjectorHub
from projections.registry import ALL
from projections.tools.rebuild import rebuild

WORKER_BATCH = Settings.model_fields["projector_batch_size"].default
REBUILD_BATCH = 50_000
HUB_POLL_INTERVAL = 1.0  # the settings' default projector_poll_interval

HEAD = "SELECT writer_xid, position FROM ledger_events ORDER BY writer_xid DESC, position DESC LIMIT 1"
CAUGHT_UP = """
SELECT count(*) FROM projection_checkpoints
WHERE name = ANY(%s) AND (writer_xid, position) >= (%s::text::xid8, %s)
"""
LOG_SIZE = "SELECT count(DISTINCT writer_xid), pg_total_relation_size('ledger_events') FROM ledger_events"
SETTINGS = """
SELECT name, current_setting(name) FROM pg_settings
WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_wal_size', 'synchronous_commit',
    'fsync', 'jit', 'max_parallel_workers_per_gather', 'autovacuum')
"""
TEMP_BYTES = "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"
RESET = """
TRUNCATE inventory, inventory_consumption_daily, transactions, part_usage, stock_adjustments,
    transaction_approvals;
DELETE FROM projection_checkpoints;
"""

STATEMENT_NAMES = {
    statement: f"{projection.name}[{index}]"
    for projection in ALL
    for index, statement in enumerate(projection.statements)
}


class TimedConnection(Connection):
    """A connection that times each projection statement and can EXPLAIN ANALYZE them instead of running them.

    EXPLAIN ANALYZE executes the statement, so the read tables end up the same.
    """

    seconds: defaultdict[str, float]
    calls: defaultdict[str, int]
    plans: dict[str, str]
    explain: bool

    def start_timing(self) -> None:
        """Forget earlier timings."""
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.plans = {}
        self.explain = False

    @contextmanager
    def pipeline(self) -> Iterator[Pipeline]:
        """No pipeline: each statement runs on its own, so that each is timed (workers pipeline them)."""
        yield cast(Pipeline, None)  # apply_next only enters it

    def execute(
        self,
        query: Any,  # psycopg's Query, of either overload
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool = False,
    ) -> psycopg.Cursor[tuple[Any, ...]]:
        name = STATEMENT_NAMES.get(query) if isinstance(query, str) else None
        if name is None or not hasattr(self, "seconds"):
            return super().execute(query, params, prepare=prepare, binary=binary)
        started = time.perf_counter()
        if self.explain:
            cursor = super().execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params)
            self.plans[name] = "\n".join(row[0] for row in cursor.fetchall())
        else:
            cursor = super().execute(query, params, prepare=prepare, binary=binary)
        self.seconds[name] += time.perf_counter() - started
        self.calls[name] += 1
        return cursor


@dataclass
class Phase:
    """One measured phase."""

    seconds: float
    events: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    maxrss_after_kib: int = 0
    temp_bytes: int = 0
    mismatches: dict[str, int] = field(default_factory=dict)
    statements: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        """Throughput over the whole phase."""
        return self.events / self.seconds if self.seconds else 0.0


def current_rss_kib() -> int:
    """The process's resident set size now, in KiB (Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0
    return pages * resource.getpagesize() // 1024


def max_rss_kib() -> int:
    """The process's peak resident set size so far, in KiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_size(url: str, events: int, per_transaction: int) -> dict[str, Any]:
    """Generate `events` events in the fresh database `url` and run the phases; a JSON-able dict."""
    result: dict[str, Any] = {"events": events, "rss_start_kib": current_rss_kib()}
    with TimedConnection.connect(url, autocommit=True) as conn:
        _say(f"{events:,} events: generating the log (not measured)")
        started = time.perf_counter()
        dataset.create_reference(conn)
        dataset.generate(conn, events, per_transaction)
        result["generate_seconds"] = time.perf_counter() - started
        result["shapes_checked"] = dataset.check_shapes(conn)
        counts = conn.execute(LOG_SIZE).fetchone()
        assert counts is not None
        result["transactions"], result["log_bytes"] = counts
        result["settings"] = dict(conn.execute(SETTINGS).fetchall())

        _say(f"{events:,} events: baseline fold")
        folded = fold.fold(conn)
        result["fold"] = {"seconds": folded.total, "statements": folded.seconds}
        measured = {
            "sequential": _measured(conn, events, "sequential catch-up", lambda: _sequential(conn, events))
        }
        result["plans"] = dict(conn.plans)
        _reset(conn)
        measured["hub"] = _measured(conn, events, "ProjectorHub catch-up", lambda: _hub(conn, url))
        measured["rebuild"] = _measured(conn, events, "full rebuild", lambda: _rebuild(conn))
        result["phases"] = {
            name: asdict(phase) | {"events_per_second": phase.events_per_second}
            for name, phase in measured.items()
        }
        fold.drop(conn)
    result["maxrss_kib"] = max_rss_kib()
    return result


def _measured(conn: TimedConnection, events: int, name: str, run: Callable[[], dict[str, float]]) -> Phase:
    """Run one phase, recording time, memory, temp files and the comparison with the fold."""
    _say(f"{events:,} events: {name}")
    rss_before = current_rss_kib()
    temp_before = _temp_bytes(conn)
    started = time.perf_counter()
    statements: dict[str, float] = run()
    seconds = time.perf_counter() - started
    phase = Phase(
        seconds, events, rss_before, current_rss_kib(), max_rss_kib(), _temp_bytes(conn) - temp_before
    )
    phase.statements = statements
    phase.mismatches = fold.differences(conn)
    return phase


def _temp_bytes(conn: TimedConnection) -> int:
    row = conn.execute(TEMP_BYTES).fetchone()
    return int(row[0]) if row else 0


def _reset(conn: TimedConnection) -> None:
    """Empty the read tables and forget the checkpoints, for the next catch-up from 0."""
    with conn.transaction():
        conn.execute(RESET)


def _sequential(conn: TimedConnection, events: int) -> dict[str, float]:
    """Round robin over the projections, one worker-sized batch each, one transaction per batch."""
    conn.start_timing()
    explain_round = max(events // WORKER_BATCH // 2, 1)
    rounds = 0
    while True:
        rounds += 1
        conn.explain = rounds == explain_round
        applied = 0
        for projection in ALL:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWAP_LOCK])
                applied += apply_batch(conn, projection, WORKER_BATCH)
        if applied == 0:
            conn.explain = False
            return dict(conn.seconds)


def _hub(conn: TimedConnection, url: str) -> dict[str, float]:
    """Start a ProjectorHub and wait until every projection's checkpoint is at the log's head."""
    head = conn.execute(HEAD).fetchone()
    assert head is not None
    names = [p.name for p in ALL]
    hub = ProjectorHub(url, ALL, batch_size=WORKER_BATCH, poll_interval=HUB_POLL_INTERVAL)
    hub.start()
    try:
        while True:
            row = conn.execute(CAUGHT_UP, [names, str(head[0]), head[1]]).fetchone()
            if row is not None and row[0] == len(names):
                return {}
            time.sleep(0.02)
    finally:
        hub.stop()


def _rebuild(conn: TimedConnection) -> dict[str, float]:
    """A full rebuild of every projection."""
    conn.start_timing()
    rebuild(conn, ALL, io.StringIO(), batch_size=REBUILD_BATCH)
    return dict(conn.seconds)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
