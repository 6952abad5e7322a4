"""The projections' bookkeeping: one checkpoint per projection, and the inventory's consumption history.

projection_checkpoints records, per projection, the place in the log's
commit-safe order up to which its read tables are built. A worker writes it in
the same transaction as the read rows, so every event takes effect exactly once.

inventory_consumption_daily is the inventory projection's own working table:
approved consumption per (warehouse, part, day), from which the minimum stock
recommendation is computed without rereading the log.

Revision ID: 0003_projections
Revises: 0002_ledger
"""

from alembic import op

revision = "0003_projections"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE projection_checkpoints (
    name text PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT '0',
    position bigint NOT NULL DEFAULT 0,
    events_applied bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inventory_consumption_daily (
    warehouse_id uuid NOT NULL,
    part_id uuid NOT NULL,
    day date NOT NULL,
    quantity numeric(16, 3) NOT NULL,
    PRIMARY KEY (warehouse_id, part_id, day)
);
"""

DOWNGRADE = """
DROP SCHEMA IF EXISTS abparts_rebuild CASCADE;
DROP TABLE inventory_consumption_daily;
DROP TABLE projection_checkpoints;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
