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

Snapshots are taken by projections.tools.snapshot_taking.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.fold import StockKey
from ledger.postgres.connection import Connection
from projections.engine.projection import BATCH_COLUMNS, stock_changes

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
