"""The PostgreSQL event store: appends, stock levels, idempotency, atomicity of refusals."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger import errors
from ledger.commands import (
    ApproveMovement,
    ConsumeStock,
    CountedItem,
    CountStock,
    CreateStock,
    ReverseMovement,
    TransferStock,
)
from ledger.events import movement_stream
from ledger.fold import fold_stock
from ledger.policy import Limits, Policy
from ledger.postgres.eventstore import load_streams
from ledger.recorded import GENESIS
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal


def levels(conn: Conn, *warehouses: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], Decimal]:
    rows = conn.execute(
        "SELECT warehouse_id, part_id, on_hand FROM ledger_stock_levels"
        " WHERE warehouse_id = ANY(%s) AND on_hand <> 0",
        [list(warehouses)],
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def event_count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def test_a_command_appends_chained_events_and_moves_stock(conn: Conn, site: Site) -> None:
    created = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    moved = run(
        conn,
        TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(3)),
        site,
    )
    assert created.position is not None and moved.position is not None
    assert moved.position > created.position
    [transfer_id] = moved.transaction_ids
    [event] = load_streams(conn, [movement_stream(transfer_id)])[movement_stream(transfer_id)]
    assert (event.event_type, event.stream_version, event.previous_hash) == ("StockTransferred", 1, GENESIS)
    assert event.metadata.performed_by_user_id == site.user
    assert event.computed_hash() == event.hash
    assert event.payload["quantity"] == "3"
    assert levels(conn, site.a, site.b) == {(site.a, site.part): D(7), (site.b, site.part): D(3)}


def test_a_refused_command_writes_nothing(conn: Conn, site: Site) -> None:
    policy = Policy(negative_stock="reject")
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2)), site, policy)
    before = event_count(conn), levels(conn, site.a)
    with pytest.raises(errors.InsufficientStock):
        run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(3)), site, policy)
    with pytest.raises(errors.UnknownPart):
        run(conn, CreateStock(part_id=uuid.uuid4(), to_warehouse_id=site.a, quantity=D(1)), site)
    assert (event_count(conn), levels(conn, site.a)) == before


def test_unknown_user_is_refused(conn: Conn, site: Site, world: World) -> None:
    command = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    for user in (uuid.uuid4(), world.user(site.org, active=False)):
        site.user = user
        with pytest.raises(errors.UnknownUser):
            run(conn, command, site)


def test_approval_appends_to_the_movement_stream(conn: Conn, site: Site) -> None:
    policy = Policy(approval_value_threshold=D(100))
    pending = run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(10)), site, policy)
    assert levels(conn, site.a) == {}
    [transaction_id] = pending.transaction_ids
    approved = run(conn, ApproveMovement(transaction_id=transaction_id, expected_version=1), site, policy)
    assert [e.stream_version for e in approved.events] == [2]
    assert levels(conn, site.a) == {(site.a, site.bulk): D(10)}
    stream = load_streams(conn, [movement_stream(transaction_id)])[movement_stream(transaction_id)]
    assert stream[1].previous_hash == stream[0].hash
    with pytest.raises(errors.ConcurrencyConflict):
        run(conn, ReverseMovement(transaction_id=transaction_id, expected_version=1), site, policy)


def test_stocktake_is_one_atomic_append(conn: Conn, site: Site) -> None:
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), site)
    result = run(
        conn,
        CountStock(
            warehouse_id=site.a,
            items=(
                CountedItem(part_id=site.part, counted_quantity=D(4)),
                CountedItem(part_id=site.bulk, counted_quantity=D("1.5")),
            ),
        ),
        site,
    )
    assert len(result.events) == 2 and len(set(result.transaction_ids)) == 2
    assert levels(conn, site.a) == {(site.a, site.part): D(4), (site.a, site.bulk): D("1.5")}


def test_idempotent_retry_returns_the_first_result_and_appends_once(conn: Conn, site: Site) -> None:
    command = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    key = f"key-{uuid.uuid4()}"
    first = run(conn, command, site, key=key)
    count = event_count(conn)
    again = run(conn, command, site, key=key)
    assert again.replayed and not first.replayed
    assert again.model_copy(update={"replayed": False}) == first
    assert event_count(conn) == count
    assert levels(conn, site.a) == {(site.a, site.part): D(1)}
    with pytest.raises(errors.IdempotencyConflict):
        run(conn, command.model_copy(update={"quantity": D(2)}), site, key=key)


def test_the_yearly_cap_counts_committed_movements(fresh_db_url: str) -> None:
    import psycopg

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        policy = Policy(limits=Limits(transactions_per_year=3))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site, policy)
        run(
            conn,
            CountStock(
                warehouse_id=site.a,
                items=(
                    CountedItem(part_id=site.part, counted_quantity=D(3)),
                    CountedItem(part_id=site.bulk, counted_quantity=D(1)),
                ),
            ),
            site,
            policy,
        )
        with pytest.raises(errors.LimitReached):
            run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site, policy)


def test_levels_equal_the_fold_of_the_log(conn: Conn, site: Site) -> None:
    results = [
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(9)), site),
        run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(2)), site),
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(4)),
            site,
        ),
    ]
    streams = load_streams(conn, [e.stream_id for r in results for e in r.events])
    folded = fold_stock(e.event() for events in streams.values() for e in events)
    assert folded == levels(conn, site.a, site.b) == {(site.a, site.part): D(3), (site.b, site.part): D(4)}
