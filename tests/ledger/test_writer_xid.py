"""Migration 0009: the writer's xid8 columns are named writer_xid, and the stamp trigger follows them."""

from __future__ import annotations

import psycopg
import pytest

from api.runtime.database import downgrade, migrate
from ledger.postgres.connection import Connection

pytestmark = pytest.mark.db

XID_COLUMNS = {
    ("ledger_events", "writer_xid"),
    ("ledger_seals", "through_writer_xid"),
    ("projection_checkpoints", "writer_xid"),
    ("stock_snapshot_marks", "next_writer_xid"),
}
OLD_XID_COLUMNS = {(table, column.replace("writer_xid", "transaction_id")) for table, column in XID_COLUMNS}

INSERT = """
INSERT INTO ledger_events (stream_id, stream_version, event_type, payload, recorded_at, previous_hash, hash)
VALUES (%s, 1, 'X', '{}', now(), decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))
"""


def xid_columns(conn: Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = 'xid8'"
    ).fetchall()
    return {(str(table), str(column)) for table, column in rows}


def stamped(conn: Connection, column: str, stream: str) -> bool:
    with conn.transaction():
        conn.execute(INSERT, [stream])
        row = conn.execute(
            f"SELECT {column} = pg_current_xact_id() FROM ledger_events WHERE stream_id = %s", [stream]
        ).fetchone()
    return row == (True,)


def test_the_xid_columns_are_named_writer_xid_at_head(conn: Connection) -> None:
    assert xid_columns(conn) == XID_COLUMNS


def test_the_rename_keeps_stamped_rows_and_the_stamp_both_ways(empty_db_url: str) -> None:
    migrate(empty_db_url, "0008_snapshot_recorded_range")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert xid_columns(conn) == OLD_XID_COLUMNS
        assert stamped(conn, "transaction_id", "before")
        [(before,)] = conn.execute("SELECT transaction_id::text FROM ledger_events").fetchall()

    migrate(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert xid_columns(conn) == XID_COLUMNS
        assert conn.execute(
            "SELECT writer_xid::text FROM ledger_events WHERE stream_id = 'before'"
        ).fetchall() == [(before,)]
        assert stamped(conn, "writer_xid", "after")

    downgrade(empty_db_url, "0008_snapshot_recorded_range")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert xid_columns(conn) == OLD_XID_COLUMNS
        assert stamped(conn, "transaction_id", "downgraded")
