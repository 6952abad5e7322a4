"""The order rules: decide(command, context, policy) returns the order's events and movements, or raises.

Pure, like ledger.decide, whose quantity, unit, warehouse and stock checks it
reuses: moving stock through an order obeys the same rules as any movement.
An order's movements are authorized by the order itself (an Oraseas EE admin
confirms customer orders; supplier orders are Oraseas EE's own), so they are
not held for approval again.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ledger import decide as rules
from ledger import errors
from ledger.decide import Decision, Needs
from ledger.events import Event, StockCreated
from ledger.orders import commands as c
from ledger.orders import events as e
from ledger.orders.state import OrderState
from ledger.policy import Policy
from ledger.state import DecisionContext

CUSTOMER_STATES = {
    "ship": ("confirmed", "shipped"),
    "receive": ("shipped",),
    "cancel": ("requested", "confirmed"),
}
SUPPLIER_SOURCES = ("supplier", "bossaqua")


def needs(command: c.OrderCommand) -> Needs:
    """Reference data the command reads (orders themselves are loaded by id, see order_id)."""
    parts = {item.part_id for item in getattr(command, "items", ())}
    warehouses = {command.warehouse_id} if hasattr(command, "warehouse_id") else set()
    return Needs(part_ids=frozenset(parts), warehouse_ids=frozenset(warehouses))


def decide(command: c.OrderCommand, context: DecisionContext, policy: Policy) -> Decision:
    """Check every rule for `command`; return the events to record."""
    if context.actor is None or not context.actor.is_active:
        raise errors.UnknownUser("the acting user does not exist or is not active")
    if isinstance(command, c.RequestCustomerOrder):
        return _done([_request_customer(command, context)], context, policy)
    if isinstance(command, c.RequestSupplierOrder):
        return _done([_request_supplier(command, context)], context, policy)
    order = _order(context, command.order_id)
    expected = {_stream(order): order.version}
    if isinstance(command, c.ConfirmCustomerOrder | c.PlaceSupplierOrder):
        return _done([_advance(command, order)], context, policy, expected)
    if isinstance(command, c.CancelCustomerOrder | c.CancelSupplierOrder):
        return _done([_cancel(command, order)], context, policy, expected)
    if isinstance(command, c.ShipCustomerOrder):
        return _done([_ship(command, order, context)], context, policy, expected)
    if isinstance(command, c.ReceiveCustomerOrder):
        return _done([_receive_customer(command, order, context)], context, policy, expected)
    return _done(_receive_supplier(command, order, context), context, policy, expected)


def _done(
    events: list[Event], context: DecisionContext, policy: Policy, expected: dict[str, int] | None = None
) -> Decision:
    return rules._check_stock(events, expected or {}, context, policy)


def _stream(order: OrderState) -> str:
    if order.kind == "customer":
        return e.customer_order_stream(order.order_id)
    return e.supplier_order_stream(order.order_id)


def _order(context: DecisionContext, order_id: UUID) -> OrderState:
    order = context.orders.get(order_id)
    if order is None:
        raise errors.UnknownOrder(f"order {order_id} does not exist", order_id=str(order_id))
    return order


def _lines(items: tuple[c.OrderItem, ...], context: DecisionContext) -> tuple[e.OrderLine, ...]:
    seen: set[UUID] = set()
    lines = []
    for item in items:
        if item.part_id in seen:
            raise errors.DuplicateItem(f"part {item.part_id} is listed twice", part_id=str(item.part_id))
        seen.add(item.part_id)
        part = rules._part(context, item.part_id)
        rules._check_quantity(item.quantity, part)
        lines.append(
            e.OrderLine(
                part_id=part.id,
                quantity=item.quantity,
                unit_price=item.unit_price,
                unit_of_measure=part.unit_of_measure,
            )
        )
    return tuple(lines)


def _organization(context: DecisionContext, organization_id: UUID, types: tuple[str, ...]) -> str:
    organization = context.organizations.get(organization_id)
    if organization is None or organization.organization_type not in types or not organization.is_active:
        raise errors.InvalidOrganization(
            f"organization {organization_id} is not an active {' or '.join(types)} organization",
            organization_id=str(organization_id),
        )
    return organization.name


def _request_customer(command: c.RequestCustomerOrder, context: DecisionContext) -> Event:
    _organization(context, command.customer_organization_id, ("customer",))
    if context.oraseas_id is None:
        raise errors.InvalidOrganization("there is no Oraseas EE organization to order from")
    return e.CustomerOrderRequested(
        order_id=rules._new_id(context),
        customer_organization_id=command.customer_organization_id,
        oraseas_organization_id=context.oraseas_id,
        order_date=context.now,
        expected_delivery_date=command.expected_delivery_date,
        notes=command.notes,
        lines=_lines(command.items, context),
    )


def _request_supplier(command: c.RequestSupplierOrder, context: DecisionContext) -> Event:
    _organization(context, command.ordering_organization_id, ("oraseas_ee",))
    name = command.supplier_name
    if command.supplier_organization_id is not None:
        name = _organization(context, command.supplier_organization_id, SUPPLIER_SOURCES)
    if not name:
        raise errors.InvalidOrganization("name the supplier: supplier_organization_id or supplier_name")
    return e.SupplierOrderRequested(
        order_id=rules._new_id(context),
        ordering_organization_id=command.ordering_organization_id,
        supplier_organization_id=command.supplier_organization_id,
        supplier_name=name,
        order_date=context.now,
        expected_delivery_date=command.expected_delivery_date,
        notes=command.notes,
        lines=_lines(command.items, context),
    )


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
    seen: set[UUID] = set()
    moves = []
    for item in items:
        line = order.lines.get(item.part_id)
        if line is None:
            raise errors.PartNotOnOrder(
                f"part {item.part_id} is not on this order", part_id=str(item.part_id)
            )
        if item.part_id in seen:
            raise errors.DuplicateItem(f"part {item.part_id} is listed twice", part_id=str(item.part_id))
        seen.add(item.part_id)
        rules._check_quantity(item.quantity, rules._part(context, item.part_id))
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


def _warehouse_of(context: DecisionContext, warehouse_id: UUID, owner: UUID, *, receives: bool) -> None:
    rules._check_warehouse(context, warehouse_id, receives=receives)
    if context.warehouses[warehouse_id].organization_id != owner:
        raise errors.WrongWarehouseOwner(
            f"warehouse {warehouse_id} does not belong to organization {owner}",
            warehouse_id=str(warehouse_id),
        )


def _ship(command: c.ShipCustomerOrder, order: OrderState, context: DecisionContext) -> Event:
    _require(order, CUSTOMER_STATES["ship"], "shipped")
    assert context.oraseas_id is not None
    _warehouse_of(context, command.warehouse_id, context.oraseas_id, receives=False)
    moves = _moves(command.items, order, context, "unshipped")
    return e.CustomerOrderShipped(
        order_id=order.order_id,
        shipment_id=rules._new_id(context),
        warehouse_id=command.warehouse_id,
        lines=tuple(e.MovedLine(part_id=p, quantity=q) for p, q in moves),
        shipped_at=context.now,
    )


def _receive_customer(command: c.ReceiveCustomerOrder, order: OrderState, context: DecisionContext) -> Event:
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
                    transaction_id=rules._new_id(context),
                )
            )
    received = {p: ln.received for p, ln in order.lines.items()}
    for line in lines:
        received[line.part_id] += line.quantity
    completed = all(received[p] >= ln.ordered for p, ln in order.lines.items())
    return e.CustomerOrderReceived(
        order_id=order.order_id,
        receipt_id=rules._new_id(context),
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
            transaction_id=rules._new_id(context),
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
        receipt_id=rules._new_id(context),
        warehouse_id=command.warehouse_id,
        lines=tuple(
            e.MovedLine(part_id=m.part_id, quantity=m.quantity, transaction_id=m.transaction_id)
            for m in created
        ),
        received_at=context.now,
        completed=all(received[p] >= ln.ordered for p, ln in order.lines.items()),
    )
    return [receipt, *created]
