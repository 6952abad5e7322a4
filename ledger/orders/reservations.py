"""Reservations of a customer order: what confirming reserves, what shipping and cancelling release.

A confirmation may reserve what is left to ship of every line in one Oraseas EE
warehouse (one StockReserved event); the checks against available stock are
ledger.rules.settle's, on the same locked levels as every movement.

Pro rata: a shipment of q units of a line whose unshipped rest is u and whose
open reservation is r releases r x q / u of it, rounded down to 0.001, and all of
r when q = u (the line is then fully shipped). A reservation covers its whole
line, so this is exactly q units; a fully shipped line keeps nothing reserved. A
shipment from another warehouse releases the same share: the order needs that
much less. Cancelling releases what is left. Pure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal
from uuid import UUID

from ledger.events import Event
from ledger.orders import events as e
from ledger.orders.state import LineState, OrderState

Reason = Literal["shipped", "cancelled"]


def reserve(warehouse_id: UUID, order: OrderState, now: datetime) -> e.StockReserved:
    """Reserve what is left to ship of every line in `warehouse_id` (already checked by the caller)."""
    lines = tuple(
        e.ReservedLine(part_id=ln.part_id, quantity=ln.ordered - ln.shipped)
        for ln in order.lines.values()
        if ln.ordered > ln.shipped
    )
    return e.StockReserved(
        order_id=order.order_id,
        customer_organization_id=order.owner_id,
        warehouse_id=warehouse_id,
        lines=lines,
        reserved_at=now,
    )


def pro_rata(line: LineState, quantity: Decimal) -> Decimal:
    """The share of a line's open reservation that shipping `quantity` of it consumes."""
    unshipped = line.ordered - line.shipped
    if line.reserved <= 0:
        return Decimal(0)
    if quantity >= unshipped:
        return line.reserved
    share = (line.reserved * quantity / unshipped).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
    return min(line.reserved, share)


def shares(order: OrderState, shipped: e.CustomerOrderShipped) -> dict[UUID, Decimal]:
    """Per part, what a shipment consumes of the order's reservation."""
    return {ln.part_id: pro_rata(order.lines[ln.part_id], ln.quantity) for ln in shipped.lines}


def whole(order: OrderState) -> dict[UUID, Decimal]:
    """Per part, everything still reserved (what a cancellation releases)."""
    return {p: ln.reserved for p, ln in order.lines.items()}


def release(order: OrderState, quantities: dict[UUID, Decimal], reason: Reason, now: datetime) -> list[Event]:
    """The release of `quantities` from the order's reservation (no event when nothing is released)."""
    lines = tuple(e.ReservedLine(part_id=p, quantity=q) for p, q in quantities.items() if q > 0)
    if order.reserved_in is None or not lines:
        return []
    released = e.StockReservationReleased(
        order_id=order.order_id, warehouse_id=order.reserved_in, lines=lines, reason=reason, released_at=now
    )
    return [released]
