"""Response body of the stock reservations read (field names are the stock_reservations columns)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class ReservationOut(BaseModel):
    """What one customer order holds reserved of one part in one warehouse, and what became of it."""

    id: UUID
    customer_order_id: UUID
    customer_organization_id: UUID
    warehouse_id: UUID
    part_id: UUID
    reserved_quantity: Decimal = Field(description="Reserved when the order was confirmed.")
    shipped_quantity: Decimal = Field(description="Consumed by the order's shipments.")
    released_quantity: Decimal = Field(description="Released when the order was cancelled.")
    open_quantity: Decimal = Field(description="Still reserved: reserved - shipped - released.")
    status: Literal["open", "closed"]
    reserved_at: datetime
    updated_at: datetime
    part_number: str
    part_name: str
    unit_of_measure: str
    warehouse_name: str
    customer_organization_name: str
