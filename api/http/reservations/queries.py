"""The stock reservations read, scoped: a reservation is visible from its warehouse's organization and
from the customer whose order holds it. Newest first, keyset-paged by (reserved_at, id)."""

from __future__ import annotations

RESERVATIONS = """
SELECT r.id, r.customer_order_id, r.customer_organization_id, r.warehouse_id, r.part_id,
    r.reserved_quantity, r.shipped_quantity, r.released_quantity, r.open_quantity, r.status,
    r.reserved_at, r.updated_at, p.part_number, p.name AS part_name, p.unit_of_measure,
    w.name AS warehouse_name, c.name AS customer_organization_name
FROM stock_reservations r
JOIN warehouses w ON w.id = r.warehouse_id
JOIN parts p ON p.id = r.part_id
JOIN organizations c ON c.id = r.customer_organization_id
WHERE (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s)
       OR r.customer_organization_id = ANY(%(scope)s))
  AND (%(status)s::text IS NULL OR r.status = %(status)s)
  AND (%(warehouse_id)s::uuid IS NULL OR r.warehouse_id = %(warehouse_id)s)
  AND (%(part_id)s::uuid IS NULL OR r.part_id = %(part_id)s)
  AND (%(customer_order_id)s::uuid IS NULL OR r.customer_order_id = %(customer_order_id)s)
  AND (%(after_date)s::timestamptz IS NULL OR (r.reserved_at, r.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY r.reserved_at DESC, r.id DESC
LIMIT %(limit)s
"""
