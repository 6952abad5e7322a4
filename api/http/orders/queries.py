"""Order reads: from the order projections, or from the order's own stream right after a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from api.http.orders.schemas import OrderLineOut, OrderOut
from api.http.pagination import DATED, Page, page
from api.runtime.names import lookup
from ledger.orders.events import (
    CustomerOrderRequested,
    SupplierOrderRequested,
    customer_order_stream,
    supplier_order_stream,
)
from ledger.orders.state import order_state
from ledger.postgres import queries
from ledger.postgres.connection import Connection
from ledger.results import StockWarning

CUSTOMER_ORDERS = """
SELECT o.id, o.status, o.customer_organization_id, o.oraseas_organization_id, o.order_date,
    o.expected_delivery_date, o.actual_delivery_date, o.ordered_by_user_id, o.notes,
    (SELECT r.warehouse_id FROM stock_reservations r WHERE r.customer_order_id = o.id LIMIT 1)
        AS reserve_warehouse_id
FROM customer_orders o
WHERE (%(customer)s::uuid IS NULL OR o.customer_organization_id = %(customer)s)
  AND (%(status)s::text IS NULL OR o.status = %(status)s)
  AND (%(id)s::uuid IS NULL OR o.id = %(id)s)
  AND (%(after_date)s::timestamptz IS NULL OR (o.order_date, o.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY o.order_date DESC, o.id DESC
LIMIT %(limit)s
"""
CUSTOMER_ITEMS = """
SELECT i.customer_order_id, i.part_id, p.part_number, p.name AS part_name, p.unit_of_measure, i.quantity,
    i.unit_price, i.shipped_quantity, i.received_quantity,
    coalesce((SELECT sum(r.open_quantity) FROM stock_reservations r
              WHERE r.customer_order_id = i.customer_order_id AND r.part_id = i.part_id), 0)
        AS reserved_quantity
FROM customer_order_items i JOIN parts p ON p.id = i.part_id
WHERE i.customer_order_id = ANY(%s) ORDER BY i.part_id
"""
SUPPLIER_ORDERS = """
SELECT o.id, o.status, o.ordering_organization_id, o.supplier_organization_id, o.supplier_name, o.order_date,
    o.expected_delivery_date, o.actual_delivery_date, o.notes
FROM supplier_orders o
WHERE (%(status)s::text IS NULL OR o.status = %(status)s)
  AND (%(id)s::uuid IS NULL OR o.id = %(id)s)
  AND (%(after_date)s::timestamptz IS NULL OR (o.order_date, o.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY o.order_date DESC, o.id DESC
LIMIT %(limit)s
"""
SUPPLIER_ITEMS = """
SELECT i.supplier_order_id, i.part_id, p.part_number, p.name AS part_name, p.unit_of_measure, i.quantity,
    i.unit_price, i.received_quantity
FROM supplier_order_items i JOIN parts p ON p.id = i.part_id
WHERE i.supplier_order_id = ANY(%s) ORDER BY i.part_id
"""
IN_TRANSIT = """
SELECT i.customer_order_id, o.customer_organization_id, i.part_id, p.part_number, p.name AS part_name,
    p.unit_of_measure, i.shipped_quantity, i.received_quantity,
    i.shipped_quantity - i.received_quantity AS in_transit_quantity
FROM customer_order_items i
JOIN customer_orders o ON o.id = i.customer_order_id
JOIN parts p ON p.id = i.part_id
WHERE i.shipped_quantity > i.received_quantity
  AND (%(customer)s::uuid IS NULL OR o.customer_organization_id = %(customer)s)
ORDER BY o.order_date, i.customer_order_id, i.part_id
"""


def _rows(conn: Connection, query: str, params: Any) -> list[dict[str, Any]]:
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def customer_orders(conn: Connection, params: dict[str, Any]) -> list[OrderOut]:
    """Customer orders from the projection, with their lines."""
    heads = _rows(conn, CUSTOMER_ORDERS, params)
    lines: dict[UUID, list[OrderLineOut]] = {}
    for r in _rows(conn, CUSTOMER_ITEMS, [[h["id"] for h in heads]]):
        lines.setdefault(r.pop("customer_order_id"), []).append(
            OrderLineOut(**r, in_transit_quantity=r["shipped_quantity"] - r["received_quantity"])
        )
    return [OrderOut(**h, items=lines.get(h["id"], [])) for h in heads]


def supplier_orders(conn: Connection, params: dict[str, Any]) -> list[OrderOut]:
    """Supplier orders from the projection, with their lines."""
    heads = _rows(conn, SUPPLIER_ORDERS, params)
    lines: dict[UUID, list[OrderLineOut]] = {}
    for r in _rows(conn, SUPPLIER_ITEMS, [[h["id"] for h in heads]]):
        lines.setdefault(r.pop("supplier_order_id"), []).append(OrderLineOut(**r))
    return [OrderOut(**h, items=lines.get(h["id"], [])) for h in heads]


def in_transit(conn: Connection, customer: UUID | None) -> list[dict[str, Any]]:
    """Customer order lines shipped and not yet received."""
    return _rows(conn, IN_TRANSIT, {"customer": customer})


def one_order(conn: Connection, kind: str, order_id: UUID, *, log: Connection) -> OrderOut:
    """The order from its projection on `conn`; from its stream on `log` when not projected yet.

    `log` is the primary's connection: a read replica may not have replayed the stream yet either.
    """
    keys = {"status": None, "id": order_id, "limit": 1, "after_date": None, "after_id": None}
    found = (
        customer_orders(conn, keys | {"customer": None})
        if kind == "customer"
        else supplier_orders(conn, keys)
    )
    return found[0] if found else from_stream(log, kind, order_id, None, [])


def order_page(found: list[OrderOut], limit: int) -> Page[OrderOut]:
    """A page of a newest-first order list (from `limit + 1` orders)."""
    return page(found, limit, DATED, listed_key)


def from_stream(
    conn: Connection, kind: str, order_id: UUID, position: int | None, warnings: list[StockWarning]
) -> OrderOut:
    """The order exactly as its stream tells it now (right after a command, before projections catch up)."""
    events = queries.stream(
        conn, customer_order_stream(order_id) if kind == "customer" else supplier_order_stream(order_id)
    )
    state = order_state((e.stream_version, e.event()) for e in events)
    assert state is not None
    names = lookup(conn, parts=state.lines)
    items = [
        OrderLineOut(
            part_id=line.part_id,
            **names.part(line.part_id),
            quantity=line.ordered,
            unit_price=line.unit_price,
            shipped_quantity=line.shipped if kind == "customer" else None,
            received_quantity=line.received,
            in_transit_quantity=line.in_transit if kind == "customer" else None,
            reserved_quantity=line.reserved if kind == "customer" else None,
        )
        for line in state.lines.values()
    ]
    common: dict[str, Any] = {
        "id": order_id,
        "status": state.status,
        "items": items,
        "position": position,
        "warnings": warnings,
        "ordered_by_user_id": events[0].metadata.performed_by_user_id,
        "reserve_warehouse_id": state.reserved_in,
    }
    return OrderOut(**common | _request_fields(events[0].event()))


# What an order's opening event says of it, by kind: the fields OrderOut shows.
CUSTOMER_FIELDS = {
    "customer_organization_id",
    "oraseas_organization_id",
    "order_date",
    "expected_delivery_date",
    "notes",
}
SUPPLIER_FIELDS = {
    "ordering_organization_id",
    "supplier_organization_id",
    "supplier_name",
    "order_date",
    "expected_delivery_date",
    "notes",
}


def _request_fields(head: object) -> dict[str, Any]:
    if isinstance(head, CustomerOrderRequested):
        return head.model_dump(include=CUSTOMER_FIELDS)
    if isinstance(head, SupplierOrderRequested):
        return head.model_dump(include=SUPPLIER_FIELDS)
    return {}


def listed_key(order: OrderOut) -> tuple[datetime, UUID]:
    """A listed order's sort key (order_date, id), as its list's cursor holds it."""
    # Listed orders come from the projections, whose order_date is NOT NULL.
    assert order.order_date is not None
    return order.order_date, order.id
