"""Parts: the catalog everyone reads and Oraseas EE maintains (super_admins, and Oraseas EE admins).

A part's unit of measure or type cannot change once stock of it has moved:
the ledger's history would lose its meaning.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.problems import conflict, forbidden, not_found
from api.http.reference.common import insert_capped, refusals, rows, update_statement
from ledger.postgres import queries
from ledger.postgres.connection import Connection

COLUMNS = """id, part_number, name, description, part_type::text, is_proprietary, unit_of_measure,
    manufacturer_part_number, manufacturer_delivery_time_days, local_supplier_delivery_time_days, image_urls,
    unit_price, created_at, updated_at"""
UNIQUE = {"parts_part_number_key": ("part_number_taken", "a part with this part_number exists")}
Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Days = Annotated[int, Field(ge=0, le=3650)]
Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
PartType = Literal["consumable", "bulk_material"]


class PartIn(BaseModel):
    """A new part."""

    model_config = ConfigDict(extra="forbid")
    part_number: Text255
    name: Text255
    description: str | None = Field(default=None, max_length=10_000)
    part_type: PartType = "consumable"
    is_proprietary: bool = False
    unit_of_measure: Annotated[str, Field(min_length=1, max_length=50)] = "pieces"
    manufacturer_part_number: Text255 | None = None
    manufacturer_delivery_time_days: Days | None = None
    local_supplier_delivery_time_days: Days | None = None
    image_urls: list[Annotated[str, Field(max_length=2000)]] | None = Field(default=None, max_length=50)
    unit_price: Price | None = None


class PartChange(BaseModel):
    """Fields to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    part_number: Text255 | None = None
    name: Text255 | None = None
    description: str | None = Field(default=None, max_length=10_000)
    part_type: PartType | None = None
    is_proprietary: bool | None = None
    unit_of_measure: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    manufacturer_part_number: Text255 | None = None
    manufacturer_delivery_time_days: Days | None = None
    local_supplier_delivery_time_days: Days | None = None
    image_urls: list[Annotated[str, Field(max_length=2000)]] | None = Field(default=None, max_length=50)
    unit_price: Price | None = None


class PartOut(BaseModel):
    """A parts row."""

    id: UUID
    part_number: str
    name: str
    description: str | None
    part_type: str
    is_proprietary: bool
    unit_of_measure: str
    manufacturer_part_number: str | None
    manufacturer_delivery_time_days: int | None
    local_supplier_delivery_time_days: int | None
    image_urls: list[str] | None
    unit_price: Decimal | None
    created_at: datetime
    updated_at: datetime


LIST = f"""
SELECT {COLUMNS} FROM parts
WHERE (%(part_type)s::text IS NULL OR part_type::text = %(part_type)s)
  AND (%(is_proprietary)s::boolean IS NULL OR is_proprietary = %(is_proprietary)s)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s)) > 0)
  AND (%(q)s::text IS NULL OR strpos(lower(part_number), lower(%(q)s)) > 0
       OR strpos(lower(name), lower(%(q)s)) > 0)
  AND (%(after_number)s::text IS NULL OR (part_number, id) > (%(after_number)s, %(after_id)s::uuid))
ORDER BY part_number, id
LIMIT %(limit)s
"""


def may_edit(caller: Principal) -> None:
    """Only Oraseas EE keeps the catalog."""
    if not (caller.is_super_admin or (caller.is_admin and caller.organization_type == "oraseas_ee")):
        raise forbidden("only Oraseas EE admins maintain the parts catalog")


def find(conn: Connection, part_id: UUID) -> PartOut:
    """One part (404 when unknown)."""
    found = rows(conn, PartOut, f"SELECT {COLUMNS} FROM parts WHERE id = %s", [part_id])
    if not found:
        raise not_found("part")
    return found[0]


def listing(conn: Connection, filters: dict[str, Any]) -> list[PartOut]:
    """Parts by part_number; `q` matches part_number or name, literally (no wildcards), ignoring case."""
    return rows(conn, PartOut, LIST, filters)


def create(conn: Connection, caller: Principal, body: PartIn, cap: int) -> PartOut:
    """Add a part to the catalog."""
    may_edit(caller)
    values = body.model_dump()
    with conn.transaction(), refusals(UNIQUE):
        return insert_capped(conn, PartOut, "parts", cap, values, COLUMNS)


def change(conn: Connection, caller: Principal, part_id: UUID, body: PartChange) -> PartOut:
    """Change a part; its unit or type only while no stock of it has moved."""
    may_edit(caller)
    current = find(conn, part_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("part_number", "name", "part_type", "is_proprietary", "unit_of_measure"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    if not changes:
        return current
    moving = {
        k for k in ("unit_of_measure", "part_type") if k in changes and changes[k] != getattr(current, k)
    }
    with conn.transaction(), refusals(UNIQUE):
        if moving:
            queries.hold_part_movements(conn)  # so no movement of it commits between check and change
        if moving and queries.part_has_moved(conn, part_id):
            raise conflict(
                "part_in_use", f"stock of this part has moved; {', '.join(sorted(moving))} cannot change"
            )
        return rows(conn, PartOut, update_statement("parts", changes, COLUMNS), changes | {"id": part_id})[0]
