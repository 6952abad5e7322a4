"""Each projection's position, lag behind the log, and whether a worker is active on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection
from projections.engine.runner import lock_key

# One row per projection, run or not: a projection with no checkpoint yet lags by the whole log, in
# events and in seconds (so /ready does not pass for a projection that never ran). The worker's
# advisory lock is looked for in this database only: pg_locks shows the whole server's.
STATUS = """
SELECT coalesce(c.position, 0), coalesce(c.events_applied, 0), c.updated_at,
    (SELECT count(*) FROM ledger_events e
     WHERE c.name IS NULL OR (e.writer_xid, e.position) > (c.writer_xid, c.position)),
    (SELECT extract(epoch FROM now() - min(e.recorded_at)) FROM ledger_events e
     WHERE c.name IS NULL OR (e.writer_xid, e.position) > (c.writer_xid, c.position)),
    EXISTS (SELECT FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((l.classid::bigint << 32) | l.objid::bigint) = %(key)s::bigint)
FROM (SELECT %(name)s::text AS name) AS wanted
LEFT JOIN projection_checkpoints c ON c.name = wanted.name
"""


@dataclass(frozen=True)
class ProjectionStatus:
    """Where one projection stands."""

    name: str
    position: int
    events_applied: int
    lag_events: int
    lag_seconds: float
    updated_at: datetime | None
    worker_active: bool


def status(conn: Connection, projections: tuple[Projection, ...]) -> list[ProjectionStatus]:
    """The status of each projection (a projection never run shows the whole log as its lag)."""
    result = []
    for p in projections:
        row = conn.execute(STATUS, {"name": p.name, "key": lock_key(p.name)}).fetchone()
        assert row is not None  # one row per projection, whether it ran or not
        result.append(
            ProjectionStatus(p.name, row[0], row[1], row[3], float(row[4] or 0), row[2], bool(row[5]))
        )
    return result
