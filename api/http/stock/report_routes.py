"""Report routes: the spec's summary views and the reorder suggestions, scoped to the caller."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.stock import queries as q
from api.http.stock.freshness import MinPosition, ensure_fresh
from api.http.stock.schemas import InventorySummaryOut, MachineUsageOut, ReorderSuggestion

router = APIRouter(tags=["stock queries"])


@router.get(
    "/reports/inventory-summary", response_model=list[InventorySummaryOut], summary="Inventory summary"
)
def inventory_summary(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[InventorySummaryOut]:
    """The spec's inventory_summary view for the caller's active warehouses."""
    ensure_fresh(conn, settings, ("inventory",), min_position)
    params = {"scope": caller.scope_list(), "organization_id": organization_id}
    return [InventorySummaryOut(**r) for r in q.rows(conn, q.INVENTORY_SUMMARY, params)]


@router.get("/reports/machine-usage", response_model=list[MachineUsageOut], summary="Machine usage")
def machine_usage(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[MachineUsageOut]:
    """The spec's machine_usage_summary view for the caller's machines."""
    ensure_fresh(conn, settings, ("part_usage",), min_position)
    params = {"scope": caller.scope_list(), "organization_id": organization_id}
    return [MachineUsageOut(**r) for r in q.rows(conn, q.MACHINE_USAGE, params)]


@router.get("/reports/reorder-suggestions", response_model=list[ReorderSuggestion], summary="What to reorder")
def reorder_suggestions(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    warehouse_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[ReorderSuggestion]:
    """Parts at or below their minimum stock recommendation, per warehouse, with a quantity to order.

    The suggestion tops the stock up to twice the recommendation (which covers the lead time and a
    safety margin), in whole units for consumables.
    """
    ensure_fresh(conn, settings, ("inventory",), min_position)
    params = {"scope": caller.scope_list(), "warehouse_id": warehouse_id}
    return [ReorderSuggestion(**r) for r in q.rows(conn, q.REORDER_SUGGESTIONS, params)]
