"""Apply the next batch of the log to one projection, checkpoint included, in the caller's transaction.

The batch ends at the last event below the commit-safe horizon (every
transaction older than the snapshot's xmin has finished), at most `limit`
events, and never past the checkpoints of the projections this one depends on
or an explicit `until`. The read rows and the new checkpoint are written in the
same transaction, so a crash before commit applies nothing and a crash after
it has applied the batch exactly once.

Two round trips a batch, however many statements its projection has: one
statement (`PLAN`) reads the checkpoint, the bounds and the batch's end; the
projection's statements, the checkpoint's advance and a NOTIFY on
`CHECKPOINTS` (delivered at commit, for the reads waiting on `min_position`)
then go in one pipeline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from psycopg import pq

from ledger.postgres.connection import Connection
from ledger.recorded import START, LogCheckpoint
from projections.engine.projection import Projection

# Sent when checkpoints advance; freshness.py and the inventory page cache listen on it. The payload
# names the projections that advanced, comma-separated (`announced`): a step of several projections
# sends one notification, not one each to every listener.
CHECKPOINTS = "projection_checkpoints"


def announced(payload: str) -> list[str]:
    """The projections a CHECKPOINTS notification names."""
    return payload.split(",")


ENSURE = "INSERT INTO projection_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING"
READ = "SELECT writer_xid::text::bigint, position FROM projection_checkpoints WHERE name = %s"
ADVANCE = """
INSERT INTO projection_checkpoints AS c (name, writer_xid, position, events_applied)
VALUES (%(name)s, %(xid)s::text::xid8, %(position)s, %(count)s)
ON CONFLICT (name) DO UPDATE SET writer_xid = EXCLUDED.writer_xid, position = EXCLUDED.position,
    events_applied = c.events_applied + EXCLUDED.events_applied, updated_at = now()
"""
ANNOUNCE = "SELECT pg_notify(%s, %s)"
# The checkpoint (the start when it has no row), the lowest bound (the dependencies' checkpoints and
# `until`; else the end of all time), the batch's last event, its size and how many of its events the
# projection reads, and whether committed events wait beyond the horizon (an older transaction is
# still running: worth another look soon).
PLAN = """
WITH lo AS (
    SELECT coalesce(c.writer_xid, '0'::xid8) AS xid, coalesce(c.position, 0) AS pos
    FROM (VALUES (%(name)s::text)) v (name) LEFT JOIN projection_checkpoints c USING (name)
),
bound AS (
    SELECT xid, pos FROM (
        SELECT coalesce(c.writer_xid, '0'::xid8) AS xid, coalesce(c.position, 0) AS pos
        FROM unnest(%(depends_on)s::text[]) d (name) LEFT JOIN projection_checkpoints c USING (name)
        UNION ALL
        SELECT %(u_xid)s::text::xid8, %(u_pos)s::bigint WHERE %(u_xid)s::text IS NOT NULL
        UNION ALL
        SELECT '18446744073709551615'::xid8, 9223372036854775807
    ) b
    ORDER BY xid, pos LIMIT 1
),
-- Scalar subqueries, not joins: the scan then walks the commit-order index in order, with no sort.
next AS (
    SELECT e.writer_xid, e.position, e.event_type FROM ledger_events e
    WHERE (e.writer_xid, e.position) > ((SELECT xid FROM lo), (SELECT pos FROM lo))
      AND (e.writer_xid, e.position) <= ((SELECT xid FROM bound), (SELECT pos FROM bound))
      AND e.writer_xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY e.writer_xid, e.position
    LIMIT %(limit)s
)
SELECT lo.xid::text::bigint, lo.pos, last.writer_xid::text::bigint, last.position,
    (SELECT count(*) FROM next),
    (SELECT count(*) FROM next WHERE %(types)s::text[] IS NULL OR event_type = ANY(%(types)s::text[])),
    -- The log's last committed event, from the end of the commit-order index (an EXISTS over the
    -- events from the horizon on was planned as a scan of the whole log, every step): past the
    -- horizon, events wait behind it (the checkpoint always stands below the horizon).
    coalesce((SELECT e.writer_xid FROM ledger_events e ORDER BY e.writer_xid DESC LIMIT 1), '0'::xid8)
        >= pg_snapshot_xmin(pg_current_snapshot())
FROM lo LEFT JOIN LATERAL (
    SELECT writer_xid, position FROM next ORDER BY writer_xid DESC, position DESC LIMIT 1
) last ON true
"""
# A batch's payloads are sorted and hashed in memory rather than spilled to disk (this transaction only).
WORK_MEM = "SET LOCAL work_mem = '64MB'"
# Below this many events (about 1 KiB each) the default work_mem holds a batch: no need to raise it.
WORK_MEM_FROM = 2_000


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"abparts:{name}".encode()).digest()[:8], "big", signed=True)


# Live workers hold it shared for each batch; a rebuild's swap takes it exclusively.
SWAP_LOCK = lock_key("projections-swap")


@dataclass(frozen=True)
class Batch:
    """What one call applied: how many events, and whether finished events wait behind the horizon."""

    events: int
    held_back: bool = False


def ensure_checkpoints(conn: Connection, projections: tuple[Projection, ...]) -> None:
    """Create a checkpoint at the start of the log for every projection that has none."""
    for projection in projections:
        conn.execute(ENSURE, [projection.name])


def checkpoint(conn: Connection, name: str) -> LogCheckpoint:
    """The place in the log up to which projection `name` is built (the start when it has no row)."""
    row = conn.execute(READ, [name]).fetchone()
    return START if row is None else LogCheckpoint(row[0], row[1])


def apply_batch(
    conn: Connection, projection: Projection, limit: int, until: LogCheckpoint | None = None
) -> int:
    """Apply up to `limit` new events to `projection`; return how many (0: caught up)."""
    return apply_next(conn, projection, limit, until).events


def apply_next(
    conn: Connection, projection: Projection, limit: int, until: LogCheckpoint | None = None
) -> Batch:
    """Apply up to `limit` new events to `projection` (see the module); what it applied."""
    params: dict[str, Any] = {
        "name": projection.name,
        "depends_on": list(projection.depends_on),
        "u_xid": None if until is None else str(until.transaction_id),
        "u_pos": None if until is None else until.position,
        "limit": limit,
        "types": None if projection.event_types is None else sorted(projection.event_types),
    }
    row = conn.execute(PLAN, params).fetchone()
    assert row is not None  # `lo` always has its one row
    lo_xid, lo_pos, hi_xid, hi_pos, count, read, held_back = row
    if not count:
        return Batch(0, bool(held_back))
    params = {"lo_xid": lo_xid, "lo_pos": lo_pos, "hi_xid": hi_xid, "hi_pos": hi_pos}
    statements = projection.statements if read else ()  # nothing it reads: only the checkpoint moves
    if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        _write(conn, projection, statements, params, int(count))  # in the caller's pipeline
    else:
        with conn.pipeline():
            _write(conn, projection, statements, params, int(count))
    return Batch(int(count), bool(held_back))


def _write(
    conn: Connection, projection: Projection, statements: tuple[str, ...], params: dict[str, Any], count: int
) -> None:
    if count >= WORK_MEM_FROM and statements:
        conn.execute(WORK_MEM)
    for statement in statements:
        conn.execute(statement, params)
    advance = {"name": projection.name, "xid": params["hi_xid"], "position": params["hi_pos"], "count": count}
    conn.execute(ADVANCE, advance)
    conn.execute(ANNOUNCE, [CHECKPOINTS, projection.name])
