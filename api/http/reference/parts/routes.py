"""Part routes: everyone reads the catalog; Oraseas EE admins and super_admins maintain it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.reference.common import by_name
from api.http.reference.parts import service as p

router = APIRouter(tags=["parts"])


@router.get("/parts", response_model=Page[p.PartOut], summary="Parts")
def list_parts(
    conn: Connection,
    caller: CurrentUser,
    part_type: Annotated[str | None, Query(pattern="^(consumable|bulk_material)$")] = None,
    is_proprietary: bool | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Part number or name contains this.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[p.PartOut]:
    """The catalog by part_number (`name` matches a part of the name; `q` a part of the number or name)."""
    filters = {
        "part_type": part_type,
        "is_proprietary": is_proprietary,
        "name": name,
        "q": q,
    } | by_name(cursor, limit, "after_number")
    return page(p.listing(conn, filters), limit, NAMED, lambda r: (r.part_number, r.id))


@router.get("/parts/{part_id}", response_model=p.PartOut, summary="One part")
def get_part(part_id: UUID, conn: Connection, caller: CurrentUser) -> p.PartOut:
    """A part of the catalog."""
    return p.find(conn, part_id)


@router.post("/parts", status_code=201, response_model=p.PartOut, summary="Add a part")
def create_part(body: p.PartIn, conn: Connection, caller: CurrentUser, settings: AppSettings) -> p.PartOut:
    """A new part; part_number is unique."""
    return p.create(conn, caller, body, settings.max_parts)


@router.patch("/parts/{part_id}", response_model=p.PartOut, summary="Change a part")
def change_part(part_id: UUID, body: p.PartChange, conn: Connection, caller: CurrentUser) -> p.PartOut:
    """Change a part; unit_of_measure and part_type only while no stock of it has moved."""
    return p.change(conn, caller, part_id, body)
