"""An order's current state, folded from its stream: status; per line ordered, shipped, received, reserved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from uuid import UUID

from ledger.events import Event
from ledger.orders import events as e

ZERO = Decimal(0)


@dataclass(frozen=True)
class LineState:
    """One ordered part: how much was ordered, shipped and received."""

    part_id: UUID
    ordered: Decimal
    unit_price: Decimal | None
    unit_of_measure: str
    shipped: Decimal = ZERO
    received: Decimal = ZERO
    reserved: Decimal = ZERO  # still reserved for this line in the order's reservation warehouse

    @property
    def in_transit(self) -> Decimal:
        """Shipped and not yet received (customer orders)."""
        return self.shipped - self.received


@dataclass(frozen=True)
class OrderState:
    """A customer or supplier order as its stream tells it now."""

    order_id: UUID
    kind: str  # 'customer' | 'supplier'
    status: str
    owner_id: UUID  # the customer (customer orders) or the ordering organization (supplier orders)
    lines: dict[UUID, LineState]
    version: int
    # Shipments not yet fully received, oldest first: (warehouse, part, quantity left in transit).
    in_transit: tuple[tuple[UUID, UUID, Decimal], ...] = field(default=())
    reserved_in: UUID | None = None  # the warehouse the order reserved its lines in, if any


def order_state(events: Iterable[tuple[int, Event]]) -> OrderState | None:
    """Fold an order stream's (version, event) pairs into its current state."""
    state: OrderState | None = None
    for version, event in events:
        state = _evolve(state, event, version)
    return state


def _evolve(state: OrderState | None, event: Event, version: int) -> OrderState | None:
    if isinstance(event, e.CustomerOrderRequested | e.SupplierOrderRequested):
        kind = "customer" if isinstance(event, e.CustomerOrderRequested) else "supplier"
        owner = (
            event.customer_organization_id
            if isinstance(event, e.CustomerOrderRequested)
            else event.ordering_organization_id
        )
        lines = {
            line.part_id: LineState(line.part_id, line.quantity, line.unit_price, line.unit_of_measure)
            for line in event.lines
        }
        return OrderState(event.order_id, kind, "requested", owner, lines, version)
    if state is None:
        return None
    if isinstance(event, e.CustomerOrderConfirmed):
        return replace(state, status="confirmed", version=version)
    if isinstance(event, e.SupplierOrderPlaced):
        return replace(state, status="ordered", version=version)
    if isinstance(event, e.CustomerOrderCancelled | e.SupplierOrderCancelled):
        return replace(state, status="cancelled", version=version)
    if isinstance(event, e.StockReserved):
        lines = _add(state.lines, event.lines, "reserved")
        return replace(state, lines=lines, reserved_in=event.warehouse_id, version=version)
    if isinstance(event, e.StockReservationReleased):
        released = (e.ReservedLine(part_id=ln.part_id, quantity=-ln.quantity) for ln in event.lines)
        return replace(state, lines=_add(state.lines, released, "reserved"), version=version)
    if isinstance(event, e.CustomerOrderShipped):
        lines = _add(state.lines, event.lines, "shipped")
        transit = state.in_transit + tuple(
            (event.warehouse_id, ln.part_id, ln.quantity) for ln in event.lines
        )
        return replace(state, status="shipped", lines=lines, in_transit=transit, version=version)
    if isinstance(event, e.CustomerOrderReceived):
        lines = _add(state.lines, event.lines, "received")
        status = "received" if event.completed else state.status
        return replace(state, status=status, lines=lines, in_transit=_take(state, event), version=version)
    if isinstance(event, e.SupplierOrderReceived):
        lines = _add(state.lines, event.lines, "received")
        status = "received" if event.completed else state.status
        return replace(state, status=status, lines=lines, version=version)
    return replace(state, version=version)


def _add(
    lines: dict[UUID, LineState], moved: Iterable[e.MovedLine | e.ReservedLine], attribute: str
) -> dict[UUID, LineState]:
    result = dict(lines)
    for line in moved:
        current = result[line.part_id]
        result[line.part_id] = replace(current, **{attribute: getattr(current, attribute) + line.quantity})
    return result


def _take(state: OrderState, event: e.CustomerOrderReceived) -> tuple[tuple[UUID, UUID, Decimal], ...]:
    """What stays in transit after a receipt: each receipt line names the shipment warehouse it drew on."""
    remaining = list(state.in_transit)
    for line in event.lines:
        left = line.quantity
        for i, (warehouse, part, quantity) in enumerate(remaining):
            if left > 0 and part == line.part_id and warehouse == line.from_warehouse_id and quantity > 0:
                taken = min(quantity, left)
                remaining[i] = (warehouse, part, quantity - taken)
                left -= taken
    return tuple(entry for entry in remaining if entry[2] > 0)
