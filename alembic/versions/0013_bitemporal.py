"""Stock as it happened: each stock change's date, indexed, and what each balance snapshot covers in it.

A stock change happened on its movement's `transaction_date`; a held movement's
change on its approval (`MovementApproved`'s recorded_at: held stock moves when
approved); a customer order's shipment on `shipped_at`, its receipt on
`received_at`. `ledger_happened_at(event_type, payload, recorded_at)` says so,
for the index and for every query that must use it (the same expression, so
the planner matches the index). The ledger writes every date in UTC with its
offset, so the text-to-timestamptz cast does not depend on the session's time
zone, which is what lets the function be IMMUTABLE.

Stock happened by D (and recorded by K) then starts from the latest snapshot
whose events all happened by D (`happened_through`, the latest date at or below
it, only grows with position) and adds the later events happened by D, found
in the index between the earliest date of the snapshots above it
(`first_happened_at`) and D. A backdated movement is one more row in that
index, not a repost of the rows after it. Existing snapshots are described
from the log here.

Revision ID: 0013_bitemporal
Revises: 0012_reservations
"""

from alembic import op

revision = "0013_bitemporal"
down_revision = "0012_reservations"
branch_labels = None
depends_on = None

DATED = (
    "'StockCreated', 'StockTransferred', 'StockConsumed', 'StockAdjusted', 'MovementApproved',"
    " 'CustomerOrderShipped', 'CustomerOrderReceived'"
)

UPGRADE = f"""
CREATE FUNCTION ledger_happened_at(event_type text, payload jsonb, recorded_at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN event_type IN ('StockCreated', 'StockTransferred', 'StockConsumed', 'StockAdjusted')
            THEN (payload->>'transaction_date')::timestamptz
        WHEN event_type = 'MovementApproved' THEN recorded_at
        WHEN event_type = 'CustomerOrderShipped' THEN (payload->>'shipped_at')::timestamptz
        WHEN event_type = 'CustomerOrderReceived' THEN (payload->>'received_at')::timestamptz
    END
$$;

CREATE INDEX ledger_events_happened_at_idx
    ON ledger_events (ledger_happened_at(event_type, payload, recorded_at), position)
    WHERE event_type IN ({DATED});

ALTER TABLE stock_snapshots
    ADD COLUMN first_happened_at timestamptz,
    ADD COLUMN happened_through timestamptz;

WITH ranges AS (
    SELECT s.position,
        coalesce(min(ledger_happened_at(e.event_type, e.payload, e.recorded_at)), 'infinity') AS first_at,
        coalesce(max(ledger_happened_at(e.event_type, e.payload, e.recorded_at)), '-infinity') AS last_at
    FROM stock_snapshots s
    LEFT JOIN ledger_events e ON e.position > s.previous_position AND e.position <= s.position
        AND e.event_type IN ({DATED})
    GROUP BY s.position
),
described AS (
    SELECT position, first_at, max(last_at) OVER (ORDER BY position) AS through FROM ranges
)
UPDATE stock_snapshots s SET first_happened_at = d.first_at, happened_through = d.through
FROM described d WHERE d.position = s.position;

ALTER TABLE stock_snapshots
    ALTER COLUMN first_happened_at SET NOT NULL,
    ALTER COLUMN happened_through SET NOT NULL;
"""

DOWNGRADE = """
ALTER TABLE stock_snapshots DROP COLUMN first_happened_at, DROP COLUMN happened_through;
DROP INDEX ledger_events_happened_at_idx;
DROP FUNCTION ledger_happened_at(text, jsonb, timestamptz);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
