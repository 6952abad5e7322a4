"""Supplier order routes: Oraseas EE orders from suppliers (request, place, receive, cancel), lists them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.http.deps import AppSettings, Connection, Ctx, CurrentUser
from api.http.orders import access
from api.http.orders import queries as q
from api.http.orders.commands import Action, add_actions, answer, items, movement, plain
from api.http.orders.customer_routes import Status
from api.http.orders.schemas import (
    ActionIn,
    MovementIn,
    OrderOut,
    SupplierOrderIn,
)
from api.http.pagination import Cursor, Limit, Page, dated_after, page
from api.http.problems import ApiError
from api.http.stock.freshness import MinPosition, ensure_fresh
from ledger.orders import commands as c

router = APIRouter(tags=["supplier orders"])


@router.post("/supplier-orders", status_code=201, response_model=OrderOut, summary="Order from a supplier")
def request_supplier_order(body: SupplierOrderIn, ctx: Ctx) -> OrderOut:
    """Oraseas EE drafts an order to a supplier (status `requested`)."""
    access.supplier_order(ctx.conn, ctx.caller, None, "request")
    oraseas = ctx.conn.execute(
        "SELECT id FROM organizations WHERE organization_type = 'oraseas_ee'"
    ).fetchone()
    if oraseas is None:
        raise ApiError(
            409, "invalid_organization", "there is no Oraseas EE organization; run abparts bootstrap"
        )
    command = c.RequestSupplierOrder(
        ordering_organization_id=oraseas[0],
        supplier_organization_id=body.supplier_organization_id,
        supplier_name=body.supplier_name,
        items=items(body),
        expected_delivery_date=body.expected_delivery_date,
        notes=body.notes,
    )
    return answer(ctx, command, "supplier")


ACTIONS = (
    Action(
        "place",
        ActionIn,
        plain(c.PlaceSupplierOrder),
        "Place",
        "Send a requested order to the supplier (requested to ordered; admins).",
    ),
    Action(
        "receive",
        MovementIn,
        movement(c.ReceiveSupplierOrder),
        "Receive",
        "Receive ordered stock into an Oraseas EE warehouse: one creation movement per line.",
    ),
    Action(
        "cancel",
        ActionIn,
        plain(c.CancelSupplierOrder),
        "Cancel",
        "Cancel an order that has received nothing (admins).",
    ),
)
add_actions(router, "supplier", access.supplier_order, ACTIONS)


@router.get("/supplier-orders", response_model=Page[OrderOut], summary="Supplier orders")
def list_supplier_orders(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    status: Status = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderOut]:
    """Oraseas EE's supplier orders, newest first."""
    access.supplier_order(conn, caller, None, "read")
    ensure_fresh(conn, settings, ("supplier_orders",), min_position)
    params = {"status": status, "id": None, "limit": limit + 1} | dated_after(cursor)
    found = q.supplier_orders(conn, params)
    return page(found, limit, lambda o: [o.order_date.isoformat() if o.order_date else None, str(o.id)])


@router.get("/supplier-orders/{order_id}", response_model=OrderOut, summary="One supplier order")
def get_supplier_order(
    order_id: UUID,
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
) -> OrderOut:
    """The order with per-line ordered and received quantities."""
    access.supplier_order(conn, caller, order_id, "read")
    ensure_fresh(conn, settings, ("supplier_orders",), min_position)
    found = q.supplier_orders(
        conn, {"status": None, "id": order_id, "limit": 1, "after_date": None, "after_id": None}
    )
    return found[0] if found else q.from_stream(conn, "supplier", order_id, None, [])
