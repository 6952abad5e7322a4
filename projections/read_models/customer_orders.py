"""The `customer_orders` projection: orders and their lines, with shipped and received quantities per line.

An order's status follows its events: requested, confirmed, shipped (after
the first shipment), received (once everything ordered is received), or
cancelled. Line ids derive from (order, part): a part appears once per order.
"""

from __future__ import annotations

from projections.engine.projection import BATCH, Projection, Table
from projections.read_models.order_statements import ITEM_ID, insert_items, set_status

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

INSERT_ITEMS = insert_items("customer_order_items", "customer_order_id", "CustomerOrderRequested")

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
SET_STATUS = set_status(
    "customer_orders",
    """
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
""",
)

PROJECTION = Projection(
    name="customer_orders",
    tables=(Table("customer_orders"), Table("customer_order_items")),
    statements=(INSERT_ORDERS, INSERT_ITEMS, ADD_PROGRESS, SET_STATUS),
)
