"""Balance snapshots at log positions, and stock at any past position from the nearest one.

Stock after position N = the latest snapshot at or before N, plus the stock
changes of the finished events in between: one SQL statement over at most one
snapshot interval of events, whatever the length of the log. The changes are
computed by the same SQL as the inventory projection (projection.stock_changes),
and tests hold the answer to the pure fold of the log prefix (ledger.fold).

Taking a snapshot at P is safe only when no running transaction can still
add an event at a position <= P; see migration 0006 for the mark that ensures it.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ledger.fold import StockKey
from ledger.postgres.eventstore import Connection
from projections.projection import BATCH_COLUMNS, stock_changes
from projections.runner import lock_key

SNAPSHOT_LOCK = lock_key("stock-snapshots")

RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(lo)s AND position <= %(hi)s
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
)"""

TAKE = f"""
WITH {stock_changes(RANGE)},
summed AS (
    SELECT warehouse_id, part_id, sum(quantity) AS quantity FROM (
        SELECT warehouse_id, part_id, quantity FROM stock_snapshot_balances WHERE position = %(lo)s
        UNION ALL
        SELECT warehouse_id, part_id, delta FROM changes
    ) moved
    GROUP BY warehouse_id, part_id
)
INSERT INTO stock_snapshot_balances (position, warehouse_id, part_id, quantity)
SELECT %(hi)s, warehouse_id, part_id, quantity FROM summed WHERE quantity <> 0
"""

AS_OF = f"""
WITH base AS (SELECT coalesce(max(position), 0) AS lo FROM stock_snapshots WHERE position <= %(hi)s),
{stock_changes(RANGE.replace("%(lo)s", "(SELECT lo FROM base)"))}
SELECT warehouse_id, part_id, sum(quantity) FROM (
    SELECT warehouse_id, part_id, quantity FROM stock_snapshot_balances
    WHERE position = (SELECT lo FROM base)
    UNION ALL
    SELECT warehouse_id, part_id, delta FROM changes
) moved
WHERE (%(warehouse_id)s::uuid IS NULL OR warehouse_id = %(warehouse_id)s)
  AND (%(part_id)s::uuid IS NULL OR part_id = %(part_id)s)
GROUP BY warehouse_id, part_id
HAVING sum(quantity) <> 0
"""

LAST_SNAPSHOT = "SELECT coalesce(max(position), 0) FROM stock_snapshots"
READY_MARKS = """
SELECT position FROM stock_snapshot_marks
WHERE next_transaction_id <= pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position
"""
PENDING_MARKS = "SELECT count(*) FROM stock_snapshot_marks"
HEAD = "SELECT pg_sequence_last_value(pg_get_serial_sequence('ledger_events', 'position'))"
MARK = """
INSERT INTO stock_snapshot_marks (position, next_transaction_id)
VALUES (%s, pg_snapshot_xmax(pg_current_snapshot())) ON CONFLICT DO NOTHING
"""


def advance(conn: Connection, interval: int) -> int:
    """Turn ready marks into snapshots, and mark the head when it is `interval` past the last one.

    Runs in its own transaction under an advisory lock (one snapshotter at a time);
    returns how many snapshots it took.
    """
    taken = 0
    with conn.transaction():
        row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [SNAPSHOT_LOCK]).fetchone()
        if row is None or not row[0]:
            return 0
        last = _scalar(conn, LAST_SNAPSHOT)
        for (position,) in conn.execute(READY_MARKS).fetchall():
            conn.execute("INSERT INTO stock_snapshots (position) VALUES (%s)", [position])
            conn.execute(TAKE, {"lo": last, "hi": position})
            conn.execute("DELETE FROM stock_snapshot_marks WHERE position = %s", [position])
            last, taken = position, taken + 1
        head = _scalar(conn, HEAD)
        if head - last >= interval and _scalar(conn, PENDING_MARKS) == 0:
            conn.execute(MARK, [head])
    return taken


def stock_at_position(
    conn: Connection, position: int, warehouse_id: UUID | None = None, part_id: UUID | None = None
) -> dict[StockKey, Decimal]:
    """Non-zero stock per (warehouse, part) after the finished events up to `position`."""
    params = {"hi": position, "warehouse_id": warehouse_id, "part_id": part_id}
    return {(r[0], r[1]): r[2] for r in conn.execute(AS_OF, params).fetchall()}


def _scalar(conn: Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0] or 0) if row is not None else 0
