"""Balance snapshots at log positions, and stock at any past position or moment from the nearest one.

Stock after position N = the nearest snapshot below or above N, plus (or minus)
the stock changes of the finished events in between: one SQL statement over
at most half a snapshot interval of events, whatever the length of the log.
The changes are computed by the same SQL as the inventory projection
(projection.stock_changes), and tests hold the answer to the pure fold of the
log prefix (ledger.fold).

Stock at a moment T (events recorded at or before T) works the same way in
time: each snapshot records the recorded_at range of the events it added and
the latest recorded_at at or below it (migration 0008). Below: the latest
snapshot holding only events recorded by T, plus the later events recorded by
T. Above: the next one, minus its events recorded after T, plus the later
events recorded by T. The added events are read by a recorded_at range scan
over the snapshotted part of the log and a position scan after the last
snapshot. recorded_at is the writer's clock and need not follow positions: the
bounds stay exact whatever the order, only the scans grow.

Both answers are two statements: a tiny one choosing the snapshot and the
bounds, then the sum with those bounds as plain values, unprepared, so the
planner sees the real range sizes (a bound computed inside the statement is
estimated blind, and a blind position range looks cheap even when it is the
whole log).

Taking a snapshot at P is safe only when no running transaction can still
add an event at a position <= P; see migration 0006 for the mark that ensures it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.fold import StockKey
from ledger.postgres.connection import Connection
from projections.engine.projection import BATCH_COLUMNS, stock_changes
from projections.engine.runner import lock_key

SNAPSHOT_LOCK = lock_key("stock-snapshots")
# When an event's stock change happened (migration 0013), and the event types that have one: the
# partial index ledger_events_happened_at_idx is on exactly this expression for exactly these types.
HAPPENED = "ledger_happened_at(event_type, payload, recorded_at)"
DATED_TYPES = (
    "StockCreated",
    "StockTransferred",
    "StockConsumed",
    "StockAdjusted",
    "MovementApproved",
    "CustomerOrderShipped",
    "CustomerOrderReceived",
)
DATED_FILTER = "event_type IN (" + ", ".join(f"'{t}'" for t in DATED_TYPES) + ")"
FINISHED = "writer_xid < pg_snapshot_xmin(pg_current_snapshot())"

RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(lo)s AND position <= %(hi)s AND {FINISHED}
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

# The snapshot row: what it was taken from, when the events it added were recorded and when they
# happened (migration 0013: ledger_happened_at, the date projections.tools.as_happened reads by).
DESCRIBE = f"""
INSERT INTO stock_snapshots
    (position, previous_position, first_recorded_at, last_recorded_at, recorded_through,
     first_happened_at, happened_through)
SELECT %(hi)s, %(lo)s, coalesce(min(recorded_at), 'infinity'), coalesce(max(recorded_at), '-infinity'),
    greatest(
        coalesce(max(recorded_at), '-infinity'),
        (SELECT recorded_through FROM stock_snapshots WHERE position = %(lo)s)
    ),
    coalesce(min({HAPPENED}) FILTER (WHERE {DATED_FILTER}), 'infinity'),
    greatest(
        coalesce(max({HAPPENED}) FILTER (WHERE {DATED_FILTER}), '-infinity'),
        (SELECT happened_through FROM stock_snapshots WHERE position = %(lo)s)
    )
FROM ledger_events WHERE position > %(lo)s AND position <= %(hi)s
"""

# Rows of the batch that cannot change the asked warehouse are dropped before any payload is unpacked;
# an approval is kept (the movement it approves says where stock moves).
SCOPE = """(%(warehouse_id)s::uuid IS NULL OR event_type = 'MovementApproved'
        OR payload->>'from_warehouse_id' = %(warehouse_id)s::uuid::text
        OR payload->>'to_warehouse_id' = %(warehouse_id)s::uuid::text
        OR payload->>'warehouse_id' = %(warehouse_id)s::uuid::text)"""

# The base snapshot may be the nearest one below or above: events between it and the point are added,
# or taken back. A row taken back carries no recorded_at (a logged one always has one), and its change
# is then counted negatively.
BACK = BATCH_COLUMNS.replace("recorded_at", "NULL::timestamptz AS recorded_at")

# Events in (base, hi] added, events in (hi, base] taken back: one of the two ranges is empty.
POSITION_RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(base)s AND position <= %(hi)s AND {FINISHED} AND {SCOPE}
    UNION ALL
    SELECT {BACK} FROM ledger_events
    WHERE position > %(hi)s AND position <= %(base)s AND {FINISHED} AND {SCOPE}
)"""

# Added: events after the base recorded by `at`. In the snapshotted part (base, last] every one was
# recorded at or after `since`; after the last snapshot nothing is known, so those are read by position.
# Taken back: events of the base recorded after `at` (all of them were recorded by `through`).
TIME_RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(base)s AND position <= %(last)s
      AND recorded_at >= coalesce(%(since)s::timestamptz, '-infinity') AND recorded_at <= %(at)s
      AND {FINISHED} AND {SCOPE}
    UNION ALL
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(last)s AND recorded_at <= %(at)s AND {FINISHED} AND {SCOPE}
    UNION ALL
    SELECT {BACK} FROM ledger_events
    WHERE position <= %(base)s AND recorded_at > %(at)s AND recorded_at <= %(through)s
      AND {FINISHED} AND {SCOPE}
)"""


def balances_after(batch: str) -> str:
    """Stock per (warehouse, part): a snapshot's balances plus the changes of `batch` (a CTE of log rows;
    rows without recorded_at are taken back), filtered by warehouse and part, zeros left out."""
    return f"""
WITH {stock_changes(batch)}
SELECT warehouse_id, part_id, sum(quantity) FROM (
    SELECT warehouse_id, part_id, quantity FROM stock_snapshot_balances WHERE position = %(base)s
    UNION ALL
    SELECT warehouse_id, part_id, CASE WHEN recorded_at IS NULL THEN -delta ELSE delta END FROM changes
) moved
WHERE (%(warehouse_id)s::uuid IS NULL OR warehouse_id = %(warehouse_id)s)
  AND (%(part_id)s::uuid IS NULL OR part_id = %(part_id)s)
GROUP BY warehouse_id, part_id
HAVING sum(quantity) <> 0
"""


AS_OF = balances_after(POSITION_RANGE)
AT = balances_after(TIME_RANGE)

# The nearest snapshots below (0: none) and above `hi`.
AROUND_POSITION = """
SELECT (SELECT coalesce(max(position), 0) FROM stock_snapshots WHERE position <= %(hi)s),
    (SELECT min(position) FROM stock_snapshots WHERE position > %(hi)s)
"""

# Per snapshot (and "none", position 0): `since`, the earliest recorded_at of the events above it, at
# most `at` (no later one is added; never infinite, which Python cannot hold), null should the chain
# above it have a gap (a snapshot removed by hand: nothing bounds the scan then). recorded_through only
# grows with position: the base below is the latest one holding only events recorded by `at`, the
# base above the next one. Then the last snapshot.
AROUND_MOMENT = """
WITH chain AS (
    SELECT 0::bigint AS position, 0::bigint AS previous_position,
        'infinity'::timestamptz AS first_recorded_at,
        '-infinity'::timestamptz AS recorded_through
    UNION ALL
    SELECT position, previous_position, first_recorded_at, recorded_through FROM stock_snapshots
),
linked AS (
    SELECT *, previous_position <= coalesce(lag(position) OVER (ORDER BY position), 0) AS follows FROM chain
),
described AS (
    SELECT position, recorded_through,
        CASE WHEN coalesce(bool_and(follows) OVER above, true)
            THEN least(min(first_recorded_at) OVER above, %(at)s) END AS since
    FROM linked
    WINDOW above AS (ORDER BY position DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
below AS (
    SELECT position, since FROM described WHERE recorded_through <= %(at)s ORDER BY position DESC LIMIT 1
),
above AS (
    SELECT position, since, recorded_through FROM described WHERE recorded_through > %(at)s
    ORDER BY position LIMIT 1
)
SELECT b.position, b.since, a.position, a.since, a.recorded_through, (SELECT max(position) FROM chain)
FROM below b LEFT JOIN above a ON true
"""

LAST_SNAPSHOT = "SELECT coalesce(max(position), 0) FROM stock_snapshots"
READY_MARKS = """
SELECT position FROM stock_snapshot_marks
WHERE next_writer_xid <= pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position
"""
PENDING_MARKS = "SELECT count(*) FROM stock_snapshot_marks"
HEAD = "SELECT pg_sequence_last_value(pg_get_serial_sequence('ledger_events', 'position'))"
MARK = """
INSERT INTO stock_snapshot_marks (position, next_writer_xid)
VALUES (%s, pg_snapshot_xmax(pg_current_snapshot())) ON CONFLICT DO NOTHING
"""


def take(conn: Connection, lo: int, hi: int) -> None:
    """Snapshot at `hi` from the one at `lo` (0: none) and the events in (lo, hi], all finished."""
    conn.execute(DESCRIBE, {"lo": lo, "hi": hi})
    conn.execute(TAKE, {"lo": lo, "hi": hi})


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
            take(conn, last, position)
            conn.execute("DELETE FROM stock_snapshot_marks WHERE position = %s", [position])
            last, taken = position, taken + 1
        head = _scalar(conn, HEAD)
        if head - last >= interval and _scalar(conn, PENDING_MARKS) == 0:
            conn.execute(MARK, [head])
    return taken


def stock_at_position(
    conn: Connection, position: int, warehouse_id: UUID | None = None, part_id: UUID | None = None
) -> dict[StockKey, Decimal]:
    """Non-zero stock per (warehouse, part) after the finished events up to `position`.

    From the nearer of the snapshots around it: at most half an interval of events to read.
    """
    row = conn.execute(AROUND_POSITION, {"hi": position}).fetchone()
    assert row is not None
    below, above = row
    base = above if above is not None and above - position < position - below else below
    params = {"base": base, "hi": position, "warehouse_id": warehouse_id, "part_id": part_id}
    return _levels(conn, AS_OF, params)


def stock_at_moment(
    conn: Connection, at: datetime, warehouse_id: UUID | None = None, part_id: UUID | None = None
) -> dict[StockKey, Decimal]:
    """Non-zero stock per (warehouse, part) from the finished events recorded at or before `at`.

    A naive `at` means UTC, as in ledger.postgres.history.stock_at, whose answer this is. From
    the snapshot below or above whose recorded_at scan is the shorter span of time.
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    row = conn.execute(AROUND_MOMENT, {"at": at}).fetchone()
    assert row is not None
    below, below_since, above, above_since, above_through, last = row
    base, since, through = below, below_since, at
    if above is not None and above_since is not None:
        forward = at - below_since if below_since is not None else None
        backward = above_through - at + max(at - above_since, timedelta(0))
        if forward is None or backward < forward:
            base, since, through = above, above_since, above_through
    params = {
        "base": base,
        "last": last,
        "since": since,
        "through": through,
        "at": at,
        "warehouse_id": warehouse_id,
        "part_id": part_id,
    }
    return _levels(conn, AT, params)


def _levels(conn: Connection, query: str, params: dict[str, Any]) -> dict[StockKey, Decimal]:
    # Unprepared: each call is planned for its own bounds, never by a generic plan.
    return {(r[0], r[1]): r[2] for r in conn.execute(query, params, prepare=False).fetchall()}


def _scalar(conn: Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0] or 0) if row is not None else 0
