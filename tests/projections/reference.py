"""An independent reference for the projections: the read tables' rows folded from domain events in Python.

It shares nothing with the projections' SQL, so a projection that drifts from
the meaning of the events is caught even though verify and rebuild, which run
that same SQL, would agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.events import (
    EVENT_TYPES,
    Movement,
    MovementApproved,
    MovementRejected,
    MovementReversed,
    StockAdjusted,
    StockConsumed,
)
from ledger.orders.events import CustomerOrderReceived, StockReservationReleased, StockReserved
from ledger.recorded import RecordedEvent
from tests.fixtures.ledger import Conn

Rows = dict[str, set[tuple[Any, ...]]]
D0 = Decimal(0)


def expected_rows(events: Iterable[RecordedEvent]) -> Rows:
    """The rows (of a few telling columns) each table should hold after `events`."""
    movements: dict[UUID, tuple[Movement, UUID | None]] = {}
    status: dict[UUID, str] = {}
    usage: set[tuple[Any, ...]] = set()
    adjustments: set[tuple[Any, ...]] = set()
    approvals: set[tuple[Any, ...]] = set()
    reservations: dict[tuple[UUID, UUID, UUID], list[Any]] = {}
    receipts: set[tuple[Any, ...]] = set()  # a customer's receipt line is a transfer, approved at once
    for recorded in events:
        if recorded.event_type not in EVENT_TYPES:
            continue
        event, user = recorded.event(), recorded.metadata.performed_by_user_id
        effective: tuple[Movement, UUID | None] | None = None
        if isinstance(event, Movement):
            movements[event.transaction_id] = (event, user)
            status[event.transaction_id] = event.approval_status
            effective = (event, user) if event.approval_status == "approved" else None
        elif isinstance(event, MovementApproved | MovementRejected):
            decision = "approved" if isinstance(event, MovementApproved) else "rejected"
            status[event.transaction_id] = decision
            approvals.add((event.transaction_id, user, decision))
            effective = movements[event.transaction_id] if decision == "approved" else None
        elif isinstance(event, MovementReversed):
            usage = {u for u in usage if u[0] != event.transaction_id}
        elif isinstance(event, StockReserved | StockReservationReleased):
            _reservation(reservations, event)
        elif isinstance(event, CustomerOrderReceived):
            receipts |= {
                (
                    line.transaction_id,
                    "transfer",
                    line.part_id,
                    line.from_warehouse_id,
                    event.warehouse_id,
                    line.quantity,
                    user,
                    "approved",
                )
                for line in event.lines
            }
        if effective is None:
            continue
        m, by = effective
        if isinstance(m, StockConsumed) and m.machine_id is not None:
            usage.add(
                (
                    m.transaction_id,
                    m.customer_organization_id,
                    m.machine_id,
                    m.from_warehouse_id,
                    m.quantity,
                    by,
                )
            )
        if isinstance(m, StockAdjusted):
            warehouse = m.from_warehouse_id or m.to_warehouse_id
            adjustments.add((m.transaction_id, m.quantity_adjusted, m.reason_code, by, warehouse, m.part_id))
    transactions = {
        (t, m.transaction_type, m.part_id, m.from_warehouse_id, m.to_warehouse_id, m.quantity, by, status[t])
        for t, (m, by) in movements.items()
    } | receipts
    return {
        "transactions": transactions,
        "part_usage": usage,
        "stock_adjustments": adjustments,
        "transaction_approvals": approvals,
        "stock_reservations": {
            (*key, *quantities, "open" if quantities[3] > 0 else "closed")
            for key, quantities in reservations.items()
        },
    }


def _reservation(
    rows: dict[tuple[UUID, UUID, UUID], list[Any]], event: StockReserved | StockReservationReleased
) -> None:
    """Per (order, warehouse, part): [reserved, shipped, released, open]."""
    for line in event.lines:
        row = rows.setdefault((event.order_id, event.warehouse_id, line.part_id), [D0, D0, D0, D0])
        if isinstance(event, StockReserved):
            row[0] += line.quantity
            row[3] += line.quantity
        else:
            row[1 if event.reason == "shipped" else 2] += line.quantity
            row[3] -= line.quantity


QUERIES = {
    "transactions": "SELECT id, transaction_type::text, part_id, from_warehouse_id, to_warehouse_id,"
    " quantity, performed_by_user_id, approval_status FROM transactions",
    "part_usage": "SELECT id, customer_organization_id, machine_id, warehouse_id, quantity,"
    " recorded_by_user_id FROM part_usage",
    "stock_adjustments": "SELECT a.id, a.quantity_adjusted, a.reason_code, a.user_id, i.warehouse_id,"
    " i.part_id FROM stock_adjustments a JOIN inventory i ON i.id = a.inventory_id",
    "transaction_approvals": "SELECT transaction_id, approver_id, status::text FROM transaction_approvals",
    "stock_reservations": "SELECT customer_order_id, warehouse_id, part_id, reserved_quantity,"
    " shipped_quantity, released_quantity, open_quantity, status FROM stock_reservations",
}


def projected_rows(conn: Conn) -> Rows:
    """The same columns as `expected_rows`, read from the projections."""
    return {table: set(conn.execute(query).fetchall()) for table, query in QUERIES.items()}
