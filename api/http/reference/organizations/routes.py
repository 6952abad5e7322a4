"""Organization routes: list, hierarchy, read, create, change, deactivate."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentUser
from api.http.pagination import Page
from api.http.reference.common import ByName
from api.http.reference.organizations import service as o
from api.http.reference.routing import Change, Create, Read, Resource, SetActive, add_resource_routes

# Descriptions of the routes below too long to stand in the table's lines.
CREATE = "super_admins create any kind (one Oraseas EE, one BossAqua); admins add suppliers under their own."
DEACTIVATE = "Deactivate (the ledger keeps referring to it, so nothing is deleted)."

router = APIRouter(tags=["organizations"])


@router.get("/organizations", response_model=Page[o.OrganizationOut], summary="Organizations")
def list_organizations(
    conn: Connection,
    caller: CurrentUser,
    listed: ByName,
    organization_type: Annotated[
        str | None, Query(pattern="^(oraseas_ee|bossaqua|customer|supplier)$")
    ] = None,
    is_active: bool | None = None,
    parent_organization_id: UUID | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> Page[o.OrganizationOut]:
    """Organizations in the caller's reach, by name."""
    filters = {
        "organization_type": organization_type,
        "is_active": is_active,
        "parent": parent_organization_id,
        "name": name,
    }
    return listed.of(o.listing(conn, caller, filters | listed.bounds()), lambda r: (r.name, r.id))


@router.get("/organizations/hierarchy", response_model=list[o.HierarchyOut], summary="The organization tree")
def organization_hierarchy(conn: Connection, caller: CurrentUser) -> list[o.HierarchyOut]:
    """The spec's organization_hierarchy view, within the caller's reach."""
    return o.hierarchy(conn, caller)


add_resource_routes(
    router,
    Resource("organizations", "organization", o.OrganizationOut),
    Read(o.find, "One organization", "An organization in the caller's reach."),
    Create(o.OrganizationIn, o.create, lambda s: s.max_customers, "Create an organization", CREATE),
    Change(
        o.OrganizationChange, o.change, "Change", "Change name, parent, address, contact_info or is_active."
    ),
    SetActive("deactivate", False, "Deactivate", DEACTIVATE, method="DELETE"),
)
