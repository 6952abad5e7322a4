"""Idempotency keys are kept for a retention, then pruned: the ledger's keys by their age too.

`abparts prune` and the API process's background pruner delete api_idempotency
and ledger_idempotency rows older than ABPARTS_IDEMPOTENCY_RETENTION.
api_idempotency has had an index on created_at since 0004; ledger_idempotency
is keyed by its key only, so without this index each prune would read it all.

Revision ID: 0010_idempotency_retention
Revises: 0009_writer_xid
"""

from alembic import op

revision = "0010_idempotency_retention"
down_revision = "0009_writer_xid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ledger_idempotency_created_idx ON ledger_idempotency (created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ledger_idempotency_created_idx")
