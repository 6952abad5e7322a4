"""What the entry points may read of the write side: movements, orders, stock (on hand and reserved), the
log's head, stocktakes, whether a command's result is kept under an idempotency key.

The ledger's own tables (`ledger_events`, `ledger_stock_levels`) are private to this package: their
shape may change with the pipeline. The HTTP layer and the CLI read them only through the functions
here (and the commit-safe `reader`, `history` and `seals`), so a change of storage stays in one place.
Every function reads with the caller's connection and transaction; none writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.events import movement_stream
from ledger.postgres.connection import Connection
from ledger.postgres.context import load_movements
from ledger.postgres.eventstore import COLUMNS, load_streams, row_to_event
from ledger.recorded import LogCheckpoint, RecordedEvent
from ledger.state import MovementState

STREAM_HEAD = "SELECT payload FROM ledger_events WHERE stream_id = %s AND stream_version = 1"
ON_HAND = "SELECT part_id, on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = ANY(%s)"
LEVELS = (
    "SELECT part_id, on_hand, reserved FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = ANY(%s)"
)
PART_HAS_MOVED = "SELECT EXISTS (SELECT FROM ledger_events WHERE payload->>'part_id' = %s::text)"
HEAD_POSITION = "SELECT pg_sequence_last_value(pg_get_serial_sequence('ledger_events', 'position'))"
EVENT_XID = "SELECT writer_xid::text::bigint FROM ledger_events WHERE position = %s"
# Supplier orders requested since a moment with exactly these notes (by the recorded_at index).
NOTED_SUPPLIER_ORDERS = """
SELECT (payload->>'order_id')::uuid FROM ledger_events
WHERE event_type = 'SupplierOrderRequested' AND recorded_at >= %(since)s AND payload->>'notes' = %(notes)s
ORDER BY position
"""

# A stream is visible when its first event (the movement) touches one of the given organizations'
# warehouses. The horizon and the order are the commit-safe reader's (see reader.py).
SCOPED_EVENTS = f"""
SELECT {COLUMNS} FROM ledger_events
WHERE (writer_xid, position) > (%(xid)s::text::xid8, %(position)s)
  AND writer_xid < pg_snapshot_xmin(pg_current_snapshot())
  AND EXISTS (
    SELECT FROM ledger_events m JOIN warehouses w
      ON w.id IN ((m.payload->>'from_warehouse_id')::uuid, (m.payload->>'to_warehouse_id')::uuid)
    WHERE m.stream_id = ledger_events.stream_id AND m.stream_version = 1
      AND w.organization_id = ANY(%(scope)s))
ORDER BY ledger_events.writer_xid, ledger_events.position
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Movement:
    """A movement as its stream tells it now, with the event that recorded it."""

    state: MovementState
    recorded: RecordedEvent


def result_kept(key_sql: str) -> str:
    """SQL that is true when the ledger keeps a command's result under the idempotency key `key_sql`.

    For a statement of the HTTP layer's own (the Idempotency-Key middleware's claim): `key_sql` is an
    SQL expression of its `<user id>:<key>`; NULL is false.
    """
    return f"EXISTS (SELECT FROM ledger_idempotency WHERE key = {key_sql})"


def movements(conn: Connection, transaction_ids: tuple[UUID, ...]) -> dict[UUID, Movement]:
    """The recorded movements among `transaction_ids` (an unknown id is left out)."""
    states, streams = load_movements(conn, transaction_ids)
    return {tid: Movement(state, streams[movement_stream(tid)][0]) for tid, state in states.items()}


def movement_warehouses(conn: Connection, transaction_id: UUID) -> set[UUID] | None:
    """The warehouses a recorded movement touches; None when there is no such movement."""
    row = conn.execute(STREAM_HEAD, [movement_stream(transaction_id)]).fetchone()
    if row is None:
        return None
    payload = row[0]
    return {UUID(payload[k]) for k in ("from_warehouse_id", "to_warehouse_id") if payload.get(k)}


def stream_opening(conn: Connection, stream_id: str) -> dict[str, Any] | None:
    """The payload of a stream's first event (an order's request, a movement); None when it has none."""
    row = conn.execute(STREAM_HEAD, [stream_id]).fetchone()
    return None if row is None else dict(row[0])


def stream(conn: Connection, stream_id: str) -> list[RecordedEvent]:
    """Every event of one stream, in version order (empty when there is none)."""
    return load_streams(conn, [stream_id])[stream_id]


def on_hand(conn: Connection, warehouse_id: UUID, part_ids: list[UUID]) -> dict[UUID, Decimal]:
    """Stock on hand now, exact at this instant (the ledger's own levels), of some parts in a warehouse."""
    return {r[0]: r[1] for r in conn.execute(ON_HAND, [warehouse_id, part_ids]).fetchall()}


def levels(conn: Connection, warehouse_id: UUID, part_ids: list[UUID]) -> dict[UUID, tuple[Decimal, Decimal]]:
    """(on hand, reserved for customer orders) now, exact at this instant, of some parts in a warehouse."""
    return {r[0]: (r[1], r[2]) for r in conn.execute(LEVELS, [warehouse_id, part_ids]).fetchall()}


def hold_part_movements(conn: Connection) -> None:
    """Wait for every command moving stock to commit, and hold new ones back until this transaction ends.

    A part's unit or type may change only while no stock of it has moved. A command reads the part
    in the statement that locks its stock levels (ROW EXCLUSIVE on ledger_stock_levels) and appends
    in that transaction. SHARE waits for every such command to commit, so `part_has_moved` then sees
    its events, and holds back new ones until the change commits, so they read the new unit.
    Appends pause briefly; this is rare. Call it inside the changing transaction.
    """
    conn.execute("LOCK TABLE ledger_stock_levels IN SHARE MODE")


def part_has_moved(conn: Connection, part_id: UUID) -> bool:
    """Whether any movement of the part has been recorded (an event whose payload names it)."""
    return conn.execute(PART_HAS_MOVED, [part_id]).fetchone() == (True,)


def head_position(conn: Connection) -> int | None:
    """The last log position an append has been given (committed or not); None before any append."""
    row = conn.execute(HEAD_POSITION).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def supplier_orders_noted(conn: Connection, notes: str, since: datetime) -> list[UUID]:
    """The supplier orders requested at or after `since` whose notes are exactly `notes`, oldest first."""
    rows = conn.execute(NOTED_SUPPLIER_ORDERS, {"since": since, "notes": notes}).fetchall()
    return [row[0] for row in rows]


def checkpoint_at(conn: Connection, position: int) -> LogCheckpoint | None:
    """The reader's checkpoint just after the event at `position`; None when no event has it."""
    row = conn.execute(EVENT_XID, [position]).fetchone()
    return None if row is None else LogCheckpoint(int(str(row[0])), position)


def events_in_scope(
    conn: Connection, organizations: list[UUID], after: LogCheckpoint, limit: int
) -> list[RecordedEvent]:
    """Like `reader.read_events`, restricted to streams whose movement touches `organizations`."""
    params = {"xid": after.transaction_id, "position": after.position, "scope": organizations, "limit": limit}
    return [row_to_event(r) for r in conn.execute(SCOPED_EVENTS, params).fetchall()]


# A stocktake (CountStock) appends one adjustment per differing part, all in one statement, so its
# adjustments share the writing transaction, the moment recorded, the user and the warehouse: that
# is the group. `counted_quantity` tells them from an AdjustStock whose reason is also 'stocktake'.
STOCKTAKES = """
WITH counted AS (
    SELECT e.position, e.writer_xid, e.recorded_at, e.performed_by_user_id, e.payload,
        coalesce(e.payload->>'from_warehouse_id', e.payload->>'to_warehouse_id')::uuid AS warehouse_id,
        CASE WHEN e.payload->>'from_warehouse_id' IS NOT NULL
            THEN -(e.payload->>'quantity')::numeric ELSE (e.payload->>'quantity')::numeric END AS change,
        coalesce(d.corrected, e.payload->>'transaction_date')::timestamptz AS transaction_date
    FROM ledger_events e
    -- A date repaired by `abparts repair-date`: the latest correction in the adjustment's stream.
    LEFT JOIN LATERAL (
        SELECT c.payload->>'transaction_date' AS corrected FROM ledger_events c
        WHERE c.stream_id = e.stream_id AND c.event_type = 'MovementDateCorrected'
        ORDER BY c.stream_version DESC LIMIT 1
    ) d ON true
    WHERE e.event_type = 'StockAdjusted' AND e.payload->>'reason_code' = 'stocktake'
      AND e.payload->>'counted_quantity' IS NOT NULL
), stocktakes AS (
    SELECT (array_agg(c.payload->>'transaction_id' ORDER BY c.position))[1]::uuid AS id,
        c.warehouse_id, c.performed_by_user_id AS counted_by_user_id,
        min(c.transaction_date) AS stocktake_date,
        (array_agg(c.payload->>'notes' ORDER BY c.position))[1] AS notes,
        (array_agg(c.payload->>'reference_number' ORDER BY c.position))[1] AS reference_number,
        max(c.position) AS position,
        jsonb_agg(jsonb_build_object('transaction_id', c.payload->>'transaction_id',
            'part_id', c.payload->>'part_id', 'counted_quantity', c.payload->>'counted_quantity',
            'quantity_adjusted', c.change::text) ORDER BY c.position) AS lines
    FROM counted c JOIN warehouses w ON w.id = c.warehouse_id
    WHERE (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s))
      AND (%(warehouse_id)s::uuid IS NULL OR c.warehouse_id = %(warehouse_id)s)
    GROUP BY c.writer_xid, c.recorded_at, c.performed_by_user_id, c.warehouse_id
)
SELECT id, warehouse_id, counted_by_user_id, stocktake_date, notes, reference_number, position, lines
FROM stocktakes
WHERE %(after_date)s::timestamptz IS NULL OR (stocktake_date, id) < (%(after_date)s, %(after_id)s::uuid)
ORDER BY stocktake_date DESC, id DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class StocktakeLine:
    """One counted part whose level differed: the count and the adjustment it became."""

    transaction_id: UUID
    part_id: UUID
    counted_quantity: Decimal
    quantity_adjusted: Decimal


@dataclass(frozen=True)
class Stocktake:
    """A recorded stocktake: named by its first adjustment's id."""

    id: UUID
    warehouse_id: UUID
    counted_by_user_id: UUID
    stocktake_date: datetime
    notes: str | None
    reference_number: str | None
    position: int
    lines: tuple[StocktakeLine, ...]


def stocktakes(conn: Connection, params: dict[str, Any]) -> list[Stocktake]:
    """Stocktakes that changed stock, newest first.

    `params`: scope, warehouse_id, after_date, after_id, limit. A stocktake whose counts all
    matched appended nothing, so it is not among them.
    """
    found = []
    for row in conn.execute(STOCKTAKES, params).fetchall():
        lines = tuple(
            StocktakeLine(
                UUID(x["transaction_id"]),
                UUID(x["part_id"]),
                Decimal(x["counted_quantity"]),
                Decimal(x["quantity_adjusted"]),
            )
            for x in row[7]
        )
        found.append(Stocktake(row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), lines))
    return found
