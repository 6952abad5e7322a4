"""The writer's xid8 from the column's DEFAULT, checked, instead of a row trigger that overwrote it.

`ledger_events.writer_xid` has defaulted to `pg_current_xact_id()` since 0002, and a BEFORE
INSERT trigger (`ledger_events_stamp`) set it again on every row so that a writer could not
choose it: readers follow the log in the commit-safe order (writer_xid, position) and rely on it
being the real one. A PL/pgSQL call per row is the dearest part of that promise (a stocktake
appends hundreds of rows in one statement); a CHECK that the value is the inserting
transaction's xid keeps the promise at the cost of one comparison: a writer that names another
xid is refused (check_violation) rather than silently corrected, and one that names none gets
the default, as before. Which transaction a row's xid names is unchanged, and so is every
reader (projections/engine, ledger/postgres/reader.py's horizon, snapshots, seals).

The constraint is NOT VALID: rows already in the log were stamped by their own transactions,
whose xids are not the current one; PostgreSQL checks it for every new row all the same, and a
dump restores the rows before it adds the constraint (as it did with the trigger).

Revision ID: 0016_writer_xid_default
Revises: 0015_reference_notify
"""

from alembic import op

revision = "0016_writer_xid_default"
down_revision = "0015_reference_notify"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE ledger_events ALTER COLUMN writer_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE ledger_events ADD CONSTRAINT ledger_events_writer_xid_is_writer
    CHECK (writer_xid = pg_current_xact_id()) NOT VALID;
DROP TRIGGER ledger_events_stamp ON ledger_events;
DROP FUNCTION ledger_stamp_writer_xid();
"""

DOWNGRADE = """
-- The writer cannot choose its transaction id: readers rely on it being the real one.
CREATE FUNCTION ledger_stamp_writer_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.writer_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_events_stamp BEFORE INSERT ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION ledger_stamp_writer_xid();
ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_writer_xid_is_writer;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
