"""The log as history: finished events in a position range, and stock at a past point folded from them.

Events are read in commit-safe order below one horizon taken when reading
starts, in batches resumed from a checkpoint: memory stays constant however
long the log is. `stock_at` is the pure fold of a prefix of the log, the
reference the balance snapshots and every stock projection must agree with.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from ledger.fold import StockKey, apply, happened_at
from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import COLUMNS, row_to_event
from ledger.postgres.reader import horizon
from ledger.recorded import START, LogCheckpoint, RecordedEvent

MAX_POSITION = 2**63 - 1  # bigint's maximum: no upper bound

# Every bound is a parameter; the horizon is fixed by the caller so all batches see one prefix.
READ_RANGE = f"""
SELECT {COLUMNS} FROM ledger_events
WHERE (writer_xid, position) > (%(xid)s::text::xid8, %(after)s)
  AND writer_xid < %(horizon)s::text::xid8
  AND position BETWEEN %(first)s AND %(last)s
  AND recorded_at <= COALESCE(%(until)s::timestamptz, 'infinity')
ORDER BY ledger_events.writer_xid, ledger_events.position
LIMIT %(limit)s
"""


def iter_events(
    conn: Connection,
    *,
    first_position: int = 0,
    last_position: int = MAX_POSITION,
    recorded_until: datetime | None = None,
    batch: int = 1000,
) -> Iterator[RecordedEvent]:
    """Finished events with first <= position <= last (and recorded_at <= until), batch by batch.

    In commit-safe order, below one horizon taken when iteration starts.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    below = horizon(conn)
    after: LogCheckpoint = START
    while True:
        rows = conn.execute(
            READ_RANGE,
            {
                "xid": after.transaction_id,
                "after": after.position,
                "horizon": below,
                "first": first_position,
                "last": last_position,
                "until": recorded_until,
                "limit": batch,
            },
        ).fetchall()
        events = [row_to_event(row) for row in rows]
        yield from events
        if len(events) < batch:
            return
        after = events[-1].checkpoint


class UnknownEventType(Exception):
    """The log holds an event this version cannot read, so the fold would be wrong."""


def stock_at(
    conn: Connection,
    *,
    position: int | None = None,
    as_of: datetime | None = None,
    happened_by: datetime | None = None,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    batch: int = 1000,
) -> dict[StockKey, Decimal]:
    """Non-zero stock per (warehouse, part) from the finished events up to `position` and/or `as_of`.

    `as_of` is the ledger's knowledge (events recorded at or before it); `happened_by` keeps only the
    stock changes that happened by then (ledger.fold.happened_at): both together are the bitemporal
    answer. A naive moment means UTC. Optional filters keep only one warehouse and/or part.
    """
    as_of, happened_by = _utc(as_of), _utc(happened_by)
    levels: dict[StockKey, Decimal] = {}
    last = MAX_POSITION if position is None else position
    for recorded in iter_events(conn, last_position=last, recorded_until=as_of, batch=batch):
        try:
            event = recorded.event()
        except KeyError:
            raise UnknownEventType(
                f"event type {recorded.event_type!r} at position {recorded.position} is unknown"
                " to this version of abparts"
            ) from None
        if happened_by is not None:
            when = happened_at(event, recorded.recorded_at)
            if when is None or when > happened_by:
                continue
        apply(levels, event)
    return {
        key: value
        for key, value in levels.items()
        if value != 0
        and (warehouse_id is None or key[0] == warehouse_id)
        and (part_id is None or key[1] == part_id)
    }


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
