"""Order progress on the spec's order tables: per line shipped and received quantities; a supplier's id.

The spec's order item tables hold what was ordered only; the order API must
show per line what was shipped, received and is in transit, so the item
tables get `shipped_quantity` (customer orders) and `received_quantity`
(both), maintained by the order projections. supplier_orders gets a nullable
`supplier_organization_id` beside the spec's free-text `supplier_name`.

Revision ID: 0005_order_progress
Revises: 0004_api_idempotency
"""

from alembic import op

revision = "0005_order_progress"
down_revision = "0004_api_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE customer_order_items
            ADD COLUMN shipped_quantity DECIMAL(10,3) NOT NULL DEFAULT 0,
            ADD COLUMN received_quantity DECIMAL(10,3) NOT NULL DEFAULT 0;
        ALTER TABLE supplier_order_items
            ADD COLUMN received_quantity DECIMAL(10,3) NOT NULL DEFAULT 0;
        ALTER TABLE supplier_orders
            ADD COLUMN supplier_organization_id UUID REFERENCES organizations(id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE supplier_orders DROP COLUMN supplier_organization_id;
        ALTER TABLE supplier_order_items DROP COLUMN received_quantity;
        ALTER TABLE customer_order_items DROP COLUMN shipped_quantity, DROP COLUMN received_quantity;
        """
    )
