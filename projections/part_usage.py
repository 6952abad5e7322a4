"""The `part_usage` projection: a row per consumption on a machine, once the consumption takes effect."""

from __future__ import annotations

from projections.projection import EFFECTIVE, Projection, Table

INSERT_USAGE = f"""
WITH {EFFECTIVE}
INSERT INTO part_usage (id, customer_organization_id, part_id, usage_date, quantity, machine_id,
    recorded_by_user_id, warehouse_id, notes, created_at, updated_at)
SELECT (payload->>'transaction_id')::uuid, (payload->>'customer_organization_id')::uuid,
    (payload->>'part_id')::uuid, (payload->>'transaction_date')::timestamptz,
    (payload->>'quantity')::numeric, (payload->>'machine_id')::uuid, performed_by_user_id,
    (payload->>'from_warehouse_id')::uuid, payload->>'notes', recorded_at, recorded_at
FROM effective
WHERE event_type = 'StockConsumed' AND payload->>'machine_id' IS NOT NULL
"""

PROJECTION = Projection(
    name="part_usage",
    tables=(Table("part_usage"),),
    statements=(INSERT_USAGE,),
)
