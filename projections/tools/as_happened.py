"""Stock as it happened by a date, optionally as the ledger knew it at a moment (bitemporal).

Two time axes: a stock change happened at its date (a movement's
`transaction_date`, which may be backdated within the policy's window; a held
movement's change at its approval; an order's shipment and receipt at theirs;
`ledger_happened_at`, migration 0013) and was recorded at its event's
`recorded_at`. Stock happened by D, known at K, is the sum of the finished
events recorded by K whose change happened by D: the pure fold's answer
(`ledger.postgres.history.stock_at(as_of=K, happened_by=D)`).

Nothing is reposted when a movement is backdated: the fold by date is done at
read time. It starts from the latest balance snapshot whose every event
happened by D and was recorded by K (`happened_through`, `recorded_through`:
both only grow with position) and adds the later events happened by D (and
recorded by K): in the snapshotted part through the date index, between the
earliest date of the snapshots above the base (`first_happened_at`) and D;
after the last snapshot by position. Without K it may start from the next
snapshot instead, taking back its events that happened after D (by the same
index, up to its `happened_through`), when that spans less time: at most
about half a snapshot interval of events either way, as for a position. Two
statements, as in snapshots.py: the bounds first, then the sum with them as
plain values, unprepared.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.fold import StockKey
from ledger.postgres.connection import Connection
from projections.engine.projection import BATCH_COLUMNS
from projections.tools.snapshots import BACK, DATED_FILTER, FINISHED, HAPPENED, SCOPE, balances_after

# The base snapshot may be the nearest one below or (without `known`) above the date. Added: events after
# the base happened by `on` and recorded by `known`, in (base, last] by the date index
# (ledger_events_happened_at_idx, whose expression and predicate these repeat), after `last` by position.
# Taken back: events of the base happened after `on` (all of them happened by `through`); a row taken
# back carries no recorded_at (a logged one always has one) and counts negatively. Below the date, the
# take-back's range is empty (`through` = `on`).
DATE_RANGE = f"""batch AS (
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE {DATED_FILTER} AND {HAPPENED} <= %(on)s
      AND {HAPPENED} >= coalesce(%(since)s::timestamptz, '-infinity')
      AND position > %(base)s AND position <= %(last)s
      AND recorded_at <= coalesce(%(known)s::timestamptz, 'infinity') AND {FINISHED} AND {SCOPE}
    UNION ALL
    SELECT {BATCH_COLUMNS} FROM ledger_events
    WHERE position > %(last)s AND {DATED_FILTER} AND {HAPPENED} <= %(on)s
      AND recorded_at <= coalesce(%(known)s::timestamptz, 'infinity') AND {FINISHED} AND {SCOPE}
    UNION ALL
    SELECT {BACK} FROM ledger_events
    WHERE {DATED_FILTER} AND {HAPPENED} > %(on)s AND {HAPPENED} <= %(through)s
      AND position <= %(base)s AND {FINISHED} AND {SCOPE}
)"""

HAPPENED_BY = balances_after(DATE_RANGE)

# Per snapshot (and "none", position 0): `since`, the earliest date of the events above it (at most `on`,
# never infinite), null should the chain above it have a gap (nothing bounds the scan then). Below: the
# latest snapshot holding only events happened by `on` and recorded by `known`; above: the next one
# (both dates only grow with position), with its happened_through. Then the last snapshot.
BASE = """
WITH chain AS (
    SELECT 0::bigint AS position, 0::bigint AS previous_position,
        'infinity'::timestamptz AS first_happened_at,
        '-infinity'::timestamptz AS happened_through, '-infinity'::timestamptz AS recorded_through
    UNION ALL
    SELECT position, previous_position, first_happened_at, happened_through, recorded_through
    FROM stock_snapshots
),
linked AS (
    SELECT *, previous_position <= coalesce(lag(position) OVER (ORDER BY position), 0) AS follows FROM chain
),
described AS (
    SELECT position, happened_through, recorded_through,
        CASE WHEN coalesce(bool_and(follows) OVER above, true)
            THEN least(min(first_happened_at) OVER above, %(on)s) END AS since
    FROM linked
    WINDOW above AS (ORDER BY position DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
below AS (
    SELECT position, since FROM described
    WHERE happened_through <= %(on)s AND recorded_through <= coalesce(%(known)s::timestamptz, 'infinity')
    ORDER BY position DESC LIMIT 1
),
above AS (
    SELECT d.position, d.since, d.happened_through FROM described d, below b
    WHERE d.position > b.position ORDER BY d.position LIMIT 1
)
SELECT b.position, b.since, a.position, a.since, a.happened_through, (SELECT max(position) FROM chain)
FROM below b LEFT JOIN above a ON true
"""


# Each snapshot's dates recomputed from the log; a snapshot is wrong when it claims a later earliest date
# or an earlier latest one than its events have (looser bounds only lengthen the scans, never mislead).
MISDATED = f"""
WITH ranges AS (
    SELECT s.position, s.first_happened_at, s.happened_through,
        coalesce(min(ledger_happened_at(e.event_type, e.payload, e.recorded_at)), 'infinity') AS first_at,
        coalesce(max(ledger_happened_at(e.event_type, e.payload, e.recorded_at)), '-infinity') AS last_at
    FROM stock_snapshots s
    LEFT JOIN ledger_events e ON e.position > s.previous_position AND e.position <= s.position
        AND e.{DATED_FILTER}
    GROUP BY s.position
),
described AS (
    SELECT *, max(last_at) OVER (ORDER BY position) AS through FROM ranges
)
SELECT position FROM described
WHERE first_happened_at > first_at OR happened_through < through ORDER BY position
"""


def misdated_snapshots(conn: Connection) -> list[str]:
    """Problems: snapshots whose dates (first_happened_at, happened_through) the log contradicts."""
    positions = [r[0] for r in conn.execute(MISDATED).fetchall()]
    if not positions:
        return []
    return [f"snapshot dates: {len(positions)} snapshots' dates differ from the log, e.g. at {positions[0]}"]


def stock_happened_by(
    conn: Connection,
    on: datetime,
    known_at: datetime | None = None,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
) -> dict[StockKey, Decimal]:
    """Non-zero stock per (warehouse, part) of the changes that happened by `on`, as known at `known_at`.

    Without `known_at`, everything the ledger holds now (finished events). A naive moment means UTC.
    """
    on = _utc(on)
    known = _utc(known_at) if known_at is not None else None
    row = conn.execute(BASE, {"on": on, "known": known}).fetchone()
    assert row is not None  # "none" (position 0) always qualifies
    below, below_since, above, above_since, above_through, last = row
    base, since, through = below, below_since, on
    # From the snapshot above when its events to take back and to add span less time than those to add
    # from the one below (as for recorded moments). Not with `known`: what the snapshot above holds may
    # have been recorded after it, and taking back by two axes at once is not done.
    if known is None and above is not None and above_since is not None:
        forward = on - below_since if below_since is not None else None
        backward = above_through - on + max(on - above_since, timedelta(0))
        if forward is None or backward < forward:
            base, since, through = above, above_since, above_through
    params: dict[str, Any] = {
        "base": base,
        "since": since,
        "through": through,
        "last": last,
        "on": on,
        "known": known,
        "warehouse_id": warehouse_id,
        "part_id": part_id,
    }
    rows = conn.execute(HAPPENED_BY, params, prepare=False).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
