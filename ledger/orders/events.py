"""Order events. Each order is a stream of its own; shipments and receipts carry the stock they move.

A customer order's stock leaves the shipping warehouse when shipped and
arrives in the customer's warehouse when received; in between it is in
transit, counted in no warehouse. A confirmed customer order may reserve its
lines in one Oraseas EE warehouse (StockReserved): the stock stays on hand but
is no longer available; shipments consume the reservation and a cancellation
releases it (StockReservationReleased). A supplier order's receipt is recorded with
one creation movement per line (ordinary StockCreated events), appended in
the same transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from ledger.events import Event
from ledger.types import Timestamp


def customer_order_stream(order_id: UUID) -> str:
    """The stream id of a customer order."""
    return f"customer-order-{order_id}"


def supplier_order_stream(order_id: UUID) -> str:
    """The stream id of a supplier order."""
    return f"supplier-order-{order_id}"


class OrderLine(BaseModel):
    """An ordered line: one part, a quantity, a price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    part_id: UUID
    quantity: Decimal
    unit_price: Decimal | None = None
    unit_of_measure: str


class MovedLine(BaseModel):
    """A quantity of one part shipped or received; a receipt line names where it was shipped from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    part_id: UUID
    quantity: Decimal
    from_warehouse_id: UUID | None = None
    transaction_id: UUID | None = None  # the transactions row a receipt line becomes


class ReservedLine(BaseModel):
    """A quantity of one part reserved for an order, or released from its reservation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    part_id: UUID
    quantity: Decimal


class _Request(Event):
    """What every order request carries, customer or supplier: when, what, and notes."""

    order_date: Timestamp
    expected_delivery_date: Timestamp | None = None
    notes: str | None = None
    lines: tuple[OrderLine, ...]


class _Noted(Event):
    """An order's step that carries only an optional note: confirmed, placed, cancelled."""

    notes: str | None = None


class _Receipt(Event):
    """Stock taken into a warehouse against an order; `completed` once nothing is outstanding."""

    receipt_id: UUID
    warehouse_id: UUID
    lines: tuple[MovedLine, ...]
    received_at: Timestamp
    completed: bool = False


class _CustomerOrderEvent(Event):
    order_id: UUID

    @property
    def stream_id(self) -> str:
        """This order's stream."""
        return customer_order_stream(self.order_id)


class CustomerOrderRequested(_Request, _CustomerOrderEvent):
    """A customer ordered parts from Oraseas EE."""

    event_type: ClassVar[str] = "CustomerOrderRequested"
    customer_organization_id: UUID
    oraseas_organization_id: UUID


class CustomerOrderConfirmed(_Noted, _CustomerOrderEvent):
    """Oraseas EE accepted the order."""

    event_type: ClassVar[str] = "CustomerOrderConfirmed"


class StockReserved(_CustomerOrderEvent):
    """Stock on hand in an Oraseas EE warehouse was set aside for the order (it stays on hand)."""

    event_type: ClassVar[str] = "StockReserved"
    customer_organization_id: UUID
    warehouse_id: UUID
    lines: tuple[ReservedLine, ...]
    reserved_at: Timestamp
    warnings: tuple[str, ...] = ()


class StockReservationReleased(_CustomerOrderEvent):
    """Part of the order's reservation ended: consumed by a shipment, or released by a cancellation."""

    event_type: ClassVar[str] = "StockReservationReleased"
    warehouse_id: UUID
    lines: tuple[ReservedLine, ...]
    reason: Literal["shipped", "cancelled"]
    released_at: Timestamp


class CustomerOrderShipped(_CustomerOrderEvent):
    """Stock left an Oraseas EE warehouse for the customer."""

    event_type: ClassVar[str] = "CustomerOrderShipped"
    shipment_id: UUID
    warehouse_id: UUID
    lines: tuple[MovedLine, ...]
    shipped_at: Timestamp
    warnings: tuple[str, ...] = ()


class CustomerOrderReceived(_Receipt, _CustomerOrderEvent):
    """The customer took shipped stock into one of its warehouses."""

    event_type: ClassVar[str] = "CustomerOrderReceived"
    warnings: tuple[str, ...] = ()


class CustomerOrderCancelled(_Noted, _CustomerOrderEvent):
    """The order was cancelled before anything was shipped."""

    event_type: ClassVar[str] = "CustomerOrderCancelled"


class _SupplierOrderEvent(Event):
    order_id: UUID

    @property
    def stream_id(self) -> str:
        """This order's stream."""
        return supplier_order_stream(self.order_id)


class SupplierOrderRequested(_Request, _SupplierOrderEvent):
    """Oraseas EE drafted an order to a supplier."""

    event_type: ClassVar[str] = "SupplierOrderRequested"
    ordering_organization_id: UUID
    supplier_organization_id: UUID | None = None
    supplier_name: str


class SupplierOrderPlaced(_Noted, _SupplierOrderEvent):
    """The order was sent to the supplier."""

    event_type: ClassVar[str] = "SupplierOrderPlaced"


class SupplierOrderReceived(_Receipt, _SupplierOrderEvent):
    """Ordered stock arrived in an Oraseas EE warehouse (with one creation movement per line)."""

    event_type: ClassVar[str] = "SupplierOrderReceived"


class SupplierOrderCancelled(_Noted, _SupplierOrderEvent):
    """The order was cancelled before anything was received."""

    event_type: ClassVar[str] = "SupplierOrderCancelled"


ORDER_EVENT_TYPES: tuple[type[Event], ...] = (
    CustomerOrderRequested,
    CustomerOrderConfirmed,
    CustomerOrderShipped,
    CustomerOrderReceived,
    CustomerOrderCancelled,
    StockReserved,
    StockReservationReleased,
    SupplierOrderRequested,
    SupplierOrderPlaced,
    SupplierOrderReceived,
    SupplierOrderCancelled,
)
