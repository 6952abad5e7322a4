"""The order handlers: each takes (command, context, policy) and returns the order's events and movements.

Pure, and built from the shared rules of ledger.rules: moving stock through an
order obeys the same quantity, unit, warehouse and stock checks as any movement.
An order's movements are authorized by the order itself (an Oraseas EE admin
confirms customer orders; supplier orders are Oraseas EE's own), so they are
not held for approval again. Orders are opened in ledger.orders.requests; what
each command loads is in ledger.orders.needs.

Reservations (ledger.orders.reservations): confirming may reserve the lines in
one Oraseas EE warehouse; shipping consumes the reservation pro rata, before the
stock leaves; cancelling releases what is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from uuid import UUID

from ledger import errors, rules
from ledger.events import Event, StockCreated
from ledger.orders import commands as c
from ledger.orders import events as e
from ledger.orders import reservations
from ledger.orders.state import OrderState
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import DecisionContext

CUSTOMER_STATES = {
    "ship": ("confirmed", "shipped"),
    "receive": ("shipped",),
    "cancel": ("requested", "confirmed"),
}


def advance(
    command: c.ConfirmCustomerOrder | c.PlaceSupplierOrder, context: DecisionContext, policy: Policy
) -> Decision:
    """Confirm a requested customer order, or place a requested supplier order."""
    order = _order(context, command.order_id)
    events = [_advance(command, order)]
    if isinstance(command, c.ConfirmCustomerOrder) and command.reserve_warehouse_id is not None:
        events.append(_reserve(command.reserve_warehouse_id, order, context))
    return rules.settle(events, context, policy, order.order_id)


def cancel(
    command: c.CancelCustomerOrder | c.CancelSupplierOrder, context: DecisionContext, policy: Policy
) -> Decision:
    """Cancel an order before anything was shipped (customer) or received (supplier)."""
    order = _order(context, command.order_id)
    cancelled = _cancel(command, order)
    releases = reservations.release(order, reservations.whole(order), "cancelled", context.now)
    return rules.settle([*releases, cancelled], context, policy, order.order_id)


def ship(command: c.ShipCustomerOrder, context: DecisionContext, policy: Policy) -> Decision:
    """Ship (part of) a customer order: the stock leaves an Oraseas EE warehouse."""
    order = _order(context, command.order_id)
    shipped = _ship(command, order, context)
    releases = reservations.release(order, reservations.shares(order, shipped), "shipped", context.now)
    return rules.settle([*releases, shipped], context, policy, order.order_id)


def receive_customer(command: c.ReceiveCustomerOrder, context: DecisionContext, policy: Policy) -> Decision:
    """The customer receives shipped stock: each receipt line becomes a movement of its own."""
    order = _order(context, command.order_id)
    received = _receive_customer(command, order, context)
    decision = rules.settle([received], context, policy, order.order_id)
    lines = tuple(line.transaction_id for line in received.lines if line.transaction_id is not None)
    return replace(decision, transaction_ids=lines)


def receive_supplier(command: c.ReceiveSupplierOrder, context: DecisionContext, policy: Policy) -> Decision:
    """Ordered stock arrives: one creation movement per line, with the receipt."""
    order = _order(context, command.order_id)
    return rules.settle(_receive_supplier(command, order, context), context, policy, order.order_id)


def _reserve(warehouse_id: UUID, order: OrderState, context: DecisionContext) -> e.StockReserved:
    if context.oraseas_id is None:
        raise errors.InvalidOrganization("there is no Oraseas EE organization to reserve stock of")
    _warehouse_of(context, warehouse_id, context.oraseas_id, receives=True)
    return reservations.reserve(warehouse_id, order, context.now)


def _order(context: DecisionContext, order_id: UUID) -> OrderState:
    order = context.orders.get(order_id)
    if order is None:
        raise errors.UnknownOrder(f"order {order_id} does not exist", order_id=str(order_id))
    return order


def _require(order: OrderState, allowed: tuple[str, ...], action: str) -> None:
    if order.status not in allowed:
        raise errors.InvalidOrderState(
            f"a {order.status} order cannot be {action}",
            order_id=str(order.order_id),
            order_status=order.status,
        )


def _advance(command: c.ConfirmCustomerOrder | c.PlaceSupplierOrder, order: OrderState) -> Event:
    _require(order, ("requested",), "confirmed" if isinstance(command, c.ConfirmCustomerOrder) else "placed")
    if isinstance(command, c.ConfirmCustomerOrder) and order.kind == "customer":
        return e.CustomerOrderConfirmed(order_id=order.order_id, notes=command.notes)
    if isinstance(command, c.PlaceSupplierOrder) and order.kind == "supplier":
        return e.SupplierOrderPlaced(order_id=order.order_id, notes=command.notes)
    raise errors.UnknownOrder(f"order {order.order_id} does not exist", order_id=str(order.order_id))


def _cancel(command: c.CancelCustomerOrder | c.CancelSupplierOrder, order: OrderState) -> Event:
    if isinstance(command, c.CancelCustomerOrder):
        _require(order, CUSTOMER_STATES["cancel"], "cancelled")
        return e.CustomerOrderCancelled(order_id=order.order_id, notes=command.notes)
    _require(order, ("requested", "ordered"), "cancelled")
    if any(line.received for line in order.lines.values()):
        raise errors.InvalidOrderState(
            "an order with receipts cannot be cancelled", order_id=str(order.order_id)
        )
    return e.SupplierOrderCancelled(order_id=order.order_id, notes=command.notes)


def _moves(
    items: tuple[c.MoveItem, ...], order: OrderState, context: DecisionContext, limit: str
) -> list[tuple[UUID, Decimal]]:
    """Check each item against its order line; `limit` says what it may not exceed."""
    moves = []
    for item in rules.one_each(_on_order(items, order), "listed"):
        line = order.lines[item.part_id]
        rules.check_quantity(item.quantity, rules.part(context, item.part_id))
        room = {
            "unshipped": line.ordered - line.shipped,
            "in_transit": line.in_transit,
            "unreceived": line.ordered - line.received,
        }[limit]
        if item.quantity > room:
            raise errors.QuantityExceedsOrder(
                f"part {item.part_id}: {item.quantity} asked, only {room} {limit.replace('_', ' ')}",
                part_id=str(item.part_id),
                available=str(room),
            )
        moves.append((item.part_id, item.quantity))
    return moves


def _on_order(items: tuple[c.MoveItem, ...], order: OrderState) -> Iterator[c.MoveItem]:
    """The items in order; one whose part is not on the order is refused when reached."""
    for item in items:
        if item.part_id not in order.lines:
            raise errors.PartNotOnOrder(
                f"part {item.part_id} is not on this order", part_id=str(item.part_id)
            )
        yield item


def _warehouse_of(context: DecisionContext, warehouse_id: UUID, owner: UUID, *, receives: bool) -> None:
    rules.check_warehouse(context, warehouse_id, receives=receives)
    if context.warehouses[warehouse_id].organization_id != owner:
        raise errors.WrongWarehouseOwner(
            f"warehouse {warehouse_id} does not belong to organization {owner}",
            warehouse_id=str(warehouse_id),
        )


def _ship(
    command: c.ShipCustomerOrder, order: OrderState, context: DecisionContext
) -> e.CustomerOrderShipped:
    _require(order, CUSTOMER_STATES["ship"], "shipped")
    assert context.oraseas_id is not None
    _warehouse_of(context, command.warehouse_id, context.oraseas_id, receives=False)
    moves = _moves(command.items, order, context, "unshipped")
    return e.CustomerOrderShipped(
        order_id=order.order_id,
        shipment_id=rules.new_id(context),
        warehouse_id=command.warehouse_id,
        lines=tuple(e.MovedLine(part_id=p, quantity=q) for p, q in moves),
        shipped_at=context.now,
    )


def _receive_customer(
    command: c.ReceiveCustomerOrder, order: OrderState, context: DecisionContext
) -> e.CustomerOrderReceived:
    _require(order, CUSTOMER_STATES["receive"], "received")
    _warehouse_of(context, command.warehouse_id, order.owner_id, receives=True)
    lines = []
    for part_id, quantity in _moves(command.items, order, context, "in_transit"):
        left = quantity
        for warehouse, part, available in order.in_transit:  # oldest shipment first
            if part != part_id or left == 0:
                continue
            taken = min(available, left)
            left -= taken
            lines.append(
                e.MovedLine(
                    part_id=part_id,
                    quantity=taken,
                    from_warehouse_id=warehouse,
                    transaction_id=rules.new_id(context),
                )
            )
    received = {p: ln.received for p, ln in order.lines.items()}
    for line in lines:
        received[line.part_id] += line.quantity
    completed = all(received[p] >= ln.ordered for p, ln in order.lines.items())
    return e.CustomerOrderReceived(
        order_id=order.order_id,
        receipt_id=rules.new_id(context),
        warehouse_id=command.warehouse_id,
        lines=tuple(lines),
        received_at=context.now,
        completed=completed,
    )


def _receive_supplier(
    command: c.ReceiveSupplierOrder, order: OrderState, context: DecisionContext
) -> list[Event]:
    if order.kind != "supplier":
        raise errors.UnknownOrder(f"order {order.order_id} does not exist", order_id=str(order.order_id))
    _require(order, ("ordered",), "received")
    _warehouse_of(context, command.warehouse_id, order.owner_id, receives=True)
    moves = _moves(command.items, order, context, "unreceived")
    created = [
        StockCreated(
            transaction_id=rules.new_id(context),
            part_id=part_id,
            to_warehouse_id=command.warehouse_id,
            quantity=quantity,
            unit_of_measure=order.lines[part_id].unit_of_measure,
            transaction_date=context.now,
            notes=command.notes,
            reference_number=f"supplier-order {str(order.order_id)[:8]}",
        )
        for part_id, quantity in moves
    ]
    received = {p: ln.received for p, ln in order.lines.items()}
    for part_id, quantity in moves:
        received[part_id] += quantity
    receipt = e.SupplierOrderReceived(
        order_id=order.order_id,
        receipt_id=rules.new_id(context),
        warehouse_id=command.warehouse_id,
        lines=tuple(
            e.MovedLine(part_id=m.part_id, quantity=m.quantity, transaction_id=m.transaction_id)
            for m in created
        ),
        received_at=context.now,
        completed=all(received[p] >= ln.ordered for p, ln in order.lines.items()),
    )
    return [receipt, *created]
