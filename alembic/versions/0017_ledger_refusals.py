"""A keyed command's refusal kept under its idempotency key, beside the results: `ledger_idempotency.refusal`.

The stock command routes no longer have the HTTP middleware claim and keep their Idempotency-Key
(api/http/middleware/idempotency.py): the ledger is their only keeper, in the command's own
transaction. A success was kept there already (`result`, a CommandResult); a refusal (a LedgerError:
insufficient stock, a version conflict, ...) is now kept there too, so that a retry gets the same
refusal even after the state changed. A row holds exactly one of the two: `result`, or `refusal`,
a versioned record (`{"version": 1, "code", "message", "details": [[name, value], ...],
"request_id"}`, see ledger/postgres/idempotency.py) from which the same LedgerError is rebuilt.

Downgrade forgets the kept refusals (the older version cannot read them): their retries run again,
as the commands of a key that was never kept.

Revision ID: 0017_ledger_refusals
Revises: 0016_writer_xid_default
"""

from alembic import op

revision = "0017_ledger_refusals"
down_revision = "0016_writer_xid_default"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE ledger_idempotency ALTER COLUMN result DROP NOT NULL;
ALTER TABLE ledger_idempotency ADD COLUMN refusal jsonb;
ALTER TABLE ledger_idempotency ADD CONSTRAINT ledger_idempotency_one_outcome
    CHECK ((result IS NULL) <> (refusal IS NULL));
"""

DOWNGRADE = """
DELETE FROM ledger_idempotency WHERE refusal IS NOT NULL;
ALTER TABLE ledger_idempotency DROP CONSTRAINT ledger_idempotency_one_outcome;
ALTER TABLE ledger_idempotency DROP COLUMN refusal;
ALTER TABLE ledger_idempotency ALTER COLUMN result SET NOT NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
