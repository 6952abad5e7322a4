"""The `part_usage` projection: a row per consumption on a machine while it stands.

A row appears once the consumption takes effect (recorded approved, or approved
later) and goes when the consumption is reversed: the parts went back to the
warehouse, so the machine did not use them (the reversal itself stays in
`transactions` and `stock_adjustments`). The batch's statements run in this
order, so a consumption and its reversal in one batch leave no row.
"""

from __future__ import annotations

from projections.engine.projection import BATCH, EFFECTIVE, Projection, Table, concerning, date_corrections

INSERT_USAGE = concerning(
    ("StockConsumed", "MovementApproved"),
    f"""
WITH {EFFECTIVE}
INSERT INTO part_usage (id, customer_organization_id, part_id, usage_date, quantity, machine_id,
    recorded_by_user_id, warehouse_id, notes, created_at, updated_at)
SELECT (payload->>'transaction_id')::uuid, (payload->>'customer_organization_id')::uuid,
    (payload->>'part_id')::uuid, (payload->>'transaction_date')::timestamptz,
    (payload->>'quantity')::numeric, (payload->>'machine_id')::uuid, performed_by_user_id,
    (payload->>'from_warehouse_id')::uuid, payload->>'notes', recorded_at, recorded_at
FROM effective
WHERE event_type = 'StockConsumed' AND payload->>'machine_id' IS NOT NULL
""",
)

DELETE_REVERSED = f"""
WITH {BATCH}
DELETE FROM part_usage u
USING batch b
WHERE b.event_type = 'MovementReversed' AND u.id = (b.payload->>'transaction_id')::uuid
"""

# An operator's repair of a movement's date (abparts repair-date) replaces the date shown.
CORRECT_DATES = date_corrections("part_usage", "usage_date")

PROJECTION = Projection(
    name="part_usage",
    tables=(Table("part_usage"),),
    statements=(INSERT_USAGE, DELETE_REVERSED, CORRECT_DATES),
)
