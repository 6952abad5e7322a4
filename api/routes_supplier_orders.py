"""Supplier order routes: Oraseas EE orders from suppliers (request, place, receive, cancel), lists them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from api.deps import AppSettings, Connection, CurrentUser, IdempotencyKey, Ledger, RequestId
from api.orders import access
from api.orders import queries as q
from api.orders.commands import answer, items, moves
from api.orders.models import (
    MovementIn,
    OrderOut,
    SupplierOrderIn,
)
from api.pagination import DATED, Cursor, Limit, Page, dated_after, page
from api.principal import Principal
from api.problems import ApiError
from api.routes_customer_orders import OptionalAction, Status
from api.stock.freshness import MinPosition, ensure_fresh
from ledger.orders import commands as c

router = APIRouter(tags=["supplier orders"])


@router.post("/supplier-orders", status_code=201, response_model=OrderOut, summary="Order from a supplier")
def request_supplier_order(
    body: SupplierOrderIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Oraseas EE drafts an order to a supplier (status `requested`)."""
    access.supplier_order(conn, caller, None, "request")
    oraseas = conn.execute("SELECT id FROM organizations WHERE organization_type = 'oraseas_ee'").fetchone()
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
    return answer(request, conn, ledger, caller, command, "supplier", key, request_id)


def _supplier(
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
    access.supplier_order(conn, caller, order_id, action)
    return answer(request, conn, ledger, caller, command, "supplier", key, request_id)


@router.post("/supplier-orders/{order_id}/place", status_code=201, response_model=OrderOut, summary="Place")
def place_supplier_order(
    order_id: UUID,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    body: OptionalAction = None,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Send a requested order to the supplier (requested to ordered; admins)."""
    command = c.PlaceSupplierOrder(order_id=order_id, notes=body.notes if body else None)
    return _supplier(request, conn, ledger, caller, order_id, "place", command, key, request_id)


@router.post(
    "/supplier-orders/{order_id}/receive", status_code=201, response_model=OrderOut, summary="Receive"
)
def receive_supplier_order(
    order_id: UUID,
    body: MovementIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Receive ordered stock into an Oraseas EE warehouse: one creation movement per line."""
    command = c.ReceiveSupplierOrder(
        order_id=order_id, warehouse_id=body.warehouse_id, items=moves(body), notes=body.notes
    )
    return _supplier(request, conn, ledger, caller, order_id, "receive", command, key, request_id)


@router.post("/supplier-orders/{order_id}/cancel", status_code=201, response_model=OrderOut, summary="Cancel")
def cancel_supplier_order(
    order_id: UUID,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    body: OptionalAction = None,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> OrderOut:
    """Cancel an order that has received nothing (admins)."""
    command = c.CancelSupplierOrder(order_id=order_id, notes=body.notes if body else None)
    return _supplier(request, conn, ledger, caller, order_id, "cancel", command, key, request_id)


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
    return page(found, limit, DATED, q.listed_key)


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
