"""Request and response bodies of the stock routes; field names are the spec's column names."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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


class Recorded(BaseModel):
    """What a stock command answers: the movements it recorded or acted on, where, and any warnings."""

    transactions: list[TransactionOut]
    position: int | None = Field(description="Log position; pass it as min_position to read your write.")
    warnings: list[str]
