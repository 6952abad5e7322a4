"""Machine routes: super_admins register machines for customers; owners see and look after theirs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.location import created
from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.reference.common import by_name
from api.http.reference.machines import service as m

router = APIRouter(tags=["machines"])


@router.get("/machines", response_model=Page[m.MachineOut], summary="Machines")
def list_machines(
    conn: Connection,
    caller: CurrentUser,
    customer_organization_id: UUID | None = None,
    status: Annotated[str | None, Query(pattern="^(active|inactive|maintenance|decommissioned)$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[m.MachineOut]:
    """Machines of the caller's organizations, by name."""
    filters = {
        "customer_organization_id": customer_organization_id,
        "status": status,
    } | by_name(cursor, limit)
    return page(m.listing(conn, caller, filters), limit, NAMED, lambda r: (r.name, r.id))


@router.get("/machines/{machine_id}", response_model=m.MachineOut, summary="One machine")
def get_machine(machine_id: UUID, conn: Connection, caller: CurrentUser) -> m.MachineOut:
    """A machine in the caller's reach."""
    return m.find(conn, caller, machine_id)


@router.post("/machines", status_code=201, response_model=m.MachineOut, summary="Register a machine")
def create_machine(
    body: m.MachineIn, conn: Connection, caller: CurrentUser, settings: AppSettings, response: Response
) -> m.MachineOut:
    """A new machine for a customer organization (super_admins only); serial numbers are unique."""
    made = m.create(conn, caller, body, settings.max_machines)
    created(response, "/machines", made.id)
    return made


@router.patch("/machines/{machine_id}", response_model=m.MachineOut, summary="Change a machine")
def change_machine(
    machine_id: UUID, body: m.MachineChange, conn: Connection, caller: CurrentUser
) -> m.MachineOut:
    """A super_admin changes anything (owner included); an admin of the owner its name, status and upkeep."""
    return m.change(conn, caller, machine_id, body)
