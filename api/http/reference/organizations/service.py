"""Organizations: one Oraseas EE and one BossAqua, suppliers under a parent, unique names, the customer cap.

super_admins create and change any organization; an admin creates and changes
supplier organizations under its own. Deleting deactivates (the ledger keeps
referring to the organization); Oraseas EE and BossAqua cannot be deactivated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.problems import ApiError, conflict, forbidden, not_found
from api.http.reference.common import check_cap, refusals, rows, update_statement
from ledger.postgres.connection import Connection

COLUMNS = """id, name, organization_type::text, parent_organization_id, address, contact_info, is_active,
    created_at, updated_at"""
UNIQUE = {"organizations_name_key": ("name_taken", "an organization of that name exists")}
CHECKS = {
    "supplier_must_have_parent": ("parent_required", "a supplier needs a parent_organization_id"),
    "organization_not_own_parent": ("invalid_parent", "an organization cannot be its own parent"),
    "machine_customer_only": ("owns_machines", "an organization that owns machines stays a customer"),
}
OrganizationType = Literal["oraseas_ee", "bossaqua", "customer", "supplier"]
SINGLETONS = ("oraseas_ee", "bossaqua")
Name = Annotated[str, Field(min_length=1, max_length=255)]


class OrganizationIn(BaseModel):
    """A new organization."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    organization_type: OrganizationType
    parent_organization_id: UUID | None = None
    address: str | None = Field(default=None, max_length=10_000)
    contact_info: str | None = Field(default=None, max_length=10_000)


class OrganizationChange(BaseModel):
    """Fields to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    parent_organization_id: UUID | None = None
    address: str | None = Field(default=None, max_length=10_000)
    contact_info: str | None = Field(default=None, max_length=10_000)
    is_active: bool | None = None


class OrganizationOut(BaseModel):
    """An organizations row."""

    id: UUID
    name: str
    organization_type: str
    parent_organization_id: UUID | None
    address: str | None
    contact_info: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class HierarchyOut(BaseModel):
    """A row of the organization_hierarchy view."""

    id: UUID
    name: str
    organization_type: str
    parent_organization_id: UUID | None
    level: int


LIST = f"""
SELECT {COLUMNS} FROM organizations
WHERE (%(scope)s::uuid[] IS NULL OR id = ANY(%(scope)s))
  AND (%(organization_type)s::text IS NULL OR organization_type::text = %(organization_type)s)
  AND (%(is_active)s::boolean IS NULL OR is_active = %(is_active)s)
  AND (%(parent)s::uuid IS NULL OR parent_organization_id = %(parent)s)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s)) > 0)
  AND (%(after_name)s::text IS NULL OR (name, id) > (%(after_name)s, %(after_id)s::uuid))
ORDER BY name, id
LIMIT %(limit)s
"""
HIERARCHY = """
SELECT id, name, organization_type::text, parent_organization_id, level FROM organization_hierarchy
WHERE %(scope)s::uuid[] IS NULL OR id = ANY(%(scope)s)
ORDER BY level, name, id
"""


def find(conn: Connection, caller: Principal, organization_id: UUID) -> OrganizationOut:
    """The organization, if the caller may see it (404 otherwise)."""
    found = rows(
        conn, OrganizationOut, f"SELECT {COLUMNS} FROM organizations WHERE id = %s", [organization_id]
    )
    if not found or not caller.sees(found[0].id):
        raise not_found("organization")
    return found[0]


def listing(conn: Connection, caller: Principal, filters: dict[str, Any]) -> list[OrganizationOut]:
    """Organizations in the caller's reach, by name."""
    return rows(conn, OrganizationOut, LIST, {"scope": caller.scope_list()} | filters)


def hierarchy(conn: Connection, caller: Principal) -> list[HierarchyOut]:
    """The organization_hierarchy view, limited to the caller's reach."""
    return rows(conn, HierarchyOut, HIERARCHY, {"scope": caller.scope_list()})


def create(conn: Connection, caller: Principal, body: OrganizationIn, max_customers: int) -> OrganizationOut:
    """Create an organization under the spec's rules."""
    kind, parent = body.organization_type, body.parent_organization_id
    if not caller.is_super_admin:
        if not caller.is_admin or kind != "supplier" or parent not in (None, caller.organization_id):
            raise forbidden("an admin may only add supplier organizations under its own")
        parent = caller.organization_id
    if parent is not None and not caller.sees(parent):
        raise ApiError(422, "unknown_organization", f"organization {parent} does not exist")
    with conn.transaction(), refusals(UNIQUE, CHECKS):
        conn.execute("LOCK TABLE organizations IN SHARE ROW EXCLUSIVE MODE")  # the singletons and the cap
        if kind in SINGLETONS:
            check_cap(conn, "organizations", 1, f"{kind} organizations", f"organization_type = '{kind}'")
        if kind == "customer":
            check_cap(
                conn,
                "organizations",
                max_customers,
                "customer organizations",
                "organization_type = 'customer'",
            )
        query = f"""INSERT INTO organizations
                        (name, organization_type, parent_organization_id, address, contact_info)
                    VALUES (%s, %s, %s, %s, %s) RETURNING {COLUMNS}"""
        return rows(conn, OrganizationOut, query, [body.name, kind, parent, body.address, body.contact_info])[
            0
        ]


def change(
    conn: Connection, caller: Principal, organization_id: UUID, body: OrganizationChange
) -> OrganizationOut:
    """Change an organization: a super_admin any, an admin the suppliers under its own."""
    current = find(conn, caller, organization_id)
    if not caller.is_super_admin and not (
        caller.is_admin
        and current.organization_type == "supplier"
        and current.parent_organization_id == caller.organization_id
    ):
        raise forbidden("only a super_admin, or the admin of a supplier's parent, may change it")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("is_active") is False and current.organization_type in SINGLETONS:
        raise conflict("protected_organization", f"the {current.organization_type} organization stays active")
    parent = changes.get("parent_organization_id")
    if parent is not None and not caller.sees(parent):
        raise ApiError(422, "unknown_organization", "the parent organization does not exist")
    for required in ("name", "is_active"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    if not changes:
        return current
    with conn.transaction(), refusals(UNIQUE, CHECKS):
        return rows(
            conn,
            OrganizationOut,
            update_statement("organizations", changes, COLUMNS),
            changes | {"id": organization_id},
        )[0]
