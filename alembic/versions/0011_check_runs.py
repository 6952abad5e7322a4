"""Each run of `abparts verify` and `abparts audit` is kept: when, whether it passed, and a summary.

The ledger page's health view shows the latest of each (GET /ledger/checks); before this table a
check's result lived only on the terminal that ran it. Rows are only ever added, by
api/runtime/check_runs.py, which owns the table.

Revision ID: 0011_check_runs
Revises: 0010_idempotency_retention
"""

from alembic import op

revision = "0011_check_runs"
down_revision = "0010_idempotency_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE check_runs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            check_name text NOT NULL CHECK (check_name IN ('verify', 'audit')),
            started_at timestamptz NOT NULL,
            finished_at timestamptz NOT NULL,
            ok boolean NOT NULL,
            summary text NOT NULL,
            details jsonb NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX check_runs_latest_idx ON check_runs (check_name, finished_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE check_runs")
