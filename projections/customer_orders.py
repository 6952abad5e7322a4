"""The `customer_orders` projection: orders and their lines, with shipped and received quantities per line.

An order's status follows its events: requested, confirmed, shipped (after
the first shipment), received (once everything ordered is received), or
cancelled. Line ids derive from (order, part): a part appears once per order.
"""

from __future__ import annotations

from projections.projection import BATCH, Projection, Table

ITEM_ID = "md5((b.payload->>'order_id') || '/' || (line->>'part_id'))::uuid"

INSERT_ORDERS = f"""
WITH {BATCH}
INSERT INTO customer_orders (id, customer_organization_id, oraseas_organization_id, order_date,
    expected_delivery_date, status, ordered_by_user_id, notes, created_at, updated_at)
SELECT (payload->>'order_id')::uuid, (payload->>'customer_organization_id')::uuid,
    (payload->>'oraseas_organization_id')::uuid, (payload->>'order_date')::timestamptz,
    (payload->>'expected_delivery_date')::timestamptz, 'requested', performed_by_user_id, payload->>'notes',
    recorded_at, recorded_at
FROM batch WHERE event_type = 'CustomerOrderRequested'
"""

INSERT_ITEMS = f"""
WITH {BATCH}
INSERT INTO customer_order_items (id, customer_order_id, part_id, quantity, unit_price, created_at,
    updated_at)
SELECT {ITEM_ID}, (b.payload->>'order_id')::uuid, (line->>'part_id')::uuid, (line->>'quantity')::numeric,
    (line->>'unit_price')::numeric, b.recorded_at, b.recorded_at
FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
WHERE b.event_type = 'CustomerOrderRequested'
"""

ADD_PROGRESS = f"""
WITH {BATCH},
moved AS (
    SELECT {ITEM_ID} AS id,
        sum(CASE WHEN b.event_type = 'CustomerOrderShipped' THEN (line->>'quantity')::numeric ELSE 0 END)
            AS shipped,
        sum(CASE WHEN b.event_type = 'CustomerOrderReceived' THEN (line->>'quantity')::numeric ELSE 0 END)
            AS received,
        max(b.recorded_at) AS at
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type IN ('CustomerOrderShipped', 'CustomerOrderReceived')
    GROUP BY 1
)
UPDATE customer_order_items i
SET shipped_quantity = i.shipped_quantity + m.shipped, received_quantity = i.received_quantity + m.received,
    updated_at = greatest(i.updated_at, m.at)
FROM moved m WHERE i.id = m.id
"""

# The last status-changing event of each order in the batch wins (events of one order come in order).
SET_STATUS = f"""
WITH {BATCH},
changes AS (
    SELECT DISTINCT ON ((payload->>'order_id')::uuid) (payload->>'order_id')::uuid AS id,
        CASE event_type
            WHEN 'CustomerOrderConfirmed' THEN 'confirmed'
            WHEN 'CustomerOrderShipped' THEN 'shipped'
            WHEN 'CustomerOrderCancelled' THEN 'cancelled'
            WHEN 'CustomerOrderReceived' THEN CASE WHEN (payload->>'completed')::boolean THEN 'received' END
        END AS status,
        CASE WHEN event_type = 'CustomerOrderReceived' AND (payload->>'completed')::boolean
            THEN (payload->>'received_at')::timestamptz END AS delivered,
        recorded_at
    FROM batch
    WHERE event_type IN ('CustomerOrderConfirmed', 'CustomerOrderShipped', 'CustomerOrderCancelled')
       OR (event_type = 'CustomerOrderReceived' AND (payload->>'completed')::boolean)
    ORDER BY (payload->>'order_id')::uuid, writer_xid DESC, position DESC
)
UPDATE customer_orders o
SET status = c.status, actual_delivery_date = coalesce(c.delivered, o.actual_delivery_date),
    updated_at = greatest(o.updated_at, c.recorded_at)
FROM changes c WHERE o.id = c.id
"""

PROJECTION = Projection(
    name="customer_orders",
    tables=(Table("customer_orders"), Table("customer_order_items")),
    statements=(INSERT_ORDERS, INSERT_ITEMS, ADD_PROGRESS, SET_STATUS),
)
