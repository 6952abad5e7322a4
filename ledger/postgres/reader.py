"""The commit-safe reader: events in (transaction xid8, position) order, never skipping a late commit.

Positions come from a sequence when a row is inserted, not when its transaction
commits, so "position > last seen" would skip an event whose transaction
commits after a later position became visible. Instead every row records its
writer's xid8, and a reader only returns rows written by transactions older
than its snapshot's xmin: all of those have finished, so the set below that
horizon never changes again. Ordering by (xid8, position) then gives a stable
total order that a checkpoint can resume from, and writers never take a
global lock. The price: readers wait for the oldest transaction still writing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import COLUMNS, row_to_event
from ledger.recorded import START, LogCheckpoint, RecordedEvent

READ = f"""
SELECT {COLUMNS} FROM ledger_events
WHERE (writer_xid, position) > (%(xid)s::text::xid8, %(position)s)
  AND writer_xid < pg_snapshot_xmin(pg_current_snapshot())
-- Qualified: a bare name would sort by the selected writer_xid::text::bigint, not walk the index.
ORDER BY ledger_events.writer_xid, ledger_events.position
LIMIT %(limit)s
"""


def read_events(conn: Connection, after: LogCheckpoint = START, limit: int = 1000) -> list[RecordedEvent]:
    """Up to `limit` finished events after `after`, in commit-safe order."""
    rows = conn.execute(
        READ, {"xid": after.transaction_id, "position": after.position, "limit": limit}
    ).fetchall()
    return [row_to_event(row) for row in rows]


def follow(conn: Connection, after: LogCheckpoint = START, batch: int = 1000) -> Iterator[RecordedEvent]:
    """Every finished event after `after`, batch by batch, until the reader is caught up."""
    while True:
        events = read_events(conn, after, batch)
        yield from events
        if len(events) < batch:
            return
        after = events[-1].checkpoint


def horizon(conn: Connection) -> int:
    """The xid8 below which every writing transaction has finished (the reader's safe horizon)."""
    row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()
    assert row is not None
    return int(row[0])
