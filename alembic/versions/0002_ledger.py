"""The append-only event log, its seals, and the write side's small working tables.

ledger_events is the only truth. Each row records the writing transaction's
xid8 so readers can follow the log in a commit-safe order without a global
write lock, and a SHA-256 hash chained to the previous event of its stream.
ledger_seals holds periodic digests over the commit-safe order of the whole
log, so a removed, inserted or reordered event is detected across streams.
Triggers make both tables append-only.

ledger_stock_levels, ledger_movement_counts and ledger_idempotency are the
write model's working state: locked per (warehouse, part) while a command is
decided, derivable from the log, never read by clients.

Revision ID: 0002_ledger
Revises: 0001_spec_schema
"""

from alembic import op

revision = "0002_ledger"
down_revision = "0001_spec_schema"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- The writer cannot choose its transaction id: readers rely on it being the real one.
CREATE FUNCTION ledger_stamp_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE TABLE ledger_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL,
    stream_version integer NOT NULL CHECK (stream_version > 0),
    event_type text NOT NULL,
    schema_version smallint NOT NULL DEFAULT 1,
    payload jsonb NOT NULL,
    performed_by_user_id uuid,
    request_id text,
    idempotency_key text,
    correlation_id uuid,
    causation_id uuid,
    recorded_at timestamptz NOT NULL,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    previous_hash bytea NOT NULL CHECK (octet_length(previous_hash) = 32),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT ledger_events_stream_version_uc UNIQUE (stream_id, stream_version)
);
-- The commit-safe order readers follow: (transaction_id, position).
CREATE INDEX ledger_events_commit_order_idx ON ledger_events (transaction_id, position);
CREATE INDEX ledger_events_recorded_at_idx ON ledger_events (recorded_at);

CREATE TRIGGER ledger_events_stamp BEFORE INSERT ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION ledger_stamp_transaction();
CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE TABLE ledger_seals (
    seal_number bigint PRIMARY KEY CHECK (seal_number > 0),
    through_transaction_id xid8 NOT NULL,
    through_position bigint NOT NULL,
    event_count bigint NOT NULL,
    previous_digest bytea NOT NULL CHECK (octet_length(previous_digest) = 32),
    digest bytea NOT NULL CHECK (octet_length(digest) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER ledger_seals_append_only BEFORE UPDATE OR DELETE ON ledger_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_seals_no_truncate BEFORE TRUNCATE ON ledger_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE TABLE ledger_stock_levels (
    warehouse_id uuid NOT NULL,
    part_id uuid NOT NULL,
    on_hand numeric(10, 3) NOT NULL DEFAULT 0,
    PRIMARY KEY (warehouse_id, part_id)
);

-- Sharded by backend so that concurrent writers do not queue on one counter row.
CREATE TABLE ledger_movement_counts (
    year integer NOT NULL,
    shard smallint NOT NULL,
    movements bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (year, shard)
);

CREATE TABLE ledger_idempotency (
    key text PRIMARY KEY,
    request_hash bytea NOT NULL,
    result jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE ledger_idempotency;
DROP TABLE ledger_movement_counts;
DROP TABLE ledger_stock_levels;
DROP TABLE ledger_seals;
DROP TABLE ledger_events;
DROP FUNCTION ledger_stamp_transaction();
DROP FUNCTION ledger_reject_change();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
