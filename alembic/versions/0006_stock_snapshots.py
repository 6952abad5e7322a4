"""Periodic balance snapshots, so stock at a past log position is answered without folding the whole log.

A snapshot at position P holds every (warehouse, part) balance after all
events with position <= P. It is only taken once no transaction that could
still write a position <= P is running: a mark records P (the position
sequence's value) and the next transaction id to be assigned at that moment;
when every transaction older than that id has finished, the mark becomes a
snapshot. Derived data, like the projections: it can be dropped and retaken.

Revision ID: 0006_stock_snapshots
Revises: 0005_order_progress
"""

from alembic import op

revision = "0006_stock_snapshots"
down_revision = "0005_order_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE stock_snapshots (
            position bigint PRIMARY KEY,
            taken_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE stock_snapshot_balances (
            position bigint NOT NULL REFERENCES stock_snapshots(position) ON DELETE CASCADE,
            warehouse_id uuid NOT NULL,
            part_id uuid NOT NULL,
            quantity numeric(16, 3) NOT NULL,
            PRIMARY KEY (position, warehouse_id, part_id)
        );
        CREATE TABLE stock_snapshot_marks (
            position bigint PRIMARY KEY,
            next_transaction_id xid8 NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE stock_snapshot_marks, stock_snapshot_balances, stock_snapshots")
