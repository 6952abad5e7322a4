"""Idempotency of the HTTP API: the first response to each (caller, Idempotency-Key), kept for replays.

Ledger commands are idempotent in the ledger itself (ledger_idempotency, in the
append's transaction); this table covers every other state-changing request
and lets any retry get the first answer back without reaching the handler.

Revision ID: 0004_api_idempotency
Revises: 0003_projections
"""

from alembic import op

revision = "0004_api_idempotency"
down_revision = "0003_projections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_idempotency (
            key bytea PRIMARY KEY,
            fingerprint bytea NOT NULL,
            status_code integer,
            headers jsonb,
            body bytea,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX api_idempotency_created_idx ON api_idempotency (created_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE api_idempotency")
