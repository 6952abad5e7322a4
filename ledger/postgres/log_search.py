"""The log searched: events in commit-safe order narrowed by stream, type, part, warehouse, performer, date.

For people reading the ledger (the ledger page's list and a part's history): the same order, horizon
and checkpoints as `reader`, so a page of a search is a subsequence of `abparts export`. A part or a
warehouse matches an event that names it in its own payload (a movement, an approval, an order's
shipment or receipt) or whose stream's first event does (a rejection, a reversal or a date
correction of a movement of that part). Scope, as in `queries.events_in_scope`, keeps the movement
streams touching the given organizations' warehouses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import COLUMNS, row_to_event
from ledger.recorded import START, LogCheckpoint, RecordedEvent

# COLUMNS names bare columns; beside the self-join below they must be the searched row's.
_QUALIFIED = ", ".join(f"ledger_events.{column.strip()}" for column in COLUMNS.split(","))
# Each filter is off when its parameter is NULL. `head` is the stream's first event.
SEARCH = f"""
SELECT {_QUALIFIED} FROM ledger_events
LEFT JOIN ledger_events head
  ON head.stream_id = ledger_events.stream_id AND head.stream_version = 1
WHERE (ledger_events.writer_xid, ledger_events.position) > (%(xid)s::text::xid8, %(position)s)
  AND ledger_events.writer_xid < pg_snapshot_xmin(pg_current_snapshot())
  AND (%(stream_id)s::text IS NULL OR ledger_events.stream_id = %(stream_id)s)
  AND (%(event_type)s::text IS NULL OR ledger_events.event_type = %(event_type)s)
  AND (%(performed_by)s::uuid IS NULL OR ledger_events.performed_by_user_id = %(performed_by)s)
  AND (%(recorded_from)s::timestamptz IS NULL OR ledger_events.recorded_at >= %(recorded_from)s)
  AND (%(recorded_to)s::timestamptz IS NULL OR ledger_events.recorded_at < %(recorded_to)s)
  AND (%(part_id)s::text IS NULL
       OR ledger_events.payload->>'part_id' = %(part_id)s
       OR ledger_events.payload->'lines' @> jsonb_build_array(jsonb_build_object('part_id', %(part_id)s))
       OR head.payload->>'part_id' = %(part_id)s)
  AND (%(warehouse_id)s::text IS NULL
       OR %(warehouse_id)s IN (ledger_events.payload->>'from_warehouse_id',
           ledger_events.payload->>'to_warehouse_id', ledger_events.payload->>'warehouse_id')
       OR %(warehouse_id)s IN (head.payload->>'from_warehouse_id', head.payload->>'to_warehouse_id'))
  AND (%(scope)s::uuid[] IS NULL OR EXISTS (
       SELECT FROM warehouses w
       WHERE w.id IN ((head.payload->>'from_warehouse_id')::uuid, (head.payload->>'to_warehouse_id')::uuid)
         AND w.organization_id = ANY(%(scope)s)))
-- Qualified: a bare name would sort by the selected writer_xid::text::bigint, not walk the index.
ORDER BY ledger_events.writer_xid, ledger_events.position
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class LogSearch:
    """What to narrow the log to; None everywhere is the whole log."""

    stream_id: str | None = None
    event_type: str | None = None
    part_id: UUID | None = None
    warehouse_id: UUID | None = None
    performed_by: UUID | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None


def search(
    conn: Connection,
    narrowed: LogSearch,
    scope: list[UUID] | None,
    after: LogCheckpoint = START,
    limit: int = 50,
) -> list[RecordedEvent]:
    """Up to `limit` finished events after `after` that match `narrowed`, within `scope` (None: all)."""
    params: dict[str, Any] = {
        "xid": after.transaction_id,
        "position": after.position,
        "stream_id": narrowed.stream_id,
        "event_type": narrowed.event_type,
        "performed_by": narrowed.performed_by,
        "recorded_from": narrowed.recorded_from,
        "recorded_to": narrowed.recorded_to,
        "part_id": None if narrowed.part_id is None else str(narrowed.part_id),
        "warehouse_id": None if narrowed.warehouse_id is None else str(narrowed.warehouse_id),
        "scope": scope,
        "limit": limit,
    }
    return [row_to_event(r) for r in conn.execute(SEARCH, params).fetchall()]
