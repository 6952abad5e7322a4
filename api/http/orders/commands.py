"""Order commands over HTTP: build the ledger command from a body, run it, answer with the order.

The actions on an existing order (confirm, ship, place, receive, cancel) differ only in their path,
body, command and who may do them, so each order kind lists them in a table of `Action`s and
`add_actions` makes one route of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.http.auth.principal import Principal
from api.http.deps import Ctx
from api.http.orders import queries as q
from api.http.orders.schemas import ActionIn, CustomerOrderIn, MovementIn, OrderOut, SupplierOrderIn
from ledger.orders import commands as c
from ledger.postgres.eventstore import Connection

# Raises unless the caller may do the action (by name) on the order; what it returns is not used.
Check = Callable[[Connection, Principal, UUID, str], object]
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
    return q.from_stream(ctx.conn, kind, result.order_id, result.position, list(result.warnings))


@dataclass(frozen=True)
class Action:
    """One action on an existing order: `POST /<orders>/{order_id}/<name>`."""

    name: str  # the path's last segment, and the action `Check` is asked about
    body: type[ActionIn] | type[MovementIn]
    command: Build
    summary: str
    doc: str


def _route(kind: str, check: Check, action: Action) -> Callable[..., OrderOut]:
    def route(order_id: UUID, body: ActionIn, ctx: Ctx) -> OrderOut:
        check(ctx.conn, ctx.caller, order_id, action.name)
        return answer(ctx, action.command(order_id, body), kind)

    # FastAPI reads the body's model from the annotation: each action declares its own.
    route.__annotations__["body"] = action.body
    route.__doc__ = action.doc
    return route


def add_actions(router: APIRouter, kind: str, check: Check, actions: tuple[Action, ...]) -> None:
    """Add one route per action to `router`, named as the hand-written routes were (`ship_customer_order`)."""
    for action in actions:
        router.add_api_route(
            f"/{kind}-orders/{{order_id}}/{action.name}",
            _route(kind, check, action),
            methods=["POST"],
            status_code=201,
            response_model=OrderOut,
            summary=action.summary,
            name=f"{action.name}_{kind}_order",
        )


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
