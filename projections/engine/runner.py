"""Apply the next batch of the log to one projection, checkpoint included, in the caller's transaction.

The batch ends at the last event below the commit-safe horizon (every
transaction older than the snapshot's xmin has finished), at most `limit`
events, and never past the checkpoints of the projections this one depends on
or an explicit `until`. The read rows and the new checkpoint are written in the
same transaction, so a crash before commit applies nothing and a crash after
it has applied the batch exactly once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ledger.postgres.connection import Connection
from ledger.recorded import START, LogCheckpoint
from projections.engine.projection import Projection

ENSURE = "INSERT INTO projection_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING"
READ = "SELECT writer_xid::text::bigint, position FROM projection_checkpoints WHERE name = %s"
ADVANCE = """
INSERT INTO projection_checkpoints AS c (name, writer_xid, position, events_applied)
VALUES (%(name)s, %(xid)s::text::xid8, %(position)s, %(count)s)
ON CONFLICT (name) DO UPDATE SET writer_xid = EXCLUDED.writer_xid, position = EXCLUDED.position,
    events_applied = c.events_applied + EXCLUDED.events_applied, updated_at = now()
"""
NEXT_BATCH = """
WITH next AS (
    SELECT writer_xid, position FROM ledger_events
    WHERE (writer_xid, position) > (%(lo_xid)s::text::xid8, %(lo_pos)s)
      AND writer_xid < pg_snapshot_xmin(pg_current_snapshot())
      {bound}
    ORDER BY writer_xid, position
    LIMIT %(limit)s
)
SELECT writer_xid::text::bigint, position, (SELECT count(*) FROM next)
FROM next ORDER BY writer_xid DESC, position DESC LIMIT 1
"""
# A batch's payloads are sorted and hashed in memory rather than spilled to disk (this transaction only).
WORK_MEM = "SET LOCAL work_mem = '64MB'"
# Below this many events (about 1 KiB each) the default work_mem holds a batch: no round trip to raise it.
WORK_MEM_FROM = 2_000
BOUND = "AND (writer_xid, position) <= (%(b_xid)s::text::xid8, %(b_pos)s)"


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"abparts:{name}".encode()).digest()[:8], "big", signed=True)


# Live workers hold it shared for each batch; a rebuild's swap takes it exclusively.
SWAP_LOCK = lock_key("projections-swap")


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
    lo = checkpoint(conn, projection.name)
    bounds = [checkpoint(conn, dependency) for dependency in projection.depends_on]
    if until is not None:
        bounds.append(until)
    bound = min(bounds) if bounds else None
    if bound is not None and bound <= lo:
        return 0
    params: dict[str, Any] = {"lo_xid": lo.transaction_id, "lo_pos": lo.position, "limit": limit}
    if bound is not None:
        params |= {"b_xid": bound.transaction_id, "b_pos": bound.position}
    row = conn.execute(NEXT_BATCH.format(bound=BOUND if bound else ""), params).fetchone()
    if row is None:
        return 0
    hi_xid, hi_pos, count = row
    params |= {"hi_xid": hi_xid, "hi_pos": hi_pos}
    if count >= WORK_MEM_FROM:
        conn.execute(WORK_MEM)
    for statement in projection.statements:
        conn.execute(statement, params)
    conn.execute(ADVANCE, {"name": projection.name, "xid": hi_xid, "position": hi_pos, "count": count})
    return int(count)
