"""Reservations through the ledger: confirming reserves, reserved stock is not available, shipping and
cancelling release; the write-side levels and the fold agree."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from ledger import errors
from ledger.commands import AdjustStock, ConsumeStock, CreateStock, TransferStock
from ledger.events import EVENT_TYPES
from ledger.fold import fold_reserved
from ledger.orders import commands as c
from ledger.orders.reservations import pro_rata
from ledger.orders.state import LineState
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.batch import Command, Item
from ledger.postgres.eventstore import load_streams
from ledger.postgres.reader import follow
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.ledger.test_orders import Trade, move, order, trade

pytestmark = pytest.mark.db
D = Decimal
REJECT = Policy(negative_stock=NegativeStockPolicy.REJECT)
__all__ = ["trade"]


def levels(t: Trade) -> dict[tuple[UUID, UUID], tuple[Decimal, Decimal]]:
    rows = t.conn.execute(
        "SELECT warehouse_id, part_id, on_hand, reserved FROM ledger_stock_levels"
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows if r[2] or r[3]}


def reserved_fold(t: Trade) -> dict[tuple[UUID, UUID], Decimal]:
    return fold_reserved(e.event() for e in follow(t.conn) if e.event_type in EVENT_TYPES)


def confirmed(t: Trade, quantity: str = "10", policy: Policy = REJECT) -> UUID:
    order_id = order(t, quantity)
    t.run(c.ConfirmCustomerOrder(order_id=order_id, reserve_warehouse_id=t.depot), policy=policy)
    return order_id


def test_confirming_reserves_the_lines_and_takes_no_stock(trade: Trade) -> None:
    t = trade
    order_id = confirmed(t, "12")
    assert t.stock() == {(t.depot, t.part): D(20)}
    assert levels(t) == {(t.depot, t.part): (D(20), D(12))}
    assert reserved_fold(t) == {(t.depot, t.part): D(12)}
    stream = f"customer-order-{order_id}"
    types = [e.event_type for e in load_streams(t.conn, [stream])[stream]]
    assert types == ["CustomerOrderRequested", "CustomerOrderConfirmed", "StockReserved"]


def test_under_reject_no_movement_takes_reserved_stock(trade: Trade) -> None:
    t = trade
    confirmed(t, "12")
    refused = [
        ConsumeStock(part_id=t.part, from_warehouse_id=t.depot, quantity=D(9)),
        TransferStock(
            part_id=t.part, from_warehouse_id=t.depot, to_warehouse_id=t.customer_store, quantity=D(9)
        ),
        AdjustStock(warehouse_id=t.depot, part_id=t.part, quantity_adjusted=D(-9), reason_code="damage"),
    ]
    for command in refused:
        with pytest.raises(errors.StockReservedForOrders) as caught:
            t.run(command, policy=REJECT)
        assert caught.value.code == "stock_reserved"
        assert caught.value.details["available"] == "8.000"
    with pytest.raises(errors.InsufficientStock):  # on hand alone is short: the older code
        t.run(ConsumeStock(part_id=t.part, from_warehouse_id=t.depot, quantity=D(21)), policy=REJECT)
    t.run(ConsumeStock(part_id=t.part, from_warehouse_id=t.depot, quantity=D(8)), policy=REJECT)
    assert levels(t) == {(t.depot, t.part): (D(12), D(12))}


def test_a_reservation_cannot_exceed_what_is_available(trade: Trade) -> None:
    t = trade
    confirmed(t, "15")
    second = order(t, "6")
    with pytest.raises(errors.StockReservedForOrders):
        t.run(c.ConfirmCustomerOrder(order_id=second, reserve_warehouse_id=t.depot), policy=REJECT)
    third = order(t, "25")
    with pytest.raises(errors.InsufficientStock):
        t.run(c.ConfirmCustomerOrder(order_id=third, reserve_warehouse_id=t.depot), policy=REJECT)
    assert levels(t) == {(t.depot, t.part): (D(20), D(15))}  # nothing half-written
    t.run(c.ConfirmCustomerOrder(order_id=second), policy=REJECT)  # confirming without reserving still works


def test_shipping_consumes_the_reservation_pro_rata_and_cancelling_releases_it(trade: Trade) -> None:
    t = trade
    shipped = confirmed(t, "10")
    t.run(c.ShipCustomerOrder(order_id=shipped, warehouse_id=t.depot, items=move(t.part, "4")), policy=REJECT)
    assert levels(t) == {(t.depot, t.part): (D(16), D(6))}
    # The shipment may take the order's own reserved stock: 16 on hand, 6 reserved, all 6 for this order.
    t.run(CreateStock(part_id=t.part, to_warehouse_id=t.depot, quantity=D(5)))
    other = confirmed(t, "15")
    assert levels(t) == {(t.depot, t.part): (D(21), D(21))}
    t.run(c.ShipCustomerOrder(order_id=shipped, warehouse_id=t.depot, items=move(t.part, "6")), policy=REJECT)
    assert levels(t) == {(t.depot, t.part): (D(15), D(15))}
    t.run(c.CancelCustomerOrder(order_id=other), policy=REJECT)
    assert levels(t) == {(t.depot, t.part): (D(15), D(0))}
    assert reserved_fold(t) == {}
    stream = f"customer-order-{other}"
    types = [e.event_type for e in load_streams(t.conn, [stream])[stream]]
    assert types[-2:] == ["StockReservationReleased", "CustomerOrderCancelled"]


def test_under_warn_a_movement_may_take_reserved_stock_with_a_warning(trade: Trade) -> None:
    t = trade
    confirmed(t, "12", policy=Policy())
    taken = t.run(ConsumeStock(part_id=t.part, from_warehouse_id=t.depot, quantity=D(10)))
    [warning] = taken.warnings
    assert (warning.code, warning.resulting_stock, warning.resulting_available) == (
        "stock_reserved",
        D(10),
        D(-2),
    )
    over = order(t, "5")
    reserved = t.run(c.ConfirmCustomerOrder(order_id=over, reserve_warehouse_id=t.depot))
    assert [(w.code, w.resulting_available) for w in reserved.warnings] == [("stock_reserved", D(-7))]
    assert levels(t) == {(t.depot, t.part): (D(10), D(17))}


def test_a_reservation_is_only_in_an_active_oraseas_warehouse(trade: Trade) -> None:
    t = trade
    order_id = order(t)
    with pytest.raises(errors.WrongWarehouseOwner):
        t.run(c.ConfirmCustomerOrder(order_id=order_id, reserve_warehouse_id=t.customer_store))
    assert levels(t) == {(t.depot, t.part): (D(20), D(0))}


def test_pro_rata_is_the_shipped_share_of_the_open_reservation() -> None:
    part = UUID(int=1)
    line = LineState(part, D(10), None, "pieces", shipped=D(4), reserved=D(6))
    assert pro_rata(line, D(2)) == D(2)
    assert pro_rata(line, D(6)) == D(6)
    partly = LineState(part, D(3), None, "pieces", reserved=D(1))  # a reservation smaller than the rest
    assert pro_rata(partly, D(1)) == D("0.333")
    assert pro_rata(partly, D(3)) == D(1)
    assert pro_rata(LineState(part, D(3), None, "pieces"), D(1)) == D(0)


def test_in_one_batch_two_confirmations_cannot_both_reserve_the_last_units(trade: Trade) -> None:
    # Group commit decides each command against the levels the earlier ones leave: reserved too.
    t = trade
    first, second = order(t, "15"), order(t, "15")
    consume = ConsumeStock(part_id=t.part, from_warehouse_id=t.depot, quantity=D(10))
    commands = [c.ConfirmCustomerOrder(order_id=o, reserve_warehouse_id=t.depot) for o in (first, second)]
    batch: list[Command] = [*commands, consume]
    items: list[Item] = [(command, CommandMetadata(performed_by_user_id=t.oraseas_user)) for command in batch]
    outcomes = PostgresLedger(REJECT).execute_batch(t.conn, items)
    assert isinstance(outcomes[0], CommandResult), outcomes[0]
    assert isinstance(outcomes[1], errors.StockReservedForOrders), outcomes[1]
    assert isinstance(outcomes[2], errors.StockReservedForOrders), outcomes[2]  # 5 available, not 10
    assert levels(t) == {(t.depot, t.part): (D(20), D(15))}
    assert reserved_fold(t) == {(t.depot, t.part): D(15)}
