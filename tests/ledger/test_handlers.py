"""The one dispatch table: every command type has a handler, and order commands take the same path."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import get_args

import pytest

from ledger import errors
from ledger.commands import ApproveMovement, CreateStock, RejectMovement, StockCommand
from ledger.decide import COMMAND_HANDLERS, decide, handler_for
from ledger.needs import Found, Needs, Streams
from ledger.orders import commands as c
from ledger.orders.commands import OrderCommand
from ledger.orders.events import CustomerOrderRequested, customer_order_stream, supplier_order_stream
from ledger.orders.state import LineState, OrderState
from ledger.policy import Policy
from ledger.state import DecisionContext, OrganizationInfo, PartInfo, UserInfo, movement_state
from tests.ledger.scenario import NOW, Scenario

D = Decimal


def test_every_command_type_has_a_handler_and_nothing_else_does() -> None:
    commands = {*get_args(StockCommand), *get_args(OrderCommand)}
    assert len(commands) == 18
    assert set(COMMAND_HANDLERS) == commands


def test_an_order_command_is_decided_through_the_same_table() -> None:
    customer, oraseas, part = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    context = DecisionContext(
        now=NOW,
        actor=UserInfo(uuid.uuid4(), customer),
        parts={part: PartInfo(part, "consumable", "pieces")},
        organizations={
            customer: OrganizationInfo(customer, "customer", "Customer"),
            oraseas: OrganizationInfo(oraseas, "oraseas_ee", "Oraseas EE"),
        },
        oraseas_id=oraseas,
        new_id=lambda: uuid.UUID(int=7),
    )
    command = c.RequestCustomerOrder(
        customer_organization_id=customer, items=(c.OrderItem(part_id=part, quantity=D(2)),)
    )
    decision = decide(command, context, Policy())
    [(stream, event)] = decision.events
    assert isinstance(event, CustomerOrderRequested)
    assert stream == customer_order_stream(uuid.UUID(int=7))
    assert decision.order_id == uuid.UUID(int=7)
    assert decision.transaction_ids == ()
    with pytest.raises(errors.UnknownUser):
        decide(command, DecisionContext(now=NOW, actor=None), Policy())


def test_a_command_on_an_order_reads_its_stream_then_the_order_parts_and_locks_what_it_moves() -> None:
    order_id, on_order, shipped, depot = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ship = c.ShipCustomerOrder(
        order_id=order_id, warehouse_id=depot, items=(c.MoveItem(part_id=shipped, quantity=D(1)),)
    )
    handler = handler_for(ship)
    assert handler.streams(ship) == Streams(order_streams=frozenset({customer_order_stream(order_id)}))
    place = c.PlaceSupplierOrder(order_id=order_id)
    assert handler_for(place).streams(place) == Streams(
        order_streams=frozenset({supplier_order_stream(order_id)})
    )
    owner = uuid.uuid4()
    order = OrderState(
        order_id, "customer", "confirmed", owner, {on_order: LineState(on_order, D(3), None, "pcs")}, 2
    )
    needs = handler.needs(ship, Found(orders={order_id: order}))
    assert needs.part_ids == {on_order, shipped}
    assert needs.warehouse_ids == {depot}
    assert needs.organization_ids == frozenset()
    assert needs.lock == {(depot, shipped)}


def test_rejecting_reads_the_movement_but_locks_no_stock_approving_does() -> None:
    s = Scenario(policy=Policy(approval_quantity_threshold=D(1)))
    part, wh = s.part(), s.warehouse()
    pending = s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(2)))
    transaction_id = pending.transaction_ids[0]
    state = movement_state(enumerate((event for _, event in pending.events), start=1))
    assert state is not None
    found = Found(movements={transaction_id: state})
    approve, reject = (
        ApproveMovement(transaction_id=transaction_id),
        RejectMovement(transaction_id=transaction_id),
    )
    assert handler_for(approve).streams(approve) == Streams(transaction_ids=frozenset({transaction_id}))
    assert handler_for(approve).needs(approve, found) == Needs(
        part_ids=frozenset({part}), warehouse_ids=frozenset({wh}), lock=frozenset({(wh, part)})
    )
    assert handler_for(reject).needs(reject, found).lock == frozenset()
    assert handler_for(reject).needs(reject, Found()) == Needs()
