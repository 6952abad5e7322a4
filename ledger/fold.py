"""The pure fold: stock per (warehouse, part) from any prefix of the log. Projections must match it.

Two quantities per (warehouse, part): on hand (`stock_changes`, `fold_stock`) and reserved for
customer orders (`reservation_changes`, `fold_reserved`); available = on hand - reserved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger.events import Event, Movement, MovementApproved
from ledger.orders.events import (
    CustomerOrderReceived,
    CustomerOrderShipped,
    StockReservationReleased,
    StockReserved,
)

StockKey = tuple[UUID, UUID]  # (warehouse_id, part_id)
StockChange = tuple[StockKey, Decimal]


def stock_changes(event: Event) -> list[StockChange]:
    """The stock change an event causes on its own: approved movements and approvals move stock."""
    if isinstance(event, Movement):
        if event.approval_status != "approved":
            return []
        return _move(event.part_id, event.from_warehouse_id, event.to_warehouse_id, event.quantity)
    if isinstance(event, MovementApproved):
        return _move(event.part_id, event.from_warehouse_id, event.to_warehouse_id, event.quantity)
    if isinstance(event, CustomerOrderShipped):  # leaves the warehouse: in transit until received
        return [((event.warehouse_id, line.part_id), -line.quantity) for line in event.lines]
    if isinstance(event, CustomerOrderReceived):
        return [((event.warehouse_id, line.part_id), line.quantity) for line in event.lines]
    return []


def happened_at(event: Event, recorded_at: datetime) -> datetime | None:
    """When the event's stock change happened (None: it changes no stock on its own date).

    A movement on its `transaction_date` (which may be backdated); a held movement's change on its
    approval, recorded at `recorded_at` (held stock moves when approved); a customer order's shipment
    and receipt on their own dates. The SQL twin is `ledger_happened_at` (migration 0013).
    """
    if isinstance(event, Movement):
        return event.transaction_date
    if isinstance(event, MovementApproved):
        return recorded_at
    if isinstance(event, CustomerOrderShipped):
        return event.shipped_at
    if isinstance(event, CustomerOrderReceived):
        return event.received_at
    return None


def reservation_changes(event: Event) -> list[StockChange]:
    """The change of reserved stock an event causes: reservations add, releases take away."""
    if isinstance(event, StockReserved):
        return [((event.warehouse_id, line.part_id), line.quantity) for line in event.lines]
    if isinstance(event, StockReservationReleased):
        return [((event.warehouse_id, line.part_id), -line.quantity) for line in event.lines]
    return []


def _move(part_id: UUID, from_id: UUID | None, to_id: UUID | None, quantity: Decimal) -> list[StockChange]:
    changes: list[StockChange] = []
    if from_id is not None:
        changes.append(((from_id, part_id), -quantity))
    if to_id is not None:
        changes.append(((to_id, part_id), quantity))
    return changes


def apply(levels: dict[StockKey, Decimal], event: Event) -> dict[StockKey, Decimal]:
    """Add one event's stock changes to `levels` (in place) and return it."""
    for key, delta in stock_changes(event):
        levels[key] = levels.get(key, Decimal(0)) + delta
    return levels


def fold_stock(events: Iterable[Event]) -> dict[StockKey, Decimal]:
    """Stock per (warehouse, part) after `events`, keys with zero stock left out."""
    levels: dict[StockKey, Decimal] = {}
    for event in events:
        apply(levels, event)
    return {key: value for key, value in levels.items() if value != 0}


def fold_reserved(events: Iterable[Event]) -> dict[StockKey, Decimal]:
    """Reserved stock per (warehouse, part) after `events`, keys with nothing reserved left out."""
    reserved: dict[StockKey, Decimal] = {}
    for event in events:
        for key, delta in reservation_changes(event):
            reserved[key] = reserved.get(key, Decimal(0)) + delta
    return {key: value for key, value in reserved.items() if value != 0}
