"""The routes every order kind has, made from a table: the actions on an order, and reading one.

The actions on an existing order (confirm, ship, place, receive, cancel) differ only in their path,
body, command and who may do them, so each order kind lists them as `Action`s and `add_actions`
makes one route of each; `add_read` makes GET /<kind>-orders/{order_id}. The routes keep the names
the hand-written ones had (`ship_customer_order`), so the OpenAPI operation ids stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body

from api.http.auth.principal import Principal
from api.http.deps import AppSettings, Connection, Ctx, CurrentUser, ReadConnection
from api.http.orders import queries as q
from api.http.orders.commands import Build, answer, confirm, movement, plain
from api.http.orders.schemas import ActionIn, ConfirmIn, MovementIn, OrderOut
from api.http.stock.freshness import MinPosition, ensure_fresh
from ledger.orders import commands as c

# Raises unless the caller may do the action (by name) on the order; what it returns is not used.
Check = Callable[[Connection, Principal, UUID, str], object]


@dataclass(frozen=True)
class Action:
    """One action on an existing order: `POST /<orders>/{order_id}/<name>`."""

    name: str  # the path's last segment, and the action `Check` is asked about
    body: type[ActionIn] | type[ConfirmIn] | type[MovementIn]
    command: Build
    doc: str

    @classmethod
    def plain(cls, name: str, make: Callable[..., c.OrderCommand], doc: str) -> Action:
        """An action with notes only (confirm, place, cancel): `make(order_id=..., notes=...)`."""
        return cls(name, ActionIn, plain(make), doc)

    @classmethod
    def confirm(cls, make: Callable[..., c.OrderCommand], doc: str) -> Action:
        """A customer order's confirmation: notes, and optionally a warehouse to reserve the lines in."""
        return cls("confirm", ConfirmIn, confirm(make), doc)

    @classmethod
    def movement(cls, name: str, make: Callable[..., c.OrderCommand], doc: str) -> Action:
        """An action that moves stock (ship, receive): `make` also gets the warehouse and the lines."""
        return cls(name, MovementIn, movement(make), doc)


def _route(kind: str, check: Check, action: Action) -> Callable[..., OrderOut]:
    def route(order_id: UUID, ctx: Ctx, body: Any = None) -> OrderOut:
        check(ctx.conn, ctx.caller, order_id, action.name)
        # Only a body of optional fields may be absent (see below): its model builds with no arguments.
        return answer(ctx, action.command(order_id, body or action.body.model_validate({})), kind)

    # FastAPI reads the body's model from the annotation: each action declares its own. A body of
    # optional fields only may be left out altogether (no body means no notes, as for stock decisions).
    optional = issubclass(action.body, ActionIn)
    route.__annotations__["body"] = Annotated[action.body | None, Body()] if optional else action.body
    route.__defaults__ = (None,) if optional else ()
    route.__doc__ = action.doc
    return route


def add_actions(router: APIRouter, kind: str, check: Check, actions: tuple[Action, ...]) -> None:
    """Add one route per action to `router`."""
    for action in actions:
        router.add_api_route(
            f"/{kind}-orders/{{order_id}}/{action.name}",
            _route(kind, check, action),
            methods=["POST"],
            status_code=201,
            response_model=OrderOut,
            summary=action.name.capitalize(),
            name=f"{action.name}_{kind}_order",
        )


def add_read(router: APIRouter, kind: str, check: Check, doc: str) -> None:
    """Add GET /<kind>-orders/{order_id}: the order, once `check` lets the caller read it."""
    # A customer order's lines show what it holds reserved, from the stock_reservations projection.
    projected = (f"{kind}_orders", "stock_reservations") if kind == "customer" else (f"{kind}_orders",)

    def route(
        order_id: UUID,
        conn: Connection,
        reads: ReadConnection,
        settings: AppSettings,
        caller: CurrentUser,
        min_position: MinPosition = None,
    ) -> OrderOut:
        check(conn, caller, order_id, "read")
        ensure_fresh(reads, settings, projected, min_position, primary=conn)
        return q.one_order(reads, kind, order_id, log=conn)

    route.__doc__ = doc
    router.add_api_route(
        f"/{kind}-orders/{{order_id}}",
        route,
        methods=["GET"],
        response_model=OrderOut,
        summary=f"One {kind} order",
        name=f"get_{kind}_order",
    )
