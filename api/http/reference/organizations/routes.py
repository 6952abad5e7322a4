"""Organization routes: list, hierarchy, read, create, change, deactivate."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.location import created
from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.reference.common import by_name
from api.http.reference.organizations import service as o

router = APIRouter(tags=["organizations"])


@router.get("/organizations", response_model=Page[o.OrganizationOut], summary="Organizations")
def list_organizations(
    conn: Connection,
    caller: CurrentUser,
    organization_type: Annotated[
        str | None, Query(pattern="^(oraseas_ee|bossaqua|customer|supplier)$")
    ] = None,
    is_active: bool | None = None,
    parent_organization_id: UUID | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[o.OrganizationOut]:
    """Organizations in the caller's reach, by name."""
    filters = {
        "organization_type": organization_type,
        "is_active": is_active,
        "parent": parent_organization_id,
        "name": name,
    } | by_name(cursor, limit)
    return page(o.listing(conn, caller, filters), limit, NAMED, lambda r: (r.name, r.id))


@router.get("/organizations/hierarchy", response_model=list[o.HierarchyOut], summary="The organization tree")
def organization_hierarchy(conn: Connection, caller: CurrentUser) -> list[o.HierarchyOut]:
    """The spec's organization_hierarchy view, within the caller's reach."""
    return o.hierarchy(conn, caller)


@router.get("/organizations/{organization_id}", response_model=o.OrganizationOut, summary="One organization")
def get_organization(organization_id: UUID, conn: Connection, caller: CurrentUser) -> o.OrganizationOut:
    """An organization in the caller's reach."""
    return o.find(conn, caller, organization_id)


@router.post(
    "/organizations", status_code=201, response_model=o.OrganizationOut, summary="Create an organization"
)
def create_organization(
    body: o.OrganizationIn, conn: Connection, caller: CurrentUser, settings: AppSettings, response: Response
) -> o.OrganizationOut:
    """super_admins create any kind (one Oraseas EE, one BossAqua); admins add suppliers under their own."""
    made = o.create(conn, caller, body, settings.max_customers)
    created(response, "/organizations", made.id)
    return made


@router.patch("/organizations/{organization_id}", response_model=o.OrganizationOut, summary="Change")
def change_organization(
    organization_id: UUID, body: o.OrganizationChange, conn: Connection, caller: CurrentUser
) -> o.OrganizationOut:
    """Change name, parent, address, contact_info or is_active."""
    return o.change(conn, caller, organization_id, body)


@router.delete("/organizations/{organization_id}", response_model=o.OrganizationOut, summary="Deactivate")
def deactivate_organization(
    organization_id: UUID, conn: Connection, caller: CurrentUser
) -> o.OrganizationOut:
    """Deactivate (the ledger keeps referring to it, so nothing is deleted)."""
    return o.change(conn, caller, organization_id, o.OrganizationChange(is_active=False))
