"""Machines: only super_admins register them, owners are customers, serial numbers unique, the cap.

An admin of the owner may rename a machine or change its status; moving it to
another owner is a super_admin's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.problems import ApiError, forbidden, not_found
from api.http.reference.common import insert_capped, refusals, rows, update_statement
from ledger.postgres.connection import Connection
from ledger.types import ClientDatetime

COLUMNS = """id, customer_organization_id, model_type, name, serial_number, purchase_date,
    warranty_expiry_date, status::text, last_maintenance_date, next_maintenance_date, location, notes,
    created_at, updated_at"""
UNIQUE = {"machines_serial_number_key": ("serial_number_taken", "a machine with this serial number exists")}
CHECKS = {
    "machine_customer_only": ("owner_not_customer", "machines can only be owned by customer organizations")
}
Status = Literal["active", "inactive", "maintenance", "decommissioned"]
Text255 = Annotated[str, Field(min_length=1, max_length=255)]


class MachineIn(BaseModel):
    """A new machine."""

    model_config = ConfigDict(extra="forbid")
    customer_organization_id: UUID
    model_type: Annotated[str, Field(min_length=1, max_length=100)]
    name: Text255
    serial_number: Text255
    purchase_date: ClientDatetime | None = None
    warranty_expiry_date: ClientDatetime | None = None
    status: Status = "active"
    location: str | None = Field(default=None, max_length=255)
    notes: str | None = Field(default=None, max_length=10_000)


class MachineChange(BaseModel):
    """Fields to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    customer_organization_id: UUID | None = None
    name: Text255 | None = None
    status: Status | None = None
    location: str | None = Field(default=None, max_length=255)
    notes: str | None = Field(default=None, max_length=10_000)
    last_maintenance_date: ClientDatetime | None = None
    next_maintenance_date: ClientDatetime | None = None


class MachineOut(BaseModel):
    """A machines row."""

    id: UUID
    customer_organization_id: UUID
    model_type: str
    name: str
    serial_number: str
    purchase_date: datetime | None
    warranty_expiry_date: datetime | None
    status: str
    last_maintenance_date: datetime | None
    next_maintenance_date: datetime | None
    location: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


LIST = f"""
SELECT {COLUMNS} FROM machines
WHERE (%(scope)s::uuid[] IS NULL OR customer_organization_id = ANY(%(scope)s))
  AND (%(customer_organization_id)s::uuid IS NULL OR customer_organization_id = %(customer_organization_id)s)
  AND (%(status)s::text IS NULL OR status::text = %(status)s)
  AND (%(after_name)s::text IS NULL OR (name, id) > (%(after_name)s, %(after_id)s::uuid))
ORDER BY name, id
LIMIT %(limit)s
"""
OWNER_ADMIN_FIELDS = {"name", "status", "location", "notes", "last_maintenance_date", "next_maintenance_date"}


def find(conn: Connection, caller: Principal, machine_id: UUID) -> MachineOut:
    """The machine, if the caller may see it (404 otherwise)."""
    found = rows(conn, MachineOut, f"SELECT {COLUMNS} FROM machines WHERE id = %s", [machine_id])
    if not found or not caller.sees(found[0].customer_organization_id):
        raise not_found("machine")
    return found[0]


def listing(conn: Connection, caller: Principal, filters: dict[str, Any]) -> list[MachineOut]:
    """Machines in the caller's reach, by name."""
    return rows(conn, MachineOut, LIST, {"scope": caller.scope_list()} | filters)


def create(conn: Connection, caller: Principal, body: MachineIn, cap: int) -> MachineOut:
    """Register a machine (super_admins only)."""
    if not caller.is_super_admin:
        raise forbidden("only a super_admin registers machines")
    values = body.model_dump()
    with conn.transaction(), refusals(UNIQUE, CHECKS):
        return insert_capped(conn, MachineOut, "machines", cap, values, COLUMNS)


def change(conn: Connection, caller: Principal, machine_id: UUID, body: MachineChange) -> MachineOut:
    """Change a machine: a super_admin anything, an admin of the owner its name, status and upkeep."""
    current = find(conn, caller, machine_id)
    changes = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k in ("location", "notes")
    }
    if not caller.is_super_admin and (not caller.is_admin or set(changes) - OWNER_ADMIN_FIELDS):
        raise forbidden(
            "an owner's admin may change name, status, location, notes and maintenance dates only"
        )
    if not changes:
        return current
    if "customer_organization_id" in changes and changes["customer_organization_id"] is None:
        raise ApiError(422, "invalid_request", "customer_organization_id cannot be null")
    with conn.transaction(), refusals(UNIQUE, CHECKS):
        return rows(
            conn, MachineOut, update_statement("machines", changes, COLUMNS), changes | {"id": machine_id}
        )[0]
