"""Warehouses: unique names per organization, the cap, scoping, activation (inactive: receives nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.problems import ApiError, forbidden, not_found
from api.http.reference.common import insert_capped, refusals, rows, update_statement
from ledger.postgres.connection import Connection

COLUMNS = "id, organization_id, name, location, description, is_active, created_at, updated_at"
UNIQUE = {"_org_warehouse_name_uc": ("name_taken", "this organization already has a warehouse of that name")}
Name = Annotated[str, Field(min_length=1, max_length=255)]


class WarehouseIn(BaseModel):
    """A new warehouse (organization_id defaults to the caller's)."""

    model_config = ConfigDict(extra="forbid")
    organization_id: UUID | None = None
    name: Name
    location: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)


class WarehouseChange(BaseModel):
    """Fields to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    location: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)
    is_active: bool | None = None


class WarehouseOut(BaseModel):
    """A warehouses row."""

    id: UUID
    organization_id: UUID
    name: str
    location: str | None
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


LIST = f"""
SELECT {COLUMNS} FROM warehouses
WHERE (%(scope)s::uuid[] IS NULL OR organization_id = ANY(%(scope)s))
  AND (%(organization_id)s::uuid IS NULL OR organization_id = %(organization_id)s)
  AND (%(is_active)s::boolean IS NULL OR is_active = %(is_active)s)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s)) > 0)
  AND (%(after_name)s::text IS NULL OR (name, id) > (%(after_name)s, %(after_id)s::uuid))
ORDER BY name, id
LIMIT %(limit)s
"""


def find(conn: Connection, caller: Principal, warehouse_id: UUID) -> WarehouseOut:
    """The warehouse, if the caller may see it (404 otherwise)."""
    found = rows(conn, WarehouseOut, f"SELECT {COLUMNS} FROM warehouses WHERE id = %s", [warehouse_id])
    if not found or not caller.sees(found[0].organization_id):
        raise not_found("warehouse")
    return found[0]


def listing(conn: Connection, caller: Principal, filters: dict[str, Any]) -> list[WarehouseOut]:
    """Warehouses in the caller's reach, by name."""
    return rows(conn, WarehouseOut, LIST, {"scope": caller.scope_list()} | filters)


def create(conn: Connection, caller: Principal, body: WarehouseIn, cap: int) -> WarehouseOut:
    """Create a warehouse in an organization the caller administers."""
    organization = body.organization_id or caller.organization_id
    if not caller.sees(organization):
        raise ApiError(422, "unknown_organization", f"organization {organization} does not exist")
    if not caller.is_admin:
        raise forbidden("only an admin may create warehouses")
    values = body.model_dump(include={"name", "location", "description"}) | {"organization_id": organization}
    with conn.transaction(), refusals(UNIQUE):
        return insert_capped(conn, WarehouseOut, "warehouses", cap, values, COLUMNS)


def change(conn: Connection, caller: Principal, warehouse_id: UUID, body: WarehouseChange) -> WarehouseOut:
    """Change a warehouse the caller administers."""
    find(conn, caller, warehouse_id)
    if not caller.is_admin:
        raise forbidden("only an admin may change warehouses")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return find(conn, caller, warehouse_id)
    if changes.get("name", "") is None or changes.get("is_active", False) is None:
        raise ApiError(422, "invalid_request", "name and is_active cannot be null")
    with conn.transaction(), refusals(UNIQUE):
        statement = update_statement("warehouses", changes, COLUMNS)
        return rows(conn, WarehouseOut, statement, changes | {"id": warehouse_id})[0]
