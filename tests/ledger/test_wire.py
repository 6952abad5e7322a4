"""A batch's statements on libpq's pipeline (ledger/postgres/wire.py): prepared once per connection,
prepared again when the connection forgot them, and read back as the values psycopg's cursors give."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

import psycopg
import pytest
from psycopg import pq

from ledger.commands import CreateStock
from ledger.policy import Policy
from ledger.postgres.context import Wanted, load_and_lock
from ledger.postgres.eventstore import load_streams
from ledger.postgres.pipelined import pipelined
from ledger.postgres.service import PostgresLedger
from ledger.postgres.wire import Statement, execute
from ledger.recorded import CommandMetadata
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db
D = Decimal


def create(site: Site, quantity: str = "1") -> CreateStock:
    return CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(quantity))


def parses(conn: Conn, ledger: PostgresLedger, site: Site) -> int:
    """How many Parse messages one command sends (statements being prepared)."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            ledger.execute(conn, create(site), CommandMetadata(performed_by_user_id=site.user))
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if line.startswith("F\t") and "\tParse\t" in line)


def prepared(conn: Conn) -> list[str]:
    rows = conn.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'ledger%' ORDER BY name")
    return [name for (name,) in rows.fetchall()]


def test_statements_are_prepared_on_first_use_only(db_url: str, site: Site) -> None:
    ledger = PostgresLedger(Policy())
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert parses(conn, ledger, site) == 2  # the read-and-lock and the write, each once
        assert parses(conn, ledger, site) == 0
        assert prepared(conn) == ["ledger_read_and_lock", "ledger_write_one"]
    with psycopg.connect(db_url, autocommit=True) as other:  # a connection of its own, its own statements
        assert parses(other, ledger, site) == 2


def test_a_connection_that_forgot_its_statements_prepares_them_again(db_url: str, site: Site) -> None:
    ledger = PostgresLedger(Policy())
    metadata = CommandMetadata(performed_by_user_id=site.user)
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.execute(conn, create(site), metadata)
        conn.execute("DEALLOCATE ALL")
        result = ledger.execute(conn, create(site, "2"), metadata)  # one failed attempt, then prepared again
        assert result.position is not None
        assert ledger.execute_batch(conn, [(create(site, "3"), metadata)] * 2)[1].position  # type: ignore[union-attr]
        assert prepared(conn) == ["ledger_read_and_lock", "ledger_write_one", "ledger_write_unkeyed"]


def test_rows_are_the_values_a_cursor_gives(conn: Conn, site: Site) -> None:
    ledger = PostgresLedger(Policy())
    bulk = CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D("2.5"))
    result = ledger.execute(conn, bulk, CommandMetadata(performed_by_user_id=site.user))
    stream = result.events[0].stream_id
    level = (site.a, site.bulk)
    wanted = Wanted(users={site.user}, part_ids={site.bulk}, warehouse_ids={site.a}, lock={level})
    year = datetime.now(UTC).year
    with pipelined(conn) as transaction:  # on the wire
        on_the_wire = load_and_lock(conn, wanted, year), load_streams(conn, [stream])
        transaction.rollback()
    with conn.transaction(), pipelined(conn) as nested:  # inside a transaction: psycopg's cursors
        through_psycopg = load_and_lock(conn, wanted, year), load_streams(conn, [stream])
        nested.rollback()
    assert on_the_wire == through_psycopg
    assert on_the_wire[0].levels == {level: D("2.5")}
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_fault_inside_a_block_keeps_nothing_and_leaves_the_connection_usable(
    conn: Conn, site: Site
) -> None:
    wanted = Wanted(users={site.user}, lock={(site.a, site.part)})
    before = conn.execute("SELECT count(*) FROM ledger_stock_levels").fetchone()
    with pytest.raises(RuntimeError), pipelined(conn):
        load_and_lock(conn, wanted, 2026)  # creates the level row, locked
        raise RuntimeError("a fault between the read and the write")
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM ledger_stock_levels").fetchone() == before


class Tone(StrEnum):
    QUIET = "quiet"


TYPES = Statement(
    "ledger_test_types",
    "SELECT %(s)s::text, %(e)s::text, %(b)s::bytea, %(i)s::int, %(t)s::bool, %(u)s::uuid,"
    " %(d)s::timestamptz, %(n)s::text, %(p)s::text LIKE '%%'",
)


def test_parameters_of_every_kind_arrive_as_psycopg_sends_them(conn: Conn) -> None:
    params: dict[str, object] = {
        "s": 'it\'s "quoted" \\ and ü',
        "e": Tone.QUIET,
        "b": bytes(range(256)),
        "i": -42,
        "t": False,
        "u": uuid.uuid4(),
        "d": datetime(2026, 12, 2, 7, 0, 0, 123456, tzinfo=UTC),
        "n": None,
        "p": "100%",
    }
    with pipelined(conn):
        on_the_wire = execute(conn, TYPES, params, read=True).fetchall()
    with conn.transaction():
        through_psycopg = execute(conn, TYPES, params, read=True).fetchall()
    assert on_the_wire == through_psycopg
    assert on_the_wire[0][1] == "quiet" and on_the_wire[0][2] == bytes(range(256))


def test_a_connection_lost_inside_a_block_raises_and_is_closed(db_url: str, site: Site) -> None:
    wanted = Wanted(users={site.user}, lock={(site.a, site.part)})
    with psycopg.connect(db_url, autocommit=True) as conn, psycopg.connect(db_url, autocommit=True) as admin:
        backend = conn.info.backend_pid
        with pytest.raises(psycopg.OperationalError), pipelined(conn):
            load_and_lock(conn, wanted, 2026)
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [backend])
        assert conn.closed  # not left in pipeline mode: the committer connects again
