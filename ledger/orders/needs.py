"""What an order command loads: its order's stream, then the parts, warehouses and organizations it reads."""

from __future__ import annotations

from uuid import UUID

from ledger.fold import StockKey
from ledger.needs import Found, Needs, Streams
from ledger.orders import commands as c
from ledger.orders.events import customer_order_stream, supplier_order_stream
from ledger.orders.state import OrderState

OnCustomerOrder = (
    c.ConfirmCustomerOrder | c.CancelCustomerOrder | c.ShipCustomerOrder | c.ReceiveCustomerOrder
)
OnSupplierOrder = c.PlaceSupplierOrder | c.ReceiveSupplierOrder | c.CancelSupplierOrder
MovesStock = c.ShipCustomerOrder | c.ReceiveCustomerOrder | c.ReceiveSupplierOrder


def streams(command: c.OrderCommand) -> Streams:
    """The order's stream, for a command on an existing order (a request opens a new one)."""
    if isinstance(command, OnCustomerOrder):
        return Streams(order_streams=frozenset({customer_order_stream(command.order_id)}))
    if isinstance(command, OnSupplierOrder):
        return Streams(order_streams=frozenset({supplier_order_stream(command.order_id)}))
    return Streams()


def needs(command: c.OrderCommand, found: Found) -> Needs:
    """The parts named and on the order, the warehouse, the organizations; moved levels are locked.

    So are the levels a confirmation reserves in, and those whose reservation a shipment or a
    cancellation releases (the order's reservation warehouse).

    Organizations are always read: every order rule may ask for the Oraseas EE one.
    """
    parts = {item.part_id for item in getattr(command, "items", ())}
    order = (
        found.orders.get(command.order_id) if isinstance(command, OnCustomerOrder | OnSupplierOrder) else None
    )
    if order is not None:
        parts |= set(order.lines)
    warehouses = {command.warehouse_id} if isinstance(command, MovesStock) else set()
    lock = (
        {(command.warehouse_id, item.part_id) for item in command.items}
        if isinstance(command, MovesStock)
        else set()
    )
    if isinstance(command, c.ConfirmCustomerOrder) and command.reserve_warehouse_id is not None:
        warehouses.add(command.reserve_warehouse_id)
        lock |= {(command.reserve_warehouse_id, p) for p in (order.lines if order else ())}
    if order is not None and order.reserved_in is not None:
        lock |= _reservation_levels(command, order)
    return Needs(
        part_ids=frozenset(parts),
        warehouse_ids=frozenset(warehouses),
        organization_ids=frozenset(_organization_ids(command)),
        lock=frozenset(lock),
    )


def _reservation_levels(command: c.OrderCommand, order: OrderState) -> set[StockKey]:
    """The levels whose reservation a shipment consumes or a cancellation releases."""
    assert order.reserved_in is not None
    if isinstance(command, c.ShipCustomerOrder):
        return {(order.reserved_in, item.part_id) for item in command.items}
    if isinstance(command, c.CancelCustomerOrder):
        return {(order.reserved_in, p) for p, line in order.lines.items() if line.reserved}
    return set()


def _organization_ids(command: c.OrderCommand) -> list[UUID]:
    return [
        getattr(command, name)
        for name in ("customer_organization_id", "ordering_organization_id", "supplier_organization_id")
        if getattr(command, name, None) is not None
    ]
