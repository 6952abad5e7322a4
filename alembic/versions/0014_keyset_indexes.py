"""An index for each newest-first list's keyset order: (moment, id), so a page is an index range scan.

The lists of movements, part usage, adjustments, approvals and orders are read newest first by
(moment, id) after the cursor's key (api/http/stock/queries.py, api/http/orders/queries.py).
The spec's indexes are on the moment alone, so each page sorted the rows of equal moments (an
incremental sort) or, with a filter, the whole table; with the id in the index a page is read in
order and stops at LIMIT. tests/api/test_keyset_plans.py EXPLAINs each list. The inventory's
order (warehouse_id, part_id) is served by the spec's idx_inventory_warehouse_part already.

Revision ID: 0014_keyset_indexes
Revises: 0013_bitemporal
"""

from alembic import op

revision = "0014_keyset_indexes"
down_revision = "0013_bitemporal"
branch_labels = None
depends_on = None

INDEXES = {
    "idx_transactions_keyset": "transactions (transaction_date, id)",
    "idx_part_usage_keyset": "part_usage (usage_date, id)",
    "idx_stock_adjustments_keyset": "stock_adjustments (adjustment_date, id)",
    "idx_transaction_approvals_keyset": "transaction_approvals (created_at, id)",
    "idx_customer_orders_keyset": "customer_orders (order_date, id)",
    "idx_supplier_orders_keyset": "supplier_orders (order_date, id)",
}


def upgrade() -> None:
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
