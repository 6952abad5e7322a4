"""One name, one meaning: the writing transaction's xid8 is `writer_xid`, never `transaction_id`.

`ledger_events.transaction_id` was the writer's xid8 while `payload->>'transaction_id'`
is a movement's id (a `transactions` row), often in the same statement. The xid
columns are renamed: `ledger_events.writer_xid`, `projection_checkpoints.writer_xid`,
`ledger_seals.through_writer_xid`, `stock_snapshot_marks.next_writer_xid`; the stamp
trigger's function sets the new name, under a name that says so. Indexes follow
their columns. A rebuild's shadow checkpoints (schema abparts_rebuild, if an
interrupted rebuild left them) are renamed too, so the rebuild can resume.

Revision ID: 0009_writer_xid
Revises: 0008_snapshot_recorded_range
"""

from alembic import op

revision = "0009_writer_xid"
down_revision = "0008_snapshot_recorded_range"
branch_labels = None
depends_on = None


def _rename(old: str, new: str, stamp_function: str, new_function: str) -> str:
    return f"""
ALTER TABLE ledger_events RENAME COLUMN {old} TO {new};
ALTER TABLE projection_checkpoints RENAME COLUMN {old} TO {new};
ALTER TABLE ledger_seals RENAME COLUMN through_{old} TO through_{new};
ALTER TABLE stock_snapshot_marks RENAME COLUMN next_{old} TO next_{new};
DO $$
BEGIN
    IF to_regclass('abparts_rebuild.projection_checkpoints') IS NOT NULL THEN
        ALTER TABLE abparts_rebuild.projection_checkpoints RENAME COLUMN {old} TO {new};
    END IF;
END $$;
ALTER FUNCTION {stamp_function}() RENAME TO {new_function};
-- The writer cannot choose its transaction id: readers rely on it being the real one.
CREATE OR REPLACE FUNCTION {new_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.{new} := pg_current_xact_id();
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.execute(_rename("transaction_id", "writer_xid", "ledger_stamp_transaction", "ledger_stamp_writer_xid"))


def downgrade() -> None:
    op.execute(_rename("writer_xid", "transaction_id", "ledger_stamp_writer_xid", "ledger_stamp_transaction"))
