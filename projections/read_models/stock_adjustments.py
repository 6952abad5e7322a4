"""The `stock_adjustments` projection: a row per adjustment or stocktake difference that takes effect.

`quantity_adjusted` is signed (negative for a decrease); the row points at the
inventory row of its (warehouse, part), whose id is derived from that pair.
"""

from __future__ import annotations

from projections.engine.projection import (
    EFFECTIVE,
    INVENTORY_ID,
    Projection,
    Table,
    concerning,
    date_corrections,
)

WAREHOUSE = "coalesce(payload->>'from_warehouse_id', payload->>'to_warehouse_id')::uuid"

INSERT_ADJUSTMENTS = concerning(
    ("StockAdjusted", "MovementApproved"),
    f"""
WITH {EFFECTIVE}
INSERT INTO stock_adjustments (id, inventory_id, user_id, adjustment_date, quantity_adjusted,
    reason_code, notes, created_at, updated_at)
SELECT (payload->>'transaction_id')::uuid,
    {INVENTORY_ID.format(warehouse=WAREHOUSE, part="(payload->>'part_id')::uuid")},
    performed_by_user_id, (payload->>'transaction_date')::timestamptz,
    CASE WHEN payload->>'from_warehouse_id' IS NOT NULL
        THEN -(payload->>'quantity')::numeric ELSE (payload->>'quantity')::numeric END,
    payload->>'reason_code', payload->>'notes', recorded_at, recorded_at
FROM effective
WHERE event_type = 'StockAdjusted'
""",
)

# An operator's repair of a movement's date (abparts repair-date) replaces the date shown.
CORRECT_DATES = date_corrections("stock_adjustments", "adjustment_date")

PROJECTION = Projection(
    name="stock_adjustments",
    tables=(Table("stock_adjustments"),),
    statements=(INSERT_ADJUSTMENTS, CORRECT_DATES),
    depends_on=("inventory",),  # its rows refer to inventory rows
)
