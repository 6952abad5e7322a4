"""The `transactions` projection: a row per movement or order receipt line; decisions keep status current."""

from __future__ import annotations

from projections.engine.projection import (
    BATCH,
    MOVEMENT_EVENTS,
    TRANSACTION_TYPE,
    Projection,
    Table,
    date_corrections,
)

INSERT_MOVEMENTS = f"""
WITH {BATCH}
INSERT INTO transactions (id, transaction_type, part_id, from_warehouse_id, to_warehouse_id, machine_id,
    quantity, unit_of_measure, performed_by_user_id, transaction_date, notes, reference_number,
    requires_approval, approval_status, created_at)
SELECT (payload->>'transaction_id')::uuid, {TRANSACTION_TYPE}, (payload->>'part_id')::uuid,
    (payload->>'from_warehouse_id')::uuid, (payload->>'to_warehouse_id')::uuid,
    (payload->>'machine_id')::uuid, (payload->>'quantity')::numeric, payload->>'unit_of_measure',
    performed_by_user_id, (payload->>'transaction_date')::timestamptz, payload->>'notes',
    payload->>'reference_number', (payload->>'requires_approval')::boolean,
    payload->>'approval_status', recorded_at
FROM batch
WHERE event_type IN ({MOVEMENT_EVENTS})
"""

# A pending movement is approved or rejected at most once, so one decision per movement.
APPLY_DECISIONS = f"""
WITH {BATCH}
UPDATE transactions t
SET approval_status = CASE b.event_type WHEN 'MovementApproved' THEN 'approved' ELSE 'rejected' END
FROM batch b
WHERE b.event_type IN ('MovementApproved', 'MovementRejected')
  AND t.id = (b.payload->>'transaction_id')::uuid
"""

# Each line of a customer order receipt is a transfer from the shipping warehouse to the customer's.
INSERT_ORDER_RECEIPTS = f"""
WITH {BATCH}
INSERT INTO transactions (id, transaction_type, part_id, from_warehouse_id, to_warehouse_id, quantity,
    unit_of_measure, performed_by_user_id, transaction_date, notes, requires_approval, approval_status,
    created_at)
SELECT (line->>'transaction_id')::uuid, 'transfer', (line->>'part_id')::uuid,
    (line->>'from_warehouse_id')::uuid, (b.payload->>'warehouse_id')::uuid, (line->>'quantity')::numeric,
    p.unit_of_measure, b.performed_by_user_id, (b.payload->>'received_at')::timestamptz,
    'customer order ' || (b.payload->>'order_id'), false, 'approved', b.recorded_at
FROM batch b
CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
JOIN parts p ON p.id = (line->>'part_id')::uuid
WHERE b.event_type = 'CustomerOrderReceived'
"""

# An operator's repair of a movement's date (abparts repair-date) replaces the date shown.
CORRECT_DATES = date_corrections("transactions", "transaction_date")

PROJECTION = Projection(
    name="transactions",
    tables=(Table("transactions"),),
    statements=(INSERT_MOVEMENTS, APPLY_DECISIONS, INSERT_ORDER_RECEIPTS, CORRECT_DATES),
)
