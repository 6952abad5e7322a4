"""Order commands: what customers and Oraseas EE ask of an order. The rules live in ledger.orders.decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field

from ledger.commands import Command
from ledger.types import ClientTimestamp, Text, storable_text

SupplierName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(storable_text)]


class OrderItem(Command):
    """A line to order: part, quantity, agreed price."""

    part_id: UUID
    quantity: Decimal
    unit_price: Decimal | None = Field(default=None, ge=0, decimal_places=2, max_digits=10)


class MoveItem(Command):
    """A quantity of one part of the order to ship or receive now."""

    part_id: UUID
    quantity: Decimal


Items = Annotated[tuple[OrderItem, ...], Field(min_length=1, max_length=1000)]
Moves = Annotated[tuple[MoveItem, ...], Field(min_length=1, max_length=1000)]


class RequestCustomerOrder(Command):
    """A customer orders parts from Oraseas EE."""

    customer_organization_id: UUID
    items: Items
    expected_delivery_date: ClientTimestamp | None = None
    notes: Text | None = None


class _OrderAction(Command):
    order_id: UUID
    notes: Text | None = None


class ConfirmCustomerOrder(_OrderAction):
    """Oraseas EE accepts a requested order, reserving its lines in `reserve_warehouse_id` when given."""

    reserve_warehouse_id: UUID | None = None


class CancelCustomerOrder(_OrderAction):
    """Cancel an order that has shipped nothing."""


class ShipCustomerOrder(_OrderAction):
    """Ship (part of) a confirmed order from an Oraseas EE warehouse."""

    warehouse_id: UUID
    items: Moves


class ReceiveCustomerOrder(_OrderAction):
    """The customer receives (part of) what was shipped into one of its warehouses."""

    warehouse_id: UUID
    items: Moves


class RequestSupplierOrder(Command):
    """Oraseas EE drafts an order to a supplier organization or a supplier named in free text."""

    ordering_organization_id: UUID
    supplier_organization_id: UUID | None = None
    supplier_name: SupplierName | None = None
    items: Items
    expected_delivery_date: ClientTimestamp | None = None
    notes: Text | None = None


class PlaceSupplierOrder(_OrderAction):
    """Send a requested supplier order: requested -> ordered."""


class ReceiveSupplierOrder(_OrderAction):
    """Receive (part of) an ordered supplier order into an Oraseas EE warehouse."""

    warehouse_id: UUID
    items: Moves


class CancelSupplierOrder(_OrderAction):
    """Cancel a supplier order that has received nothing."""


OrderCommand = (
    RequestCustomerOrder
    | ConfirmCustomerOrder
    | CancelCustomerOrder
    | ShipCustomerOrder
    | ReceiveCustomerOrder
    | RequestSupplierOrder
    | PlaceSupplierOrder
    | ReceiveSupplierOrder
    | CancelSupplierOrder
)
