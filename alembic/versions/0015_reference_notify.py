"""A NOTIFY on `reference_data` after each statement that writes parts, warehouses or organizations.

GET /inventory's pages carry the names of parts, warehouses and organizations (and a warehouse's
organization); each API process keeps rendered pages while the inventory projection's checkpoint
and these tables are unchanged (api/http/stock/page_cache.py), and learns of a change by LISTEN.
The projector already notifies its checkpoint's advance; this is the same for reference data.
Statement-level, so a bulk write sends one notification; delivered at commit, so a write rolled
back sends none. The payload is the table's name.

Revision ID: 0015_reference_notify
Revises: 0014_keyset_indexes
"""

from alembic import op

revision = "0015_reference_notify"
down_revision = "0014_keyset_indexes"
branch_labels = None
depends_on = None

TABLES = ("parts", "warehouses", "organizations")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify_reference_data() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('reference_data', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_reference_data AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION notify_reference_data()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_reference_data ON {table}")
    op.execute("DROP FUNCTION notify_reference_data()")
