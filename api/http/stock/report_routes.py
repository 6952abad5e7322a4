"""Report routes: the spec's summary views and the reorder suggestions, scoped to the caller."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.http.stock import queries as q
from api.http.stock.reading import StockRead
from api.http.stock.schemas import InventorySummaryOut, MachineUsageOut, ReorderSuggestion

router = APIRouter(tags=["stock queries"])


@router.get(
    "/reports/inventory-summary", response_model=list[InventorySummaryOut], summary="Inventory summary"
)
def inventory_summary(reading: StockRead, organization_id: UUID | None = None) -> list[InventorySummaryOut]:
    """The spec's inventory_summary view for the caller's active warehouses."""
    filters = {"organization_id": organization_id}
    return reading.rows(("inventory",), q.INVENTORY_SUMMARY, InventorySummaryOut, filters)


@router.get("/reports/machine-usage", response_model=list[MachineUsageOut], summary="Machine usage")
def machine_usage(reading: StockRead, organization_id: UUID | None = None) -> list[MachineUsageOut]:
    """The spec's machine_usage_summary view for the caller's machines."""
    filters = {"organization_id": organization_id}
    return reading.rows(("part_usage",), q.MACHINE_USAGE, MachineUsageOut, filters)


@router.get("/reports/reorder-suggestions", response_model=list[ReorderSuggestion], summary="What to reorder")
def reorder_suggestions(reading: StockRead, warehouse_id: UUID | None = None) -> list[ReorderSuggestion]:
    """Parts at or below their minimum stock recommendation, per warehouse, with a quantity to order.

    The suggestion tops the stock up to twice the recommendation (which covers the lead time and a
    safety margin), in whole units for consumables.
    """
    filters = {"warehouse_id": warehouse_id}
    return reading.rows(("inventory",), q.REORDER_SUGGESTIONS, ReorderSuggestion, filters)
