"""Request and response bodies of the stock, report and log routes (field names: the spec's columns)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledger.results import StockWarning
from ledger.types import ClientTimestamp, ReasonCode, ShortText, Text, Unit

TransactionType = Literal["creation", "transfer", "consumption", "adjustment"]


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TransactionIn(Body):
    """A movement, as the spec's transactions row (adjustments also need a reason_code)."""

    transaction_type: TransactionType
    part_id: UUID
    from_warehouse_id: UUID | None = None
    to_warehouse_id: UUID | None = None
    machine_id: UUID | None = None
    quantity: Decimal = Field(description="Positive, at most 3 decimals; a string keeps it exact.")
    unit_of_measure: Unit | None = Field(default=None, description="Defaults to the part's unit.")
    transaction_date: ClientTimestamp | None = Field(default=None, description="Defaults to now.")
    notes: Text | None = None
    reference_number: ShortText | None = None
    reason_code: ReasonCode | None = Field(default=None, description="Required for an adjustment.")


class DecisionIn(Body):
    """Approve, reject or reverse a movement."""

    notes: Text | None = None
    expected_version: int | None = Field(default=None, ge=1, description="Refuse if the movement moved on.")


class StockAdjustmentIn(Body):
    """A signed correction of one part's stock in one warehouse."""

    warehouse_id: UUID
    part_id: UUID
    quantity_adjusted: Decimal = Field(description="Signed: negative decreases the stock.")
    reason_code: ReasonCode
    notes: Text | None = None
    unit_of_measure: Unit | None = None
    transaction_date: ClientTimestamp | None = None
    reference_number: ShortText | None = None


class CountedItemIn(Body):
    """One counted line of a stocktake."""

    part_id: UUID
    counted_quantity: Decimal = Field(ge=0)


class StocktakeIn(Body):
    """A stocktake of one warehouse: every difference becomes an adjustment, all in one append."""

    warehouse_id: UUID
    items: list[CountedItemIn] = Field(min_length=1, max_length=10_000)
    notes: Text | None = None
    transaction_date: ClientTimestamp | None = None
    reference_number: ShortText | None = None


class PartUsageIn(Body):
    """Parts used on a machine: a consumption out of one of the owner's warehouses."""

    machine_id: UUID
    part_id: UUID
    warehouse_id: UUID
    quantity: Decimal
    usage_date: ClientTimestamp | None = None
    notes: Text | None = None


class TransactionOut(BaseModel):
    """A transactions row."""

    id: UUID
    transaction_type: TransactionType
    part_id: UUID
    from_warehouse_id: UUID | None
    to_warehouse_id: UUID | None
    machine_id: UUID | None
    quantity: Decimal
    unit_of_measure: str
    performed_by_user_id: UUID
    transaction_date: datetime
    notes: str | None
    reference_number: str | None
    requires_approval: bool
    approval_status: str | None
    created_at: datetime
    part_number: str | None = None
    part_name: str | None = None
    from_warehouse_name: str | None = None
    to_warehouse_name: str | None = None


class Recorded(BaseModel):
    """What a stock command answers: the movements it recorded or acted on, where, and any warnings."""

    transactions: list[TransactionOut]
    position: int | None = Field(description="Log position; pass it as min_position to read your write.")
    warnings: list[StockWarning]


STOCK_SCALE = Decimal("0.001")  # inventory.current_stock is DECIMAL(10,3)


class InventoryOut(BaseModel):
    """An inventory row, with the owning organization of its warehouse and the names of all three."""

    id: UUID
    warehouse_id: UUID
    part_id: UUID
    current_stock: Decimal = Field(description="On hand.")
    reserved_stock: Decimal = Field(description="Of it, reserved for confirmed customer orders.")
    available_stock: Decimal = Field(description="current_stock - reserved_stock: what may still be taken.")
    minimum_stock_recommendation: Decimal
    unit_of_measure: str
    reorder_threshold_set_by: str | None
    last_recommendation_update: datetime | None
    last_updated: datetime
    created_at: datetime
    organization_id: UUID
    part_number: str
    part_name: str
    warehouse_name: str
    organization_name: str


class StockLevel(BaseModel):
    """Stock of one part in one warehouse at a past point, folded from the log."""

    warehouse_id: UUID
    part_id: UUID
    current_stock: Decimal
    part_number: str | None = Field(default=None, description="None only for a part no longer listed.")
    part_name: str | None = None
    unit_of_measure: str | None = None
    warehouse_name: str | None = None
    organization_id: UUID | None = None
    organization_name: str | None = None

    @field_validator("current_stock")
    @classmethod
    def _as_stored(cls, value: Decimal) -> Decimal:
        """Written as `inventory` writes it (3 places), whatever scale the sum came out with."""
        return value.quantize(STOCK_SCALE)


class AsOf(BaseModel):
    """Stock at a past point of the ledger."""

    items: list[StockLevel]
    position: int | None
    at: datetime | None = Field(default=None, description="as it happened by this moment (by date)")
    known_at: datetime | None = Field(default=None, description="as the ledger knew it at this moment")


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
    part_number: str
    part_name: str
    unit_of_measure: str
    warehouse_name: str
    customer_organization_name: str


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
    part_number: str
    part_name: str
    unit_of_measure: str
    warehouse_name: str


class TransactionApprovalOut(BaseModel):
    """A transaction_approvals row."""

    id: UUID
    transaction_id: UUID
    approver_id: UUID
    status: str
    notes: str | None
    created_at: datetime
    part_id: UUID
    part_number: str
    part_name: str


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
    organization_name: str
    part_id: UUID
    part_number: str
    part_name: str
    current_stock: Decimal
    minimum_stock_recommendation: Decimal
    unit_of_measure: str
    suggested_order_quantity: Decimal
    lead_time_days: int | None
