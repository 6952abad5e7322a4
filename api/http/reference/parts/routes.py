"""Part routes: everyone reads the catalog; Oraseas EE admins and super_admins maintain it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentUser
from api.http.pagination import Page
from api.http.reference.common import ByName
from api.http.reference.parts import service as p
from api.http.reference.routing import Change, Create, Read, Resource, add_resource_routes

router = APIRouter(tags=["parts"])


@router.get("/parts", response_model=Page[p.PartOut], summary="Parts")
def list_parts(
    conn: Connection,
    caller: CurrentUser,
    listed: ByName,
    part_type: Annotated[str | None, Query(pattern="^(consumable|bulk_material)$")] = None,
    is_proprietary: bool | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Part number or name contains this.")
    ] = None,
) -> Page[p.PartOut]:
    """The catalog by part_number (`name` matches a part of the name; `q` a part of the number or name)."""
    filters = {"part_type": part_type, "is_proprietary": is_proprietary, "name": name, "q": q}
    return listed.of(
        p.listing(conn, filters | listed.bounds("after_number")), lambda r: (r.part_number, r.id)
    )


add_resource_routes(
    router,
    Resource("parts", "part", p.PartOut),
    # Everyone signed in reads the catalog: who asks does not matter.
    Read(lambda conn, _caller, part_id: p.find(conn, part_id), "One part", "A part of the catalog."),
    Create(
        p.PartIn,
        p.create,
        lambda settings: settings.max_parts,
        "Add a part",
        "A new part; part_number is unique.",
    ),
    Change(
        p.PartChange,
        p.change,
        "Change a part",
        "Change a part; unit_of_measure and part_type only while no stock of it has moved.",
    ),
)
