"""A keyed command's stored result as `json` (its text as written), not `jsonb`: `ledger_idempotency.result`.

The result is written with the command's events, by the same statement (ledger/postgres/write_sql.py):
its fields come from Python as JSON text, its positions, xid and events from the inserted rows. As
jsonb, PostgreSQL parsed the client's text into its binary form, merged the SQL-built members into it
and stored the merge; a statement-level A/B of that insert (one backend, its CPU from /proc, 12
interleaved rounds of 1,500 commits) measured it about twice the cost of one whose result is the
client's text with the SQL-built members appended as text. A result is read back only by a retry,
as text (context.py): nothing queries into it, so the binary form bought nothing.

Rows already stored are converted by `result::json`, which is jsonb's own text output, the very text
the read-and-lock statement read from them before (`result::text`): a retry of a key stored before
gets the same answer byte for byte. The table is rewritten once (it holds at most
ABPARTS_IDEMPOTENCY_RETENTION's worth of keys). Refusals stay `jsonb` (few, and written apart).

Downgrade converts back with `result::jsonb` (a result written as json parses the same as jsonb).

Revision ID: 0018_ledger_results_as_json
Revises: 0017_ledger_refusals
"""

from alembic import op

revision = "0018_ledger_results_as_json"
down_revision = "0017_ledger_refusals"
branch_labels = None
depends_on = None

UPGRADE = "ALTER TABLE ledger_idempotency ALTER COLUMN result TYPE json USING result::json"
DOWNGRADE = "ALTER TABLE ledger_idempotency ALTER COLUMN result TYPE jsonb USING result::jsonb"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
