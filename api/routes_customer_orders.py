"""Customer order routes: request, confirm, ship, receive, cancel; lists, availability, stock in transit.

Each command answers with the order as it now stands (folded from its own
stream) and the ledger position; the lists read the order projections.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request

from api.deps import AppSettings, Connection, CurrentUser, IdempotencyKey, Ledger, RequestId
from api.orders import access
from api.orders import queries as q
from api.orders.commands import answer, items, moves
from api.orders.models import (
    ActionIn,
    Availability,
    AvailabilityLine,
    CustomerOrderIn,
    InTransitOut,
    MovementIn,
    OrderOut,
)
from api.pagination import DATED, Cursor, Limit, Page, dated_after, page
from api.principal import Principal
from api.stock.freshness import MinPosition, ensure_fresh
from ledger.orders import commands as c

router = APIRouter(tags=["customer orders"])
Status = Annotated[str | None, Query(max_length=50)]
# An action whose body holds only optional notes: no body at all means no notes, as for the stock decisions.
OptionalAction = Annotated[ActionIn | None, Body()]


@router.post(
    "/customer-orders", status_code=201, response_model=OrderOut, summary="Order parts from Oraseas EE"
)
def request_customer_order(
    body: CustomerOrderIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """A customer orders parts (status `requested`); ordered_by_user_id is the signed-in user."""
    customer = access.customer_for_new_order(caller, body.customer_organization_id)
    command = c.RequestCustomerOrder(
        customer_organization_id=customer,
        items=items(body),
        expected_delivery_date=body.expected_delivery_date,
        notes=body.notes,
    )
    return answer(request, conn, ledger, caller, command, "customer", key, request_id)


def _customer(
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: Principal,
    order_id: UUID,
    action: str,
    command: Any,
    key: str | None,
    request_id: str | None,
) -> OrderOut:
    access.customer_order(conn, caller, order_id, action)
    return answer(request, conn, ledger, caller, command, "customer", key, request_id)


@router.post(
    "/customer-orders/{order_id}/confirm", status_code=201, response_model=OrderOut, summary="Confirm"
)
def confirm_customer_order(
    order_id: UUID,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    body: OptionalAction = None,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Confirm a requested order (Oraseas EE admins)."""
    command = c.ConfirmCustomerOrder(order_id=order_id, notes=body.notes if body else None)
    return _customer(request, conn, ledger, caller, order_id, "confirm", command, key, request_id)


@router.post("/customer-orders/{order_id}/ship", status_code=201, response_model=OrderOut, summary="Ship")
def ship_customer_order(
    order_id: UUID,
    body: MovementIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Ship from an Oraseas EE warehouse: the stock leaves it and is in transit until received."""
    command = c.ShipCustomerOrder(
        order_id=order_id, warehouse_id=body.warehouse_id, items=moves(body), notes=body.notes
    )
    return _customer(request, conn, ledger, caller, order_id, "ship", command, key, request_id)


@router.post(
    "/customer-orders/{order_id}/receive", status_code=201, response_model=OrderOut, summary="Receive"
)
def receive_customer_order(
    order_id: UUID,
    body: MovementIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Receive shipped stock into one of the customer's warehouses."""
    command = c.ReceiveCustomerOrder(
        order_id=order_id, warehouse_id=body.warehouse_id, items=moves(body), notes=body.notes
    )
    return _customer(request, conn, ledger, caller, order_id, "receive", command, key, request_id)


@router.post("/customer-orders/{order_id}/cancel", status_code=201, response_model=OrderOut, summary="Cancel")
def cancel_customer_order(
    order_id: UUID,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    body: OptionalAction = None,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Cancel an order that has shipped nothing (admins)."""
    command = c.CancelCustomerOrder(order_id=order_id, notes=body.notes if body else None)
    return _customer(request, conn, ledger, caller, order_id, "cancel", command, key, request_id)


def _customer_scope(caller: Principal) -> UUID | None:
    return None if access.is_oraseas(caller) else caller.organization_id


@router.get("/customer-orders", response_model=Page[OrderOut], summary="Customer orders")
def list_customer_orders(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    status: Status = None,
    customer_organization_id: UUID | None = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderOut]:
    """A customer's own orders; all of them for Oraseas EE. Newest first."""
    ensure_fresh(conn, settings, ("customer_orders",), min_position)
    customer = _customer_scope(caller) or customer_organization_id
    if customer_organization_id is not None and customer != customer_organization_id:
        return Page[OrderOut](items=[], next_cursor=None)
    params = {"customer": customer, "status": status, "id": None, "limit": limit + 1} | dated_after(cursor)
    found = q.customer_orders(conn, params)
    return page(found, limit, DATED, q.listed_key)


@router.get("/customer-orders/{order_id}", response_model=OrderOut, summary="One customer order")
def get_customer_order(
    order_id: UUID,
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
) -> OrderOut:
    """The order with per-line ordered, shipped, received and in-transit quantities."""
    access.customer_order(conn, caller, order_id, "read")
    ensure_fresh(conn, settings, ("customer_orders",), min_position)
    found = q.customer_orders(
        conn,
        {"customer": None, "status": None, "id": order_id, "limit": 1, "after_date": None, "after_id": None},
    )
    if not found:  # recorded, not projected yet: the stream knows
        return q.from_stream(conn, "customer", order_id, None, [])
    return found[0]


@router.get(
    "/customer-orders/{order_id}/availability", response_model=Availability, summary="Can a warehouse fill it"
)
def availability(order_id: UUID, warehouse_id: UUID, conn: Connection, caller: CurrentUser) -> Availability:
    """Whether the chosen Oraseas EE warehouse holds, now, what is left to ship of each line."""
    access.customer_order(conn, caller, order_id, "ship")
    order = q.from_stream(conn, "customer", order_id, None, [])
    stock = q.on_hand(conn, warehouse_id, [line.part_id for line in order.items])
    lines = []
    for line in order.items:
        left = line.quantity - (line.shipped_quantity or 0)
        have = stock.get(line.part_id, 0)
        lines.append(
            AvailabilityLine(
                part_id=line.part_id, remaining_to_ship=left, on_hand=have, sufficient=have >= left
            )
        )
    return Availability(
        order_id=order_id, warehouse_id=warehouse_id, can_fill=all(x.sufficient for x in lines), items=lines
    )


@router.get("/reports/in-transit", response_model=list[InTransitOut], summary="Stock in transit")
def in_transit(
    conn: Connection, settings: AppSettings, caller: CurrentUser, min_position: MinPosition = None
) -> list[InTransitOut]:
    """Customer order lines shipped and not yet received (a customer sees its own)."""
    ensure_fresh(conn, settings, ("customer_orders",), min_position)
    return [InTransitOut(**r) for r in q.in_transit(conn, _customer_scope(caller))]
