"""Supplier order routes: Oraseas EE orders from suppliers (request, place, receive, cancel), lists them."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import AppSettings, Connection, Ctx, CurrentUser, ReadConnection
from api.http.orders import access
from api.http.orders import queries as q
from api.http.orders.commands import answer, items
from api.http.orders.customer_routes import Status
from api.http.orders.routing import Action, add_actions, add_read
from api.http.orders.schemas import (
    OrderOut,
    SupplierOrderIn,
)
from api.http.pagination import Cursor, Limit, Page, dated_after
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
    Action.plain(
        "place",
        c.PlaceSupplierOrder,
        "Send a requested order to the supplier (requested to ordered; admins).",
    ),
    Action.movement(
        "receive",
        c.ReceiveSupplierOrder,
        "Receive ordered stock into an Oraseas EE warehouse: one creation movement per line.",
    ),
    Action.plain("cancel", c.CancelSupplierOrder, "Cancel an order that has received nothing (admins)."),
)
add_actions(router, "supplier", access.supplier_order, ACTIONS)


@router.get("/supplier-orders", response_model=Page[OrderOut], summary="Supplier orders")
def list_supplier_orders(
    conn: Connection,
    reads: ReadConnection,
    settings: AppSettings,
    caller: CurrentUser,
    status: Status = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderOut]:
    """Oraseas EE's supplier orders, newest first."""
    access.supplier_order(conn, caller, None, "read")
    after = dated_after(cursor)  # a bad cursor is refused before any wait
    ensure_fresh(reads, settings, ("supplier_orders",), min_position, primary=conn)
    params = {"status": status, "id": None, "limit": limit + 1} | after
    return q.order_page(q.supplier_orders(reads, params), limit)


add_read(
    router, "supplier", access.supplier_order, "The order with per-line ordered and received quantities."
)
