"""Taking balance snapshots: a mark at the head of the log, then the snapshot once nothing can write below it.

The inventory's worker group runs `advance` about once a second, on a connection and thread of its
own (projections.engine.snapshotting), so that a snapshot never stops a projection's batches.
Taking a snapshot at P is safe only when no running transaction can still add an event at a
position <= P; see migration 0006 for the mark that ensures it. The reads of a snapshot (the sums
over an interval of events, tens of milliseconds, several hundred under load) run before its
transaction's first write, so that the transaction holds an id, and with it every projection's
commit-safe horizon, only for the two INSERTs.
"""

from __future__ import annotations

from ledger.postgres.connection import Connection
from projections.engine.projection import BATCH_COLUMNS, stock_changes
from projections.engine.runner import lock_key
from projections.tools.snapshots import DATED_FILTER, FINISHED, HAPPENED

SNAPSHOT_LOCK = lock_key("stock-snapshots")
RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(lo)s AND position <= %(hi)s AND {FINISHED}
)"""

# The snapshot row: what it was taken from, when the events it added were recorded and when they
# happened (migration 0013: ledger_happened_at, the date projections.tools.as_happened reads by).
# Read as text: a bound may be infinite, which Python cannot hold.
DESCRIBED = f"""described AS (
    SELECT coalesce(min(recorded_at), 'infinity')::text AS first_recorded_at,
        coalesce(max(recorded_at), '-infinity')::text AS last_recorded_at,
        greatest(
            coalesce(max(recorded_at), '-infinity'),
            (SELECT recorded_through FROM stock_snapshots WHERE position = %(lo)s)
        )::text AS recorded_through,
        coalesce(min({HAPPENED}) FILTER (WHERE {DATED_FILTER}), 'infinity')::text AS first_happened_at,
        greatest(
            coalesce(max({HAPPENED}) FILTER (WHERE {DATED_FILTER}), '-infinity'),
            (SELECT happened_through FROM stock_snapshots WHERE position = %(lo)s)
        )::text AS happened_through
    FROM ledger_events WHERE position > %(lo)s AND position <= %(hi)s
)"""
DESCRIBE = """
INSERT INTO stock_snapshots
    (position, previous_position, first_recorded_at, last_recorded_at, recorded_through,
     first_happened_at, happened_through)
VALUES (%(hi)s, %(lo)s, %(first_recorded_at)s::timestamptz, %(last_recorded_at)s::timestamptz,
    %(recorded_through)s::timestamptz, %(first_happened_at)s::timestamptz, %(happened_through)s::timestamptz)
"""

# A snapshot's balances and row, read (no transaction id yet: see take) as arrays in text.
MEASURE = f"""
WITH {stock_changes(RANGE)},
summed AS (
    SELECT warehouse_id, part_id, sum(quantity) AS quantity FROM (
        SELECT warehouse_id, part_id, quantity FROM stock_snapshot_balances WHERE position = %(lo)s
        UNION ALL
        SELECT warehouse_id, part_id, delta FROM changes
    ) moved
    GROUP BY warehouse_id, part_id
),
{DESCRIBED}
SELECT d.*, b.* FROM described d, (
    SELECT array_agg(warehouse_id)::text AS warehouses, array_agg(part_id)::text AS parts,
        array_agg(quantity)::text AS quantities
    FROM summed WHERE quantity <> 0
) b
"""
MEASURED = (
    "first_recorded_at",
    "last_recorded_at",
    "recorded_through",
    "first_happened_at",
    "happened_through",
    "warehouses",
    "parts",
    "quantities",
)
TAKE = """
INSERT INTO stock_snapshot_balances (position, warehouse_id, part_id, quantity)
SELECT %(hi)s, w, p, q FROM unnest(%(warehouses)s::uuid[], %(parts)s::uuid[], %(quantities)s::numeric[])
    AS t (w, p, q)
"""
LAST_SNAPSHOT = "SELECT coalesce(max(position), 0) FROM stock_snapshots"
READY_MARK = """
SELECT position FROM stock_snapshot_marks
WHERE next_writer_xid <= pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position LIMIT 1
"""
PENDING_MARKS = "SELECT count(*) FROM stock_snapshot_marks"
HEAD = "SELECT pg_sequence_last_value(pg_get_serial_sequence('ledger_events', 'position'))"
MARK = """
INSERT INTO stock_snapshot_marks (position, next_writer_xid)
VALUES (%s, pg_snapshot_xmax(pg_current_snapshot())) ON CONFLICT DO NOTHING
"""


def take(conn: Connection, lo: int, hi: int) -> None:
    """Snapshot at `hi` from the one at `lo` (0: none) and the events in (lo, hi], all finished.

    Everything is computed by one read first, then written as values: until its first write a
    transaction has no id, and one with an id holds the commit-safe horizon of every projection
    (their batches stop below its id) for as long as it runs; here that is two short INSERTs,
    not the sums over an interval of events.
    """
    row = conn.execute(MEASURE, {"lo": lo, "hi": hi}).fetchone()
    assert row is not None  # an aggregate: always one row
    measured = dict(zip(MEASURED, row, strict=True)) | {"lo": lo, "hi": hi}
    conn.execute(DESCRIBE, measured)
    conn.execute(TAKE, measured)


def advance(conn: Connection, interval: int) -> int:
    """Turn ready marks into snapshots, and mark the head when it is `interval` past the last one.

    A transaction per snapshot, each under an advisory lock (one snapshotter at a time; another's
    turn returns at once); returns how many snapshots it took.
    """
    taken = 0
    while True:
        with conn.transaction():
            row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [SNAPSHOT_LOCK]).fetchone()
            if row is None or not row[0]:
                return taken
            last = _scalar(conn, LAST_SNAPSHOT)
            ready = conn.execute(READY_MARK).fetchone()
            if ready is None:
                head = _scalar(conn, HEAD)
                if head - last >= interval and _scalar(conn, PENDING_MARKS) == 0:
                    conn.execute(MARK, [head])
                return taken
            take(conn, last, ready[0])
            conn.execute("DELETE FROM stock_snapshot_marks WHERE position = %s", [ready[0]])
        taken += 1


def _scalar(conn: Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0] or 0) if row is not None else 0
