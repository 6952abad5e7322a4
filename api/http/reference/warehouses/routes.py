"""Warehouse routes: list, read, create, change, activate and deactivate (admins, within their reach)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentUser
from api.http.pagination import Page
from api.http.reference.common import ByName
from api.http.reference.routing import Change, Create, Read, Resource, SetActive, add_resource_routes
from api.http.reference.warehouses import service as w

# Descriptions of the routes below too long to stand in the table's lines.
CREATE = "A new warehouse; names are unique within an organization."
DEACTIVATE = "An inactive warehouse receives no stock; what it holds may still be moved out."

router = APIRouter(tags=["warehouses"])


@router.get("/warehouses", response_model=Page[w.WarehouseOut], summary="Warehouses")
def list_warehouses(
    conn: Connection,
    caller: CurrentUser,
    listed: ByName,
    organization_id: UUID | None = None,
    is_active: bool | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> Page[w.WarehouseOut]:
    """Warehouses of the caller's organizations, by name (`name` matches a part of it)."""
    filters = {"organization_id": organization_id, "is_active": is_active, "name": name}
    return listed.of(w.listing(conn, caller, filters | listed.bounds()), lambda r: (r.name, r.id))


add_resource_routes(
    router,
    Resource("warehouses", "warehouse", w.WarehouseOut),
    Read(w.find, "One warehouse", "A warehouse in the caller's reach."),
    Create(w.WarehouseIn, w.create, lambda s: s.max_warehouses, "Create a warehouse", CREATE),
    Change(
        w.WarehouseChange, w.change, "Change a warehouse", "Change name, location, description or is_active."
    ),
    SetActive("deactivate", False, "Deactivate", DEACTIVATE),
    SetActive("activate", True, "Activate", "Receive stock again."),
)
