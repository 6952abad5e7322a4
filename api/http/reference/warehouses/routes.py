"""Warehouse routes: list, read, create, change, activate and deactivate (admins, within their reach)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.location import created
from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.reference.common import by_name
from api.http.reference.warehouses import service as w

router = APIRouter(tags=["warehouses"])


@router.get("/warehouses", response_model=Page[w.WarehouseOut], summary="Warehouses")
def list_warehouses(
    conn: Connection,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    is_active: bool | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[w.WarehouseOut]:
    """Warehouses of the caller's organizations, by name (`name` matches a part of it)."""
    filters = {
        "organization_id": organization_id,
        "is_active": is_active,
        "name": name,
    } | by_name(cursor, limit)
    return page(w.listing(conn, caller, filters), limit, NAMED, lambda r: (r.name, r.id))


@router.get("/warehouses/{warehouse_id}", response_model=w.WarehouseOut, summary="One warehouse")
def get_warehouse(warehouse_id: UUID, conn: Connection, caller: CurrentUser) -> w.WarehouseOut:
    """A warehouse in the caller's reach."""
    return w.find(conn, caller, warehouse_id)


@router.post("/warehouses", status_code=201, response_model=w.WarehouseOut, summary="Create a warehouse")
def create_warehouse(
    body: w.WarehouseIn, conn: Connection, caller: CurrentUser, settings: AppSettings, response: Response
) -> w.WarehouseOut:
    """A new warehouse; names are unique within an organization."""
    made = w.create(conn, caller, body, settings.max_warehouses)
    created(response, "/warehouses", made.id)
    return made


@router.patch("/warehouses/{warehouse_id}", response_model=w.WarehouseOut, summary="Change a warehouse")
def change_warehouse(
    warehouse_id: UUID, body: w.WarehouseChange, conn: Connection, caller: CurrentUser
) -> w.WarehouseOut:
    """Change name, location, description or is_active."""
    return w.change(conn, caller, warehouse_id, body)


@router.post("/warehouses/{warehouse_id}/deactivate", response_model=w.WarehouseOut, summary="Deactivate")
def deactivate_warehouse(warehouse_id: UUID, conn: Connection, caller: CurrentUser) -> w.WarehouseOut:
    """An inactive warehouse receives no stock; what it holds may still be moved out."""
    return w.change(conn, caller, warehouse_id, w.WarehouseChange(is_active=False))


@router.post("/warehouses/{warehouse_id}/activate", response_model=w.WarehouseOut, summary="Activate")
def activate_warehouse(warehouse_id: UUID, conn: Connection, caller: CurrentUser) -> w.WarehouseOut:
    """Receive stock again."""
    return w.change(conn, caller, warehouse_id, w.WarehouseChange(is_active=True))
