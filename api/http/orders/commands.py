"""Order commands over HTTP: build the ledger command from a body, run it, answer with the order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from api.http.deps import Ctx
from api.http.location import created
from api.http.orders import queries as q
from api.http.orders.schemas import (
    ActionIn,
    ConfirmIn,
    CustomerOrderIn,
    MovementIn,
    OrderOut,
    SupplierOrderIn,
)
from ledger.orders import commands as c

# Builds an action's command from the order id and the body (of the action's own body model).
Build = Callable[[UUID, Any], c.OrderCommand]


def items(body: CustomerOrderIn | SupplierOrderIn) -> tuple[c.OrderItem, ...]:
    """The ordered lines of a request body."""
    return tuple(
        c.OrderItem(part_id=i.part_id, quantity=i.quantity, unit_price=i.unit_price) for i in body.items
    )


def moves(body: MovementIn) -> tuple[c.MoveItem, ...]:
    """The shipped or received lines of a request body."""
    return tuple(c.MoveItem(part_id=i.part_id, quantity=i.quantity) for i in body.items)


def answer(ctx: Ctx, command: c.OrderCommand, kind: str) -> OrderOut:
    """Run `command` and describe its order as the order's stream now tells it."""
    result = ctx.run(command)
    assert result.order_id is not None
    created(ctx.response, f"/{kind}-orders", result.order_id)
    return q.from_stream(ctx.conn, kind, result.order_id, result.position, list(result.warnings))


def movement(make: Callable[..., c.OrderCommand]) -> Build:
    """Build a ship or receive command (`make`) from a MovementIn body."""

    def build(order_id: UUID, body: MovementIn) -> c.OrderCommand:
        return make(order_id=order_id, warehouse_id=body.warehouse_id, items=moves(body), notes=body.notes)

    return build


def plain(make: Callable[..., c.OrderCommand]) -> Build:
    """Build a confirm, place or cancel command (`make`) from an ActionIn body."""

    def build(order_id: UUID, body: ActionIn) -> c.OrderCommand:
        return make(order_id=order_id, notes=body.notes)

    return build


def confirm(make: Callable[..., c.OrderCommand]) -> Build:
    """Build a customer order's confirmation (`make`) from a ConfirmIn body: notes, where to reserve."""

    def build(order_id: UUID, body: ConfirmIn) -> c.OrderCommand:
        return make(order_id=order_id, notes=body.notes, reserve_warehouse_id=body.reserve_warehouse_id)

    return build
