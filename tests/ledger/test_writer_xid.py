"""Migrations 0009 and 0016: the writer's xid8 columns are named writer_xid; the stamp (a trigger, then
a DEFAULT with a CHECK) gives every row its writing transaction's xid, both ways."""

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


OTHER_XID = INSERT.replace("previous_hash, hash)", "previous_hash, hash, writer_xid)").replace(
    "'hex'))", "'hex'), '1'::xid8)"
)


def stamp_trigger(conn: Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'ledger_events_stamp'").fetchone()
    return row == (1,)


def test_the_default_stamps_and_refuses_another_xid_where_the_trigger_overwrote_it(
    empty_db_url: str,
) -> None:
    migrate(empty_db_url, "0014_keyset_indexes")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert stamp_trigger(conn)
        assert stamped(conn, "writer_xid", "trigger")
        conn.execute(OTHER_XID, ["overwritten"])  # the trigger corrects it
        assert stamped(conn, "writer_xid", "trigger-again")

    migrate(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert not stamp_trigger(conn)
        assert stamped(conn, "writer_xid", "default")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(OTHER_XID, ["refused"])
        assert conn.execute("SELECT count(*) FROM ledger_events WHERE stream_id = 'refused'").fetchone() == (
            0,
        )

    downgrade(empty_db_url, "0014_keyset_indexes")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert stamp_trigger(conn)
        conn.execute(OTHER_XID, ["overwritten-again"])
        assert stamped(conn, "writer_xid", "trigger-after-downgrade")
        [(ok,)] = conn.execute(
            "SELECT bool_and(writer_xid <> '1'::xid8) FROM ledger_events WHERE stream_id LIKE 'overwritten%%'"
        ).fetchall()
        assert ok
