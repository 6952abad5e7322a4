"""Emails are unique whatever their case: a unique index on lower(email).

The spec's `email VARCHAR(255) UNIQUE` lets `Ann@example.com` and
`ann@example.com` be two accounts, and sign-in by email would then depend on
how the user typed it. Emails keep the case they were given; uniqueness and
lookups go through lower(email). An existing database holding two emails that
differ only in case makes this migration fail with the duplicate named, for an
operator to resolve: nothing is merged silently.

Revision ID: 0007_users_email_ci
Revises: 0006_stock_snapshots
"""

from alembic import op

revision = "0007_users_email_ci"
down_revision = "0006_stock_snapshots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))")


def downgrade() -> None:
    op.execute("DROP INDEX users_email_lower_key")
