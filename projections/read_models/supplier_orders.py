"""The `supplier_orders` projection: Oraseas EE's orders to suppliers, with received quantities per line.

Status: requested, ordered, received (once everything ordered is received)
or cancelled. The stock itself arrives through the receipt's creation
movements, which the inventory and transactions projections apply.
"""

from __future__ import annotations

from projections.engine.projection import BATCH, Projection, Table
from projections.read_models.order_statements import ITEM_ID, insert_items, set_status

INSERT_ORDERS = f"""
WITH {BATCH}
INSERT INTO supplier_orders (id, ordering_organization_id, supplier_name, supplier_organization_id,
    order_date,
    expected_delivery_date, status, notes, created_at, updated_at)
SELECT (payload->>'order_id')::uuid, (payload->>'ordering_organization_id')::uuid, payload->>'supplier_name',
    (payload->>'supplier_organization_id')::uuid, (payload->>'order_date')::timestamptz,
    (payload->>'expected_delivery_date')::timestamptz, 'requested', payload->>'notes', recorded_at,
        recorded_at
FROM batch WHERE event_type = 'SupplierOrderRequested'
"""

INSERT_ITEMS = insert_items("supplier_order_items", "supplier_order_id", "SupplierOrderRequested")

ADD_RECEIVED = f"""
WITH {BATCH},
moved AS (
    SELECT {ITEM_ID} AS id, sum((line->>'quantity')::numeric) AS received, max(b.recorded_at) AS at
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type = 'SupplierOrderReceived'
    GROUP BY 1
)
UPDATE supplier_order_items i
SET received_quantity = i.received_quantity + m.received, updated_at = greatest(i.updated_at, m.at)
FROM moved m WHERE i.id = m.id
"""

SET_STATUS = set_status(
    "supplier_orders",
    """
        CASE event_type
            WHEN 'SupplierOrderPlaced' THEN 'ordered'
            WHEN 'SupplierOrderCancelled' THEN 'cancelled'
            ELSE 'received'
        END AS status,
        CASE WHEN event_type = 'SupplierOrderReceived' THEN (payload->>'received_at')::timestamptz END
            AS delivered,
        recorded_at
    FROM batch
    WHERE event_type IN ('SupplierOrderPlaced', 'SupplierOrderCancelled')
       OR (event_type = 'SupplierOrderReceived' AND (payload->>'completed')::boolean)
""",
)

PROJECTION = Projection(
    name="supplier_orders",
    tables=(Table("supplier_orders"), Table("supplier_order_items")),
    statements=(INSERT_ORDERS, INSERT_ITEMS, ADD_RECEIVED, SET_STATUS),
)
