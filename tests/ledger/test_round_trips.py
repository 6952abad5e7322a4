"""A batch waits for PostgreSQL once per statement, no BEGIN or COMMIT: the Sync sent with the write commits.

Counted from libpq's protocol trace: a round trip is a run of messages the client sends followed
by the server's answers.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

import pytest
from psycopg import pq

from ledger import errors
from ledger.commands import ApproveMovement, CreateStock, StockCommand
from ledger.policy import Policy
from ledger.postgres.seals import audit
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, Site, actor, run

pytestmark = pytest.mark.db
D = Decimal
HELD = Policy(approval_quantity_threshold=D(15))
T = TypeVar("T")


def round_trips(conn: Conn, work: Callable[[], T]) -> tuple[T, int]:
    """What `work` returns, and how many times the client waited for the server's answers."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            outcome = work()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        sides = [line[0] for line in trace if line[:2] in ("F\t", "B\t")]
    return outcome, sum(1 for sent, got in pairwise(sides) if (sent, got) == ("F", "B"))


def metadata(site: Site, command: StockCommand) -> CommandMetadata:
    return CommandMetadata(performed_by_user_id=actor(site, command))


def test_a_batch_that_reads_no_stream_takes_two_round_trips(conn: Conn, site: Site) -> None:
    ledger = PostgresLedger(Policy())
    commands = [CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n)) for n in (1, 2, 3)]
    outcomes, trips = round_trips(
        conn, lambda: ledger.execute_batch(conn, [(c, metadata(site, c)) for c in commands])
    )
    assert trips == 2  # read and lock; write (and the Sync that commits)
    assert all(isinstance(o, CommandResult) and o.position for o in outcomes)
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert audit(conn).ok


def test_a_command_that_reads_its_stream_takes_three(conn: Conn, site: Site) -> None:
    created = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(20)), site, HELD)
    approve = ApproveMovement(transaction_id=created.transaction_ids[0])
    result, trips = round_trips(
        conn, lambda: PostgresLedger(HELD).execute(conn, approve, metadata(site, approve))
    )
    assert trips == 3  # the stream; read and lock; write (and the Sync that commits)
    assert [e.event_type for e in result.events] == ["MovementApproved"]


def test_a_refused_command_takes_the_read_and_a_rollback(conn: Conn, site: Site) -> None:
    unknown = CreateStock(part_id=site.part, to_warehouse_id=uuid.uuid4(), quantity=D(1))
    [outcome], trips = round_trips(
        conn, lambda: PostgresLedger(Policy()).execute_batch(conn, [(unknown, metadata(site, unknown))])
    )
    assert isinstance(outcome, errors.UnknownWarehouse)
    assert trips == 2  # read and lock; ROLLBACK
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    kept = conn.execute(
        "SELECT count(*) FROM ledger_stock_levels WHERE warehouse_id = %s", [unknown.to_warehouse_id]
    ).fetchone()
    assert kept == (0,)  # the level row the read-and-lock created at zero was rolled back


def test_a_failed_write_leaves_the_connection_idle_and_usable(conn: Conn, site: Site) -> None:
    clash = uuid.uuid4()
    ledger = PostgresLedger(Policy(), new_id=lambda: clash, max_attempts=1)
    first = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    ledger.execute(conn, first, metadata(site, first))
    with pytest.raises(errors.ConcurrencyConflict):
        ledger.execute(conn, first, metadata(site, first))  # the stream's version 1 is taken
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.execute("SELECT 1").fetchone() == (1,)
