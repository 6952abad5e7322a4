"""Group commit: every invariant of the single path holds for commands decided and appended together."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger import errors
from ledger.commands import (
    ApproveMovement,
    ConsumeStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
)
from ledger.policy import Limits, NegativeStockPolicy, Policy
from ledger.postgres.batch import Item, Outcome
from ledger.postgres.connection import Connection
from ledger.postgres.reader import follow
from ledger.postgres.seals import audit
from ledger.postgres.service import PostgresLedger
from ledger.recorded import START, CommandMetadata, RecordedEvent
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, CountingConnection, Site, actor, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal
HELD = Policy(approval_quantity_threshold=D(15))


@pytest.fixture
def counting(db_url: str) -> Iterator[CountingConnection]:
    """An autocommit connection to the shared test database that counts its statements."""
    with CountingConnection.connect(db_url, autocommit=True) as connection:
        yield connection


def in_one_go(conn: CountingConnection, ledger: PostgresLedger, batch: list[Item]) -> list[Outcome]:
    """Run `batch` and check it took one attempt: at most three statements (streams, read, write)."""
    conn.statements = 0
    outcomes = ledger.execute_batch(conn, batch)
    assert conn.statements <= 3, "the batch was run again one by one"
    return outcomes


def items(site: Site, *commands: StockCommand, key: str | None = None) -> list[Item]:
    return [(c, CommandMetadata(performed_by_user_id=actor(site, c), idempotency_key=key)) for c in commands]


def result(outcome: Outcome) -> CommandResult:
    assert isinstance(outcome, CommandResult), outcome
    return outcome


def level(conn: Conn, warehouse: uuid.UUID, part: uuid.UUID) -> Decimal | None:
    row = conn.execute(
        "SELECT on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s", [warehouse, part]
    ).fetchone()
    return None if row is None else Decimal(row[0])


def events_count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def test_a_batch_is_two_statements_and_one_transaction_whatever_its_size(fresh_db_url: str) -> None:
    with CountingConnection.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        commands = [
            CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n + 1)) for n in range(20)
        ]
        conn.statements = 0
        outcomes = PostgresLedger(Policy()).execute_batch(conn, items(site, *commands))
        assert conn.statements == 2  # read and lock, write
        xids = {result(o).log_transaction_id for o in outcomes}
        assert len(xids) == 1 and None not in xids
        assert level(conn, site.a, site.part) == sum(D(n + 1) for n in range(20))


def test_positions_follow_the_order_of_decision_and_the_reader_misses_none(conn: Conn, site: Site) -> None:
    commands = [
        CreateStock(part_id=p, to_warehouse_id=w, quantity=D(1))
        for w in (site.a, site.b)
        for p in (site.part, site.bulk)
    ]
    outcomes = PostgresLedger(Policy()).execute_batch(conn, items(site, *commands))
    positions = [result(o).position or 0 for o in outcomes]
    assert positions == sorted(positions) and len(set(positions)) == 4
    # The horizon is the server's: other databases' transactions may hold it back for a while.
    followed: list[RecordedEvent] = []
    deadline = time.monotonic() + 60
    while not followed and time.monotonic() < deadline:
        followed = [e for e in follow(conn, START) if e.position in set(positions)]
        time.sleep(0.02)
    assert [e.position for e in followed] == positions
    assert [e.event().part_id for e in followed] == [c.part_id for c in commands]  # type: ignore[attr-defined]


def test_two_consumers_of_the_last_unit_in_one_batch_under_reject(
    counting: CountingConnection, world: World
) -> None:
    conn = counting
    site = make_site(World(conn))
    ledger = PostgresLedger(Policy(negative_stock=NegativeStockPolicy.REJECT))
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site)
    last = ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1))
    sold, refused = in_one_go(conn, ledger, items(site, last, last))
    assert result(sold).position is not None
    assert isinstance(refused, errors.InsufficientStock)
    assert level(conn, site.a, site.part) == 0


def test_one_refusal_fails_no_other_command(counting: CountingConnection) -> None:
    conn = counting
    site = make_site(World(conn))
    good = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2))
    unknown = CreateStock(part_id=uuid.uuid4(), to_warehouse_id=site.a, quantity=D(1))
    fractional = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D("0.5"))
    outcomes = in_one_go(conn, PostgresLedger(Policy()), items(site, good, unknown, good, fractional))
    assert isinstance(outcomes[1], errors.UnknownPart)
    assert isinstance(outcomes[3], errors.FractionalQuantity)
    assert result(outcomes[0]).position is not None and result(outcomes[2]).position is not None
    assert level(conn, site.a, site.part) == 4


def test_a_batch_that_writes_nothing_keeps_nothing(conn: Conn, site: Site) -> None:
    before = events_count(conn)
    unknown = CreateStock(part_id=site.part, to_warehouse_id=uuid.uuid4(), quantity=D(1))
    outcomes = PostgresLedger(Policy()).execute_batch(conn, items(site, unknown, unknown))
    assert all(isinstance(o, errors.UnknownWarehouse) for o in outcomes)
    assert events_count(conn) == before
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_the_same_key_twice_in_one_batch_replays_the_first_answer(
    counting: CountingConnection, world: World
) -> None:
    conn = counting
    site = make_site(World(conn))
    key = f"twice-{uuid.uuid4()}"
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3))
    before = events_count(conn)
    first, second = in_one_go(conn, PostgresLedger(Policy()), items(site, create, create, key=key))
    assert result(second) == result(first).model_copy(update={"replayed": True})
    assert not result(first).replayed
    assert events_count(conn) == before + 1
    assert level(conn, site.a, site.part) == 3
    row = conn.execute("SELECT result FROM ledger_idempotency WHERE key = %s", [key]).fetchone()
    assert row is not None and CommandResult.model_validate(row[0]) == first
    again = run(conn, create, site, key=key)
    assert again == second


def test_a_key_reused_for_another_command_in_one_batch_is_refused_alone(
    counting: CountingConnection, world: World
) -> None:
    conn = counting
    site = make_site(World(conn))
    key = f"other-{uuid.uuid4()}"
    one = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3))
    other = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(4))
    first, second = in_one_go(conn, PostgresLedger(Policy()), items(site, one, other, key=key))
    assert result(first).position is not None
    assert isinstance(second, errors.IdempotencyConflict)
    assert level(conn, site.a, site.part) == 3


def test_keys_stored_before_the_batch_are_recalled_in_it(counting: CountingConnection) -> None:
    conn = counting
    site = make_site(World(conn))
    key = f"before-{uuid.uuid4()}"
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3))
    first = run(conn, create, site, key=key)
    fresh = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1))
    batch = [*items(site, create, key=key), *items(site, fresh)]
    replayed, created = in_one_go(conn, PostgresLedger(Policy()), batch)
    assert replayed == first.model_copy(update={"replayed": True})
    assert result(created).position is not None


def test_two_reversals_of_one_movement_in_one_batch(counting: CountingConnection) -> None:
    conn = counting
    site = make_site(World(conn))
    [movement] = run(
        conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), site
    ).transaction_ids
    reverse = ReverseMovement(transaction_id=movement)
    done, refused = in_one_go(conn, PostgresLedger(Policy()), items(site, reverse, reverse))
    assert len(result(done).events) == 2
    assert isinstance(refused, errors.InvalidTransactionState)
    assert level(conn, site.a, site.part) == 0
    assert audit(conn).ok


def test_commands_on_one_stream_in_one_batch_chain_after_each_other(
    counting: CountingConnection, world: World
) -> None:
    conn = counting
    site = make_site(World(conn))
    held = run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(20)), site, HELD)
    [movement] = held.transaction_ids
    approve, reject = ApproveMovement(transaction_id=movement), RejectMovement(transaction_id=movement)
    reverse = ReverseMovement(transaction_id=movement)
    approved, refused, reversed_ = in_one_go(
        conn, PostgresLedger(HELD), items(site, approve, reject, reverse)
    )
    assert [e.stream_version for e in result(approved).events] == [2]
    assert isinstance(refused, errors.InvalidTransactionState)
    assert [e.stream_version for e in result(reversed_).events if e.stream_id == f"movement-{movement}"] == [
        3
    ]
    assert level(conn, site.a, site.bulk) == 0
    assert audit(conn).ok


def test_the_recorder_of_a_held_movement_still_may_not_approve_it_in_a_batch(
    counting: CountingConnection, world: World
) -> None:
    conn = counting
    site = make_site(World(conn))
    [movement] = run(
        conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(20)), site, HELD
    ).transaction_ids
    approve = ApproveMovement(transaction_id=movement)
    by_recorder = (approve, CommandMetadata(performed_by_user_id=site.user))
    by_approver = (approve, CommandMetadata(performed_by_user_id=site.approver))
    refused, approved = in_one_go(conn, PostgresLedger(HELD), [by_recorder, by_approver])
    assert isinstance(refused, errors.SelfApproval)
    assert result(approved).events[0].event_type == "MovementApproved"
    assert level(conn, site.a, site.bulk) == 20


def test_a_movement_created_and_approved_in_one_batch(counting: CountingConnection) -> None:
    conn = counting
    site = make_site(World(conn))
    movement = uuid.uuid4()
    ledger = PostgresLedger(HELD, new_id=lambda: movement)
    create = CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(20))
    created, approved = in_one_go(conn, ledger, items(site, create, ApproveMovement(transaction_id=movement)))
    assert result(created).transaction_ids == (movement,)
    assert [e.stream_version for e in result(approved).events] == [2]
    assert level(conn, site.a, site.bulk) == 20
    assert audit(conn).ok


def test_a_failed_write_runs_the_batch_again_one_by_one(conn: Conn, site: Site) -> None:
    # Two creations given the same new id: together they fail on the stream's version; alone, the
    # first is recorded and the second gets its own conflict, as it would have without the batch.
    clash = uuid.uuid4()
    ledger = PostgresLedger(Policy(), new_id=lambda: clash, max_attempts=2)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    other = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1))
    first, second = ledger.execute_batch(conn, items(site, create, other))
    assert result(first).transaction_ids == (clash,)
    assert isinstance(second, errors.ConcurrencyConflict)
    assert level(conn, site.a, site.part) == 1
    assert level(conn, site.b, site.part) in (None, 0)


def test_the_yearly_cap_counts_the_earlier_commands_of_the_batch(fresh_db_url: str) -> None:
    with CountingConnection.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        capped = PostgresLedger(Policy(limits=Limits(transactions_per_year=3)))
        create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
        outcomes = in_one_go(conn, capped, items(site, create, create, create, create))
        assert [type(o).__name__ for o in outcomes] == ["CommandResult"] * 3 + ["LimitReached"]
        assert level(conn, site.a, site.part) == 3


def prepared(conn: Connection) -> set[str]:
    """The statements this session has prepared (ledger/postgres/wire.py prepares each by name)."""
    return {row[0] for row in conn.execute("SELECT name FROM pg_prepared_statements").fetchall()}


def test_an_unkeyed_batch_writes_without_the_keys_part_and_a_keyed_one_keeps_its_keys(
    fresh_db_url: str,
) -> None:
    with Connection.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        creates = [
            CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n + 1)) for n in range(3)
        ]
        kept = conn.execute("SELECT count(*) FROM ledger_idempotency").fetchone()
        unkeyed = PostgresLedger(Policy()).execute_batch(conn, items(site, *creates))
        assert "ledger_write_unkeyed" in prepared(conn) and "ledger_write" not in prepared(conn)
        assert len({result(o).position for o in unkeyed}) == 3
        assert conn.execute("SELECT count(*) FROM ledger_idempotency").fetchone() == kept
        key = f"mixed-{uuid.uuid4()}"
        batch = [*items(site, creates[0]), *items(site, creates[1], key=key), *items(site, creates[2])]
        first, keyed, last = PostgresLedger(Policy()).execute_batch(conn, batch)
        assert "ledger_write" in prepared(conn)
        row = conn.execute("SELECT result FROM ledger_idempotency WHERE key = %s", [key]).fetchone()
        assert row is not None and CommandResult.model_validate(row[0]) == result(keyed)
        assert result(first).position is not None and result(last).position is not None
        assert level(conn, site.a, site.part) == 2 * sum(D(n + 1) for n in range(3))
