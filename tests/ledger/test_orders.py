"""Orders through the ledger: every state change an event; stock moves only with shipments and receipts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from ledger import errors
from ledger.commands import CreateStock
from ledger.orders import commands as c
from ledger.orders.events import CustomerOrderReceived
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.eventstore import load_streams
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn
from tests.fixtures.world import World
from tests.projections.conftest import log_fold

pytestmark = pytest.mark.db
D = Decimal


@dataclass
class Trade:
    """Oraseas EE with a warehouse, a customer with a warehouse, a supplier, two parts."""

    conn: Conn
    oraseas_user: UUID
    customer: UUID
    customer_user: UUID
    supplier: UUID
    depot: UUID
    customer_store: UUID
    part: UUID
    oil: UUID

    def run(
        self, command: object, user: UUID | None = None, policy: Policy | None = None, key: str | None = None
    ) -> CommandResult:
        ledger = PostgresLedger(policy or Policy())
        metadata = CommandMetadata(performed_by_user_id=user or self.oraseas_user, idempotency_key=key)
        return ledger.execute(self.conn, command, metadata)  # type: ignore[arg-type]

    def stock(self) -> dict[tuple[UUID, UUID], Decimal]:
        return log_fold(self.conn)


@pytest.fixture
def trade(fresh_db_url: str) -> Iterator[Trade]:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        world = World(conn)
        oraseas = world.organization("oraseas_ee")
        customer = world.organization("customer")
        t = Trade(
            conn=conn,
            oraseas_user=world.user(oraseas),
            customer=customer,
            customer_user=world.user(customer),
            supplier=world.organization("supplier", parent=oraseas),
            depot=world.warehouse(oraseas),
            customer_store=world.warehouse(customer),
            part=world.part("consumable"),
            oil=world.part("bulk_material", unit="litres"),
        )
        t.run(CreateStock(part_id=t.part, to_warehouse_id=t.depot, quantity=D(20)))
        yield t


def order(t: Trade, quantity: str = "10") -> UUID:
    placed = t.run(
        c.RequestCustomerOrder(
            customer_organization_id=t.customer,
            items=(c.OrderItem(part_id=t.part, quantity=D(quantity), unit_price=D("4.50")),),
        ),
        t.customer_user,
    )
    assert placed.order_id is not None
    return placed.order_id


def move(part: UUID, quantity: str) -> tuple[c.MoveItem, ...]:
    return (c.MoveItem(part_id=part, quantity=D(quantity)),)


def test_a_customer_order_moves_stock_only_when_shipped_and_received(trade: Trade) -> None:
    t = trade
    order_id = order(t)
    assert t.stock() == {(t.depot, t.part): D(20)}
    t.run(c.ConfirmCustomerOrder(order_id=order_id))
    t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, "6")))
    assert t.stock() == {(t.depot, t.part): D(14)}  # 6 in transit, in no warehouse
    received = t.run(
        c.ReceiveCustomerOrder(order_id=order_id, warehouse_id=t.customer_store, items=move(t.part, "4")),
        t.customer_user,
    )
    assert len(received.transaction_ids) == 1
    assert t.stock() == {(t.depot, t.part): D(14), (t.customer_store, t.part): D(4)}
    t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, "4")))
    t.run(
        c.ReceiveCustomerOrder(order_id=order_id, warehouse_id=t.customer_store, items=move(t.part, "6")),
        t.customer_user,
    )
    assert t.stock() == {(t.depot, t.part): D(10), (t.customer_store, t.part): D(10)}
    stream = f"customer-order-{order_id}"
    types = [e.event_type for e in load_streams(t.conn, [stream])[stream]]
    assert types == [
        "CustomerOrderRequested",
        "CustomerOrderConfirmed",
        "CustomerOrderShipped",
        "CustomerOrderReceived",
        "CustomerOrderShipped",
        "CustomerOrderReceived",
    ]
    last = load_streams(t.conn, [stream])[stream][-1].event()
    assert isinstance(last, CustomerOrderReceived) and last.completed


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        (["ship 11"], errors.QuantityExceedsOrder),
        (["ship 5", "receive 6"], errors.QuantityExceedsOrder),
        (["ship 5", "cancel"], errors.InvalidOrderState),
        (["cancel", "ship 1"], errors.InvalidOrderState),
        (["unconfirmed ship 1"], errors.InvalidOrderState),
    ],
)
def test_order_rules(trade: Trade, steps: list[str], error: type[errors.LedgerError]) -> None:
    t = trade
    order_id = order(t)
    if not steps[0].startswith("unconfirmed"):
        t.run(c.ConfirmCustomerOrder(order_id=order_id))
    with pytest.raises(error):
        for step in steps:
            verb, _, quantity = step.replace("unconfirmed ", "").partition(" ")
            if verb == "ship":
                t.run(
                    c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, quantity))
                )
            elif verb == "receive":
                t.run(
                    c.ReceiveCustomerOrder(
                        order_id=order_id, warehouse_id=t.customer_store, items=move(t.part, quantity)
                    ),
                    t.customer_user,
                )
            else:
                t.run(c.CancelCustomerOrder(order_id=order_id))


def test_shipping_obeys_the_negative_stock_policy_and_warehouse_owners(trade: Trade) -> None:
    t = trade
    order_id = order(t, "30")
    t.run(c.ConfirmCustomerOrder(order_id=order_id))
    strict = Policy(negative_stock=NegativeStockPolicy.REJECT)
    with pytest.raises(errors.InsufficientStock):
        t.run(
            c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, "21")),
            policy=strict,
        )
    with pytest.raises(errors.WrongWarehouseOwner):
        t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.customer_store, items=move(t.part, "1")))
    with pytest.raises(errors.PartNotOnOrder):
        t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.oil, "1")))
    warned = t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, "21")))
    assert [(w.code, w.warehouse_id, w.resulting_stock) for w in warned.warnings] == [
        ("negative_stock", t.depot, D(-1))
    ]


def test_a_supplier_order_receives_stock_as_creations_once(trade: Trade) -> None:
    t = trade
    oraseas = t.conn.execute("SELECT id FROM organizations WHERE organization_type = 'oraseas_ee'").fetchone()
    assert oraseas is not None
    placed = t.run(
        c.RequestSupplierOrder(
            ordering_organization_id=oraseas[0],
            supplier_organization_id=t.supplier,
            items=(c.OrderItem(part_id=t.oil, quantity=D("12.5")),),
        )
    )
    order_id = placed.order_id
    assert order_id is not None
    with pytest.raises(errors.InvalidOrderState):  # not placed yet
        t.run(c.ReceiveSupplierOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.oil, "1")))
    t.run(c.PlaceSupplierOrder(order_id=order_id))
    receipt = c.ReceiveSupplierOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.oil, "10"))
    first = t.run(receipt, key="receipt-1")
    again = t.run(receipt, key="receipt-1")
    assert again.replayed and again.transaction_ids == first.transaction_ids
    assert t.stock()[(t.depot, t.oil)] == D(10)
    with pytest.raises(errors.QuantityExceedsOrder):
        t.run(c.ReceiveSupplierOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.oil, "3")))
    t.run(c.ReceiveSupplierOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.oil, "2.5")))
    assert t.stock()[(t.depot, t.oil)] == D("12.5")
    with pytest.raises(errors.InvalidOrderState):
        t.run(c.CancelSupplierOrder(order_id=order_id))


def test_only_customers_order_and_only_suppliers_supply(trade: Trade) -> None:
    t = trade
    with pytest.raises(errors.InvalidOrganization):
        t.run(
            c.RequestCustomerOrder(
                customer_organization_id=t.supplier, items=(c.OrderItem(part_id=t.part, quantity=D(1)),)
            )
        )
    with pytest.raises(errors.InvalidOrganization):
        t.run(
            c.RequestSupplierOrder(
                ordering_organization_id=t.customer,
                supplier_name="ACME",
                items=(c.OrderItem(part_id=t.part, quantity=D(1)),),
            )
        )


def test_order_projections_follow_the_events_and_verify(trade: Trade) -> None:
    from projections.registry import ALL
    from projections.tools.verify import verify
    from tests.projections.conftest import catch_up, inventory

    t = trade
    order_id = order(t)
    t.run(c.ConfirmCustomerOrder(order_id=order_id))
    t.run(c.ShipCustomerOrder(order_id=order_id, warehouse_id=t.depot, items=move(t.part, "7")))
    receipt = t.run(
        c.ReceiveCustomerOrder(order_id=order_id, warehouse_id=t.customer_store, items=move(t.part, "5")),
        t.customer_user,
    )
    catch_up(t.conn, batch=2)
    assert inventory(t.conn) == t.stock() == {(t.depot, t.part): D(13), (t.customer_store, t.part): D(5)}
    head = t.conn.execute(
        "SELECT status, ordered_by_user_id FROM customer_orders WHERE id = %s", [order_id]
    ).fetchone()
    assert head == ("shipped", t.customer_user)
    line = t.conn.execute(
        "SELECT quantity, shipped_quantity, received_quantity, unit_price"
        " FROM customer_order_items WHERE customer_order_id = %s",
        [order_id],
    ).fetchone()
    assert line == (D(10), D(7), D(5), D("4.50"))
    transfer = t.conn.execute(
        "SELECT transaction_type::text, from_warehouse_id, to_warehouse_id, quantity"
        " FROM transactions WHERE id = %s",
        [receipt.transaction_ids[0]],
    ).fetchone()
    assert transfer == ("transfer", t.depot, t.customer_store, D(5))
    assert verify(t.conn, ALL).ok
