"""The `stock_reservations` projection: what customer orders hold reserved, per (order, warehouse, part).

A row appears when a confirmation reserves (StockReserved): `reserved_quantity`
is what was set aside. Releases (StockReservationReleased) add to
`shipped_quantity` (a shipment consumed it) or `released_quantity` (the order
was cancelled); `open_quantity` is what is still held and `status` is `open`
while it is above zero, `closed` after. Row ids derive from (order, warehouse,
part), timestamps from the log, so a rebuild reproduces every row. The sum of
the open quantities of a (warehouse, part) is inventory's `reserved_stock`.
"""

from __future__ import annotations

from projections.engine.projection import BATCH, Projection, Table

RESERVATION_ID = (
    "md5((b.payload->>'order_id') || '/' || (b.payload->>'warehouse_id') || '/' || (line->>'part_id'))::uuid"
)

INSERT_RESERVED = f"""
WITH {BATCH}
INSERT INTO stock_reservations AS s (id, customer_order_id, customer_organization_id, warehouse_id, part_id,
    reserved_quantity, open_quantity, status, reserved_at, updated_at)
SELECT {RESERVATION_ID}, (b.payload->>'order_id')::uuid, (b.payload->>'customer_organization_id')::uuid,
    (b.payload->>'warehouse_id')::uuid, (line->>'part_id')::uuid, (line->>'quantity')::numeric,
    (line->>'quantity')::numeric, 'open', (b.payload->>'reserved_at')::timestamptz, b.recorded_at
FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
WHERE b.event_type = 'StockReserved'
ON CONFLICT (id) DO UPDATE
SET reserved_quantity = s.reserved_quantity + EXCLUDED.reserved_quantity,
    open_quantity = s.open_quantity + EXCLUDED.open_quantity, status = 'open',
    updated_at = greatest(s.updated_at, EXCLUDED.updated_at)
"""

RELEASE = f"""
WITH {BATCH},
released AS (
    SELECT {RESERVATION_ID} AS id,
        sum((line->>'quantity')::numeric) FILTER (WHERE b.payload->>'reason' = 'shipped') AS shipped,
        sum((line->>'quantity')::numeric) FILTER (WHERE b.payload->>'reason' = 'cancelled') AS released,
        max(b.recorded_at) AS at
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type = 'StockReservationReleased'
    GROUP BY 1
)
UPDATE stock_reservations s
SET shipped_quantity = s.shipped_quantity + r.shipped, released_quantity = s.released_quantity + r.released,
    open_quantity = s.open_quantity - r.shipped - r.released,
    status = CASE WHEN s.open_quantity - r.shipped - r.released > 0 THEN 'open' ELSE 'closed' END,
    updated_at = greatest(s.updated_at, r.at)
FROM (SELECT id, coalesce(shipped, 0) AS shipped, coalesce(released, 0) AS released, at FROM released) r
WHERE s.id = r.id
"""

PROJECTION = Projection(
    name="stock_reservations",
    tables=(Table("stock_reservations"),),
    statements=(INSERT_RESERVED, RELEASE),
)
