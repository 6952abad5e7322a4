"""Response bodies of the read routes (field names are the spec's column names)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, field_validator

STOCK_SCALE = Decimal("0.001")  # inventory.current_stock is DECIMAL(10,3)


class InventoryOut(BaseModel):
    """An inventory row, with the owning organization of its warehouse."""

    id: UUID
    warehouse_id: UUID
    part_id: UUID
    current_stock: Decimal
    minimum_stock_recommendation: Decimal
    unit_of_measure: str
    reorder_threshold_set_by: str | None
    last_recommendation_update: datetime | None
    last_updated: datetime
    created_at: datetime
    organization_id: UUID


class StockLevel(BaseModel):
    """Stock of one part in one warehouse at a past point, folded from the log."""

    warehouse_id: UUID
    part_id: UUID
    current_stock: Decimal

    @field_validator("current_stock")
    @classmethod
    def _as_stored(cls, value: Decimal) -> Decimal:
        """Written as `inventory` writes it (3 places), whatever scale the sum came out with."""
        return value.quantize(STOCK_SCALE)


class AsOf(BaseModel):
    """Stock at a past point of the ledger."""

    items: list[StockLevel]
    position: int | None
    at: datetime | None


class PartUsageOut(BaseModel):
    """A part_usage row."""

    id: UUID
    customer_organization_id: UUID
    part_id: UUID
    usage_date: datetime
    quantity: Decimal
    machine_id: UUID | None
    recorded_by_user_id: UUID | None
    warehouse_id: UUID
    notes: str | None
    created_at: datetime


class StockAdjustmentOut(BaseModel):
    """A stock_adjustments row, with the warehouse and part of its inventory row."""

    id: UUID
    inventory_id: UUID
    warehouse_id: UUID
    part_id: UUID
    user_id: UUID
    adjustment_date: datetime
    quantity_adjusted: Decimal
    reason_code: str
    notes: str | None
    created_at: datetime


class TransactionApprovalOut(BaseModel):
    """A transaction_approvals row."""

    id: UUID
    transaction_id: UUID
    approver_id: UUID
    status: str
    notes: str | None
    created_at: datetime


class LedgerEventOut(BaseModel):
    """One event of the log, exactly as stored, hashes in hex."""

    position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    performed_by_user_id: str | None
    request_id: str | None
    idempotency_key: str | None
    correlation_id: str | None
    causation_id: str | None
    recorded_at: str
    previous_hash: str
    hash: str


class ProjectionStatusOut(BaseModel):
    """Where one projection stands."""

    name: str
    position: int
    events_applied: int
    lag_events: int
    lag_seconds: float
    updated_at: datetime | None
    worker_active: bool


class InventorySummaryOut(BaseModel):
    """A row of the inventory_summary view."""

    warehouse_id: UUID
    warehouse_name: str
    organization_id: UUID
    organization_name: str
    total_parts: int
    low_stock_parts: int
    total_value: Decimal | None


class MachineUsageOut(BaseModel):
    """A row of the machine_usage_summary view."""

    machine_id: UUID
    machine_name: str
    serial_number: str
    customer_organization_id: UUID
    customer_name: str
    total_usage_records: int
    last_usage_date: datetime | None
    total_parts_consumed: Decimal | None


class ReorderSuggestion(BaseModel):
    """A part at or below its minimum stock in one warehouse, and how much to order."""

    warehouse_id: UUID
    warehouse_name: str
    organization_id: UUID
    part_id: UUID
    part_number: str
    part_name: str
    current_stock: Decimal
    minimum_stock_recommendation: Decimal
    unit_of_measure: str
    suggested_order_quantity: Decimal
    lead_time_days: int | None
