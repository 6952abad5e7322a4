"""Names beside ids: the reference rows a person reads (part number and name, unit, warehouse and
organization names) for a set of ids, in one query.

The list reads join the reference tables in their own SQL; this is for answers whose rows do not come
from a table that can be joined (stock folded from the log, an order's stream, the export's events).
An id that no reference row has (deleted, or never a part) is simply absent from the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.postgres.connection import Connection

NAMES = """
SELECT 'part', p.id, p.part_number, p.name, p.unit_of_measure, NULL::uuid
FROM parts p WHERE p.id = ANY(%(parts)s)
UNION ALL
SELECT 'warehouse', w.id, NULL, w.name, NULL, w.organization_id
FROM warehouses w WHERE w.id = ANY(%(warehouses)s)
UNION ALL
SELECT 'organization', o.id, NULL, o.name, NULL, NULL::uuid
FROM organizations o
WHERE o.id = ANY(%(organizations)s)
   OR o.id IN (SELECT organization_id FROM warehouses WHERE id = ANY(%(warehouses)s))
"""


@dataclass(frozen=True)
class PartName:
    """What a person calls a part."""

    part_number: str
    part_name: str
    unit_of_measure: str


@dataclass(frozen=True)
class WarehouseName:
    """What a person calls a warehouse, and whose it is."""

    warehouse_name: str
    organization_id: UUID
    organization_name: str | None


@dataclass
class Names:
    """Reference names by id; look-ups of unknown ids answer None."""

    parts: dict[UUID, PartName] = field(default_factory=dict)
    warehouses: dict[UUID, WarehouseName] = field(default_factory=dict)
    organizations: dict[UUID, str] = field(default_factory=dict)

    def part(self, part_id: UUID) -> dict[str, Any]:
        """part_number, part_name and unit_of_measure of a part (None each when unknown)."""
        found = self.parts.get(part_id)
        return {
            "part_number": found.part_number if found else None,
            "part_name": found.part_name if found else None,
            "unit_of_measure": found.unit_of_measure if found else None,
        }

    def warehouse(self, warehouse_id: UUID) -> dict[str, Any]:
        """warehouse_name, organization_id and organization_name of a warehouse (None each when unknown)."""
        found = self.warehouses.get(warehouse_id)
        return {
            "warehouse_name": found.warehouse_name if found else None,
            "organization_id": found.organization_id if found else None,
            "organization_name": found.organization_name if found else None,
        }


def lookup(
    conn: Connection,
    parts: Iterable[UUID] = (),
    warehouses: Iterable[UUID] = (),
    organizations: Iterable[UUID] = (),
) -> Names:
    """The names of these parts, warehouses (with their organizations) and organizations."""
    params = {
        "parts": list(set(parts)),
        "warehouses": list(set(warehouses)),
        "organizations": list(set(organizations)),
    }
    found = conn.execute(NAMES, params).fetchall()
    names = Names()
    owners: dict[UUID, tuple[str, UUID]] = {}
    for kind, id_, number, name, unit, owner in found:
        if kind == "part":
            names.parts[id_] = PartName(number, name, unit)
        elif kind == "warehouse":
            owners[id_] = (name, owner)
        else:
            names.organizations[id_] = name
    for id_, (name, owner) in owners.items():
        names.warehouses[id_] = WarehouseName(name, owner, names.organizations.get(owner))
    return names
