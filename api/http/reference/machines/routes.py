"""Machine routes: super_admins register machines for customers; owners see and look after theirs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentUser
from api.http.pagination import Page
from api.http.reference.common import ByName
from api.http.reference.machines import service as m
from api.http.reference.routing import Change, Create, Read, Resource, add_resource_routes

# Descriptions of the routes below too long to stand in the table's lines.
REGISTER = "A new machine for a customer organization (super_admins only); serial numbers are unique."
CHANGE = "A super_admin changes anything (owner included); an admin of the owner its name, status and upkeep."

router = APIRouter(tags=["machines"])


@router.get("/machines", response_model=Page[m.MachineOut], summary="Machines")
def list_machines(
    conn: Connection,
    caller: CurrentUser,
    listed: ByName,
    customer_organization_id: UUID | None = None,
    status: Annotated[str | None, Query(pattern="^(active|inactive|maintenance|decommissioned)$")] = None,
) -> Page[m.MachineOut]:
    """Machines of the caller's organizations, by name."""
    filters = {"customer_organization_id": customer_organization_id, "status": status}
    return listed.of(m.listing(conn, caller, filters | listed.bounds()), lambda r: (r.name, r.id))


add_resource_routes(
    router,
    Resource("machines", "machine", m.MachineOut),
    Read(m.find, "One machine", "A machine in the caller's reach."),
    Create(m.MachineIn, m.create, lambda s: s.max_machines, "Register a machine", REGISTER),
    Change(m.MachineChange, m.change, "Change a machine", CHANGE),
)
