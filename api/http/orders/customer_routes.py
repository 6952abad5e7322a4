"""Customer order routes: request, confirm, ship, receive, cancel; lists, availability, stock in transit.

Each command answers with the order as it now stands (folded from its own
stream) and the ledger position; the lists read the order projections.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.auth.principal import Principal
from api.http.deps import AppSettings, Connection, Ctx, CurrentUser, ReadConnection
from api.http.orders import access
from api.http.orders import queries as q
from api.http.orders.commands import answer, items
from api.http.orders.routing import Action, add_actions, add_read
from api.http.orders.schemas import (
    Availability,
    AvailabilityLine,
    CustomerOrderIn,
    InTransitOut,
    OrderOut,
)
from api.http.pagination import Cursor, Limit, Page, dated_after
from api.http.stock.freshness import MinPosition, ensure_fresh
from ledger.orders import commands as c
from ledger.postgres import queries

router = APIRouter(tags=["customer orders"])
Status = Annotated[str | None, Query(max_length=50)]


@router.post(
    "/customer-orders", status_code=201, response_model=OrderOut, summary="Order parts from Oraseas EE"
)
def request_customer_order(body: CustomerOrderIn, ctx: Ctx) -> OrderOut:
    """A customer orders parts (status `requested`); ordered_by_user_id is the signed-in user."""
    customer = access.customer_for_new_order(ctx.caller, body.customer_organization_id)
    command = c.RequestCustomerOrder(
        customer_organization_id=customer,
        items=items(body),
        expected_delivery_date=body.expected_delivery_date,
        notes=body.notes,
    )
    return answer(ctx, command, "customer")


ACTIONS = (
    Action.confirm(
        c.ConfirmCustomerOrder,
        "Confirm a requested order (Oraseas EE admins); with `reserve_warehouse_id`, reserve its lines"
        " there: under `reject` the stock must be available (409 `stock_reserved` or"
        " `insufficient_stock` otherwise).",
    ),
    Action.movement(
        "ship",
        c.ShipCustomerOrder,
        "Ship from an Oraseas EE warehouse: the stock leaves it and is in transit until received.",
    ),
    Action.movement(
        "receive", c.ReceiveCustomerOrder, "Receive shipped stock into one of the customer's warehouses."
    ),
    Action.plain("cancel", c.CancelCustomerOrder, "Cancel an order that has shipped nothing (admins)."),
)
add_actions(router, "customer", access.customer_order, ACTIONS)


def _customer_scope(caller: Principal) -> UUID | None:
    return None if access.is_oraseas(caller) else caller.organization_id


@router.get("/customer-orders", response_model=Page[OrderOut], summary="Customer orders")
def list_customer_orders(
    conn: Connection,
    reads: ReadConnection,
    settings: AppSettings,
    caller: CurrentUser,
    status: Status = None,
    customer_organization_id: UUID | None = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderOut]:
    """A customer's own orders; all of them for Oraseas EE. Newest first."""
    after = dated_after(cursor)  # a bad cursor is refused before any wait
    ensure_fresh(reads, settings, ("customer_orders", "stock_reservations"), min_position, primary=conn)
    customer = _customer_scope(caller) or customer_organization_id
    if customer_organization_id is not None and customer != customer_organization_id:
        return Page[OrderOut](items=[], next_cursor=None)
    params = {"customer": customer, "status": status, "id": None, "limit": limit + 1} | after
    return q.order_page(q.customer_orders(reads, params), limit)


add_read(
    router,
    "customer",
    access.customer_order,
    "The order with per-line ordered, shipped, received and in-transit quantities.",
)


@router.get(
    "/customer-orders/{order_id}/availability", response_model=Availability, summary="Can a warehouse fill it"
)
def availability(order_id: UUID, warehouse_id: UUID, conn: Connection, caller: CurrentUser) -> Availability:
    """Whether the chosen Oraseas EE warehouse holds, now, what is left to ship of each line.

    Stock reserved there for other customer orders does not count; this order's own reservation does.
    """
    access.customer_order(conn, caller, order_id, "ship")
    access.warehouse_in_reach(conn, caller, warehouse_id)
    order = q.from_stream(conn, "customer", order_id, None, [])
    found = queries.levels(conn, warehouse_id, [line.part_id for line in order.items])
    lines = []
    for line in order.items:
        left = line.quantity - (line.shipped_quantity or 0)
        have, reserved = found.get(line.part_id, (D(0), D(0)))
        own = (line.reserved_quantity or D(0)) if order.reserve_warehouse_id == warehouse_id else D(0)
        available = have - reserved + own
        lines.append(
            AvailabilityLine(
                part_id=line.part_id,
                remaining_to_ship=left,
                on_hand=have,
                reserved=reserved,
                reserved_for_order=own,
                available=available,
                sufficient=available >= left,
            )
        )
    return Availability(
        order_id=order_id, warehouse_id=warehouse_id, can_fill=all(x.sufficient for x in lines), items=lines
    )


@router.get("/reports/in-transit", response_model=list[InTransitOut], summary="Stock in transit")
def in_transit(
    conn: Connection,
    reads: ReadConnection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
) -> list[InTransitOut]:
    """Customer order lines shipped and not yet received (a customer sees its own)."""
    ensure_fresh(reads, settings, ("customer_orders",), min_position, primary=conn)
    return [InTransitOut(**r) for r in q.in_transit(reads, _customer_scope(caller))]
