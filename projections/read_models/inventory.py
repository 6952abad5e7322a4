"""The `inventory` projection: current stock per (warehouse, part) and its minimum stock recommendation.

`current_stock` is the sum of the stock changes of every movement that took
effect (recorded approved, or approved later) and of customer order
shipments (out) and receipts (in); `last_updated` is when the latest of them
was recorded. A row exists once any movement has touched its
(warehouse, part), even when the stock is back at zero.

`reserved_stock` is what customer orders hold reserved there: reservations
(StockReserved) add to it, releases (StockReservationReleased: shipped or
cancelled) take from it; available = current_stock - reserved_stock. It lives in
the same row as current_stock so a read never sees one updated without the other.

Minimum stock recommendation, recomputed whenever a consumption out of the
row's warehouse takes effect (unless someone set it by hand, i.e.
`reorder_threshold_set_by` is neither NULL nor 'system'):

    daily rate     = consumption in the 90 days up to the latest consumption day / 90
    lead time      = manufacturer_delivery_time_days for proprietary parts,
                     local_supplier_delivery_time_days otherwise (14 days when unknown)
    recommendation = daily rate x (lead time + 7 days of safety stock),
                     rounded up to whole units for consumables, to 0.001 for bulk material

The window is anchored on the data, not the clock, so a rebuild reproduces it.
It uses the part's lead time as it is when the recommendation is computed.
"""

from __future__ import annotations

from projections.engine.projection import (
    BATCH,
    EFFECTIVE,
    INVENTORY_ID,
    STOCK_CHANGES,
    Projection,
    Table,
    concerning,
)

WINDOW_DAYS = 90
SAFETY_DAYS = 7
DEFAULT_LEAD_DAYS = 14

ADD_RESERVED = f"""
WITH {BATCH},
held AS (
    SELECT (b.payload->>'warehouse_id')::uuid AS warehouse_id, (line->>'part_id')::uuid AS part_id,
        sum(CASE WHEN b.event_type = 'StockReserved' THEN (line->>'quantity')::numeric
                 ELSE -(line->>'quantity')::numeric END) AS delta,
        max(b.recorded_at) AS last_at, min(b.recorded_at) AS first_at
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type IN ('StockReserved', 'StockReservationReleased')
    GROUP BY 1, 2
)
INSERT INTO inventory AS i (id, warehouse_id, part_id, current_stock, reserved_stock, unit_of_measure,
    last_updated, created_at)
SELECT {INVENTORY_ID.format(warehouse="h.warehouse_id", part="h.part_id")}, h.warehouse_id, h.part_id, 0,
    h.delta, p.unit_of_measure, h.last_at, h.first_at
FROM held h JOIN parts p ON p.id = h.part_id
ON CONFLICT (warehouse_id, part_id) DO UPDATE
SET reserved_stock = i.reserved_stock + EXCLUDED.reserved_stock,
    last_updated = greatest(i.last_updated, EXCLUDED.last_updated),
    created_at = least(i.created_at, EXCLUDED.created_at)
"""

ADD_CONSUMPTION = concerning(
    ("StockConsumed", "MovementApproved"),
    f"""
WITH {EFFECTIVE}
INSERT INTO inventory_consumption_daily AS d (warehouse_id, part_id, day, quantity)
SELECT (payload->>'from_warehouse_id')::uuid, (payload->>'part_id')::uuid,
    ((payload->>'transaction_date')::timestamptz AT TIME ZONE 'UTC')::date,
    sum((payload->>'quantity')::numeric)
FROM effective
WHERE event_type = 'StockConsumed'
GROUP BY 1, 2, 3
ON CONFLICT (warehouse_id, part_id, day) DO UPDATE SET quantity = d.quantity + EXCLUDED.quantity
""",
)

# After ADD_CONSUMPTION (it reads the daily totals that statement wrote). The stock and the
# recommendation go in one upsert: every (warehouse, part) a consumption recommends for is one whose
# stock the batch changes, and a second pass over the rows would check their foreign keys again.
RECOMMENDED_UNLESS_SET = (
    "EXCLUDED.reorder_threshold_set_by = 'system'"
    " AND (i.reorder_threshold_set_by IS NULL OR i.reorder_threshold_set_by = 'system')"
)
ADD_STOCK = f"""
WITH {STOCK_CHANGES},
touched AS (
    SELECT (payload->>'from_warehouse_id')::uuid AS warehouse_id, (payload->>'part_id')::uuid AS part_id,
        max(recorded_at) AS recorded_at
    FROM effective WHERE event_type = 'StockConsumed'
    GROUP BY 1, 2
),
rates AS (
    SELECT t.warehouse_id, t.part_id, t.recorded_at,
        (SELECT sum(d.quantity) FROM inventory_consumption_daily d
         WHERE d.warehouse_id = t.warehouse_id AND d.part_id = t.part_id
           AND d.day > last.day - {WINDOW_DAYS}) / {WINDOW_DAYS} AS daily
    FROM touched t
    CROSS JOIN LATERAL (
        SELECT max(day) AS day FROM inventory_consumption_daily d
        WHERE d.warehouse_id = t.warehouse_id AND d.part_id = t.part_id
    ) last
),
recommended AS (
    SELECT r.warehouse_id, r.part_id, r.recorded_at,
        least(9999999.999, CASE p.part_type
            WHEN 'consumable' THEN ceil(r.daily * (lead.days + {SAFETY_DAYS}))
            ELSE ceil(r.daily * (lead.days + {SAFETY_DAYS}) * 1000) / 1000 END) AS quantity
    FROM rates r JOIN parts p ON p.id = r.part_id
    CROSS JOIN LATERAL (
        SELECT coalesce(CASE WHEN p.is_proprietary THEN p.manufacturer_delivery_time_days
                             ELSE p.local_supplier_delivery_time_days END, {DEFAULT_LEAD_DAYS}) AS days
    ) lead
),
stock AS (
    SELECT c.warehouse_id, c.part_id, sum(c.delta) AS delta, p.unit_of_measure,
        max(c.recorded_at) AS last_updated, min(c.recorded_at) AS created_at
    FROM changes c JOIN parts p ON p.id = c.part_id
    GROUP BY c.warehouse_id, c.part_id, p.unit_of_measure
)
INSERT INTO inventory AS i (id, warehouse_id, part_id, current_stock, unit_of_measure, last_updated,
    created_at, minimum_stock_recommendation, reorder_threshold_set_by, last_recommendation_update)
SELECT {INVENTORY_ID.format(warehouse="s.warehouse_id", part="s.part_id")}, s.warehouse_id, s.part_id,
    s.delta, s.unit_of_measure, s.last_updated, s.created_at,
    -- A new row: recommended by a consumption of the batch, or the columns' defaults.
    coalesce(r.quantity, 0), CASE WHEN r.warehouse_id IS NOT NULL THEN 'system' END, r.recorded_at
FROM stock s LEFT JOIN recommended r ON r.warehouse_id = s.warehouse_id AND r.part_id = s.part_id
ON CONFLICT (warehouse_id, part_id) DO UPDATE
SET current_stock = i.current_stock + EXCLUDED.current_stock,
    last_updated = greatest(i.last_updated, EXCLUDED.last_updated),
    -- Commit order and recorded_at order can differ: the earliest wins, however events were batched.
    created_at = least(i.created_at, EXCLUDED.created_at),
    -- Recommended (EXCLUDED says 'system') unless someone set the threshold by hand.
    minimum_stock_recommendation = CASE WHEN {RECOMMENDED_UNLESS_SET}
        THEN EXCLUDED.minimum_stock_recommendation ELSE i.minimum_stock_recommendation END,
    reorder_threshold_set_by = CASE WHEN {RECOMMENDED_UNLESS_SET}
        THEN 'system' ELSE i.reorder_threshold_set_by END,
    last_recommendation_update = CASE WHEN {RECOMMENDED_UNLESS_SET}
        THEN greatest(i.last_recommendation_update, EXCLUDED.last_recommendation_update)
        ELSE i.last_recommendation_update END
"""

PROJECTION = Projection(
    name="inventory",
    tables=(
        # The recommendation uses the part's current lead time, which is reference data, not the log:
        # verify compares the stock, not the recommendation.
        Table(
            "inventory",
            not_compared=(
                "minimum_stock_recommendation",
                "reorder_threshold_set_by",
                "last_recommendation_update",
            ),
        ),
        Table("inventory_consumption_daily", key=("warehouse_id", "part_id", "day")),
    ),
    statements=(ADD_CONSUMPTION, ADD_STOCK, ADD_RESERVED),
)
