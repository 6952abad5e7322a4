"""Reservations against customer orders: reserved stock beside on hand, on both sides of the ledger.

A confirmed customer order may reserve its lines in an Oraseas EE warehouse
(events StockReserved and StockReservationReleased of the order's stream).
The write side's per-(warehouse, part) level gets `reserved` beside `on_hand`,
locked and updated with it, so available = on_hand - reserved is checked
without a global lock. The read side: `inventory.reserved_stock` (kept by the
inventory projection beside current_stock, so one row is never half-updated)
and `stock_reservations`, one row per (order, warehouse, part), kept by the
stock_reservations projection.

Revision ID: 0012_reservations
Revises: 0011_check_runs
"""

from alembic import op

revision = "0012_reservations"
down_revision = "0011_check_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ledger_stock_levels ADD COLUMN reserved numeric(10, 3) NOT NULL DEFAULT 0;
        ALTER TABLE inventory ADD COLUMN reserved_stock DECIMAL(10,3) NOT NULL DEFAULT 0;
        CREATE TABLE stock_reservations (
            id UUID PRIMARY KEY,
            customer_order_id UUID NOT NULL,
            customer_organization_id UUID NOT NULL,
            warehouse_id UUID NOT NULL,
            part_id UUID NOT NULL,
            reserved_quantity DECIMAL(10,3) NOT NULL,
            shipped_quantity DECIMAL(10,3) NOT NULL DEFAULT 0,
            released_quantity DECIMAL(10,3) NOT NULL DEFAULT 0,
            open_quantity DECIMAL(10,3) NOT NULL,
            status VARCHAR(20) NOT NULL,
            reserved_at TIMESTAMP WITH TIME ZONE NOT NULL,
            updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT stock_reservations_status CHECK (status IN ('open', 'closed'))
        );
        CREATE INDEX stock_reservations_open_idx ON stock_reservations (warehouse_id, part_id)
            WHERE status = 'open';
        CREATE INDEX stock_reservations_order_idx ON stock_reservations (customer_order_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE stock_reservations;
        ALTER TABLE inventory DROP COLUMN reserved_stock;
        ALTER TABLE ledger_stock_levels DROP COLUMN reserved;
        """
    )
