"""`ledger_happened_at` in PL/pgSQL: the same expression, evaluated for a fraction of the cost.

The SQL function of 0013 is never inlined: its body casts text to timestamptz, a STABLE cast, and
PostgreSQL refuses to inline a mutable body into an IMMUTABLE function. So every row the index
`ledger_events_happened_at_idx` takes (every movement appended) and every row an as-of query reads
ran it as a SQL function call of its own, an executor started and stopped per call: about 5 µs a
row, 1 ms of a 200-part stocktake's insert. In PL/pgSQL the body is one simple expression, which
PL/pgSQL evaluates with its cached plan: about 1.5 µs a row. The expression, its types and its
volatility are unchanged, so the index, its predicate and the queries that repeat its expression
stay as they are (no reindex: each value is the same).

Revision ID: 0018_happened_at_plpgsql
Revises: 0017_ledger_refusals
"""

from alembic import op

revision = "0018_happened_at_plpgsql"
down_revision = "0017_ledger_refusals"
branch_labels = None
depends_on = None

HAPPENED = """
        CASE
        WHEN event_type IN ('StockCreated', 'StockTransferred', 'StockConsumed', 'StockAdjusted')
            THEN (payload->>'transaction_date')::timestamptz
        WHEN event_type = 'MovementApproved' THEN recorded_at
        WHEN event_type = 'CustomerOrderShipped' THEN (payload->>'shipped_at')::timestamptz
        WHEN event_type = 'CustomerOrderReceived' THEN (payload->>'received_at')::timestamptz
        END"""

SIGNATURE = (
    "CREATE OR REPLACE FUNCTION ledger_happened_at(event_type text, payload jsonb, recorded_at timestamptz)"
    " RETURNS timestamptz"
)

UPGRADE = f"""
{SIGNATURE} LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN {HAPPENED};
END
$$;
"""

DOWNGRADE = f"""
{SIGNATURE} LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT {HAPPENED}
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
