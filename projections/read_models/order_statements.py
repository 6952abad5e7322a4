"""The statements both order projections share: insert a request's lines, set each order's status.

Customer and supplier orders keep their orders and lines in tables of the same
shape, so these statements, and the line id they derive, are written once; the
arguments are always this package's own table, column and event names, never input.
"""

from __future__ import annotations

from projections.engine.projection import BATCH

# A part appears once per order, so (order, part) names a line for good: replays derive the same id.
ITEM_ID = "md5((b.payload->>'order_id') || '/' || (line->>'part_id'))::uuid"


def insert_items(items_table: str, order_column: str, requested_event: str) -> str:
    """The statement inserting each line of the batch's `requested_event` events into `items_table`."""
    return f"""
WITH {BATCH}
INSERT INTO {items_table} (id, {order_column}, part_id, quantity, unit_price, created_at, updated_at)
SELECT {ITEM_ID}, (b.payload->>'order_id')::uuid, (line->>'part_id')::uuid, (line->>'quantity')::numeric,
    (line->>'unit_price')::numeric, b.recorded_at, b.recorded_at
FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
WHERE b.event_type = '{requested_event}'
"""


def set_status(orders_table: str, changes: str) -> str:
    """The statement setting each order's status from the last status-changing event in the batch.

    `changes` selects `status`, `delivered` and `recorded_at` FROM batch WHERE the event changes
    the status; events of one order come in order, so the last one wins.
    """
    return f"""
WITH {BATCH},
changes AS (
    SELECT DISTINCT ON ((payload->>'order_id')::uuid) (payload->>'order_id')::uuid AS id,
{changes.strip(chr(10))}
    ORDER BY (payload->>'order_id')::uuid, writer_xid DESC, position DESC
)
UPDATE {orders_table} o
SET status = c.status, actual_delivery_date = coalesce(c.delivered, o.actual_delivery_date),
    updated_at = greatest(o.updated_at, c.recorded_at)
FROM changes c WHERE o.id = c.id
"""
