"""Each projection's position, lag behind the log, and whether a worker is active on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection
from projections.engine.runner import lock_key

STATUS = """
SELECT c.position, c.events_applied, c.updated_at,
    (SELECT count(*) FROM ledger_events e
     WHERE (e.writer_xid, e.position) > (c.writer_xid, c.position)),
    (SELECT extract(epoch FROM now() - min(e.recorded_at)) FROM ledger_events e
     WHERE (e.writer_xid, e.position) > (c.writer_xid, c.position)),
    EXISTS (SELECT FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND ((l.classid::bigint << 32) | l.objid::bigint) = %(key)s::bigint)
FROM projection_checkpoints c WHERE c.name = %(name)s
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
        if row is None:
            lag = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
            result.append(ProjectionStatus(p.name, 0, 0, lag[0] if lag else 0, 0.0, None, False))
            continue
        result.append(
            ProjectionStatus(p.name, row[0], row[1], row[3], float(row[4] or 0), row[2], bool(row[5]))
        )
    return result
