"""Request and response bodies of the order routes (field names are the spec's column names)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.results import StockWarning
from ledger.types import ClientTimestamp, Text


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class ItemIn(Body):
    """A line to order."""

    part_id: UUID
    quantity: Decimal
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)


class MoveIn(Body):
    """A quantity of one ordered part to ship or receive."""

    part_id: UUID
    quantity: Decimal


class CustomerOrderIn(Body):
    """A customer's order to Oraseas EE (a super_admin names the customer; others order for their own)."""

    customer_organization_id: UUID | None = None
    items: list[ItemIn] = Field(min_length=1, max_length=1000)
    expected_delivery_date: ClientTimestamp | None = None
    notes: Text | None = None


class SupplierOrderIn(Body):
    """Oraseas EE's order to a supplier organization, or to a supplier named in free text."""

    supplier_organization_id: UUID | None = None
    supplier_name: str | None = Field(default=None, min_length=1, max_length=255)
    items: list[ItemIn] = Field(min_length=1, max_length=1000)
    expected_delivery_date: ClientTimestamp | None = None
    notes: Text | None = None


class ActionIn(Body):
    """Notes on confirming, placing or cancelling."""

    notes: Text | None = None


class ConfirmIn(ActionIn):
    """Notes on confirming, and the Oraseas EE warehouse to reserve the order's lines in (none: none)."""

    reserve_warehouse_id: UUID | None = None


class MovementIn(Body):
    """A shipment or receipt: the warehouse and what moves."""

    warehouse_id: UUID
    items: list[MoveIn] = Field(min_length=1, max_length=1000)
    notes: Text | None = None


class OrderLineOut(BaseModel):
    """A line as it stands: ordered, shipped, received, in transit; the part's number, name and unit."""

    part_id: UUID
    part_number: str | None = None
    part_name: str | None = None
    unit_of_measure: str | None = None
    quantity: Decimal
    unit_price: Decimal | None
    shipped_quantity: Decimal | None = None
    received_quantity: Decimal
    in_transit_quantity: Decimal | None = None
    reserved_quantity: Decimal | None = Field(
        default=None, description="Customer orders: what the order still holds reserved for this line."
    )


class OrderOut(BaseModel):
    """An order as it stands, and the ledger position of the last change (pass as min_position)."""

    id: UUID
    status: str
    customer_organization_id: UUID | None = None
    oraseas_organization_id: UUID | None = None
    ordering_organization_id: UUID | None = None
    supplier_organization_id: UUID | None = None
    supplier_name: str | None = None
    order_date: datetime | None = None
    expected_delivery_date: datetime | None = None
    actual_delivery_date: datetime | None = None
    ordered_by_user_id: UUID | None = None
    notes: str | None = None
    reserve_warehouse_id: UUID | None = Field(
        default=None, description="Customer orders: the warehouse its lines were reserved in, if any."
    )
    items: list[OrderLineOut]
    position: int | None = None
    warnings: list[StockWarning] = []


class AvailabilityLine(BaseModel):
    """Can the warehouse fill this line now? Stock reserved for other orders is not available to it."""

    part_id: UUID
    remaining_to_ship: Decimal
    on_hand: Decimal
    reserved: Decimal = Field(
        description="Reserved in this warehouse for customer orders, this one included."
    )
    reserved_for_order: Decimal = Field(description="Of `reserved`, what this order holds.")
    available: Decimal = Field(
        description="What this order may take: on_hand - reserved + reserved_for_order."
    )
    sufficient: bool


class Availability(BaseModel):
    """Whether one Oraseas EE warehouse can fill what is left of an order now."""

    order_id: UUID
    warehouse_id: UUID
    can_fill: bool
    items: list[AvailabilityLine]


class InTransitOut(BaseModel):
    """A customer order line with stock on its way."""

    customer_order_id: UUID
    customer_organization_id: UUID
    part_id: UUID
    part_number: str
    part_name: str
    unit_of_measure: str
    shipped_quantity: Decimal
    received_quantity: Decimal
    in_transit_quantity: Decimal
