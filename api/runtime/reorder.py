"""Reorders that draft themselves: a warehouse's reorder suggestions become `requested` supplier orders.

Shared by `POST /reports/reorder-suggestions/drafts` and `abparts reorder`; both run the
RequestSupplierOrder commands it builds through the one command pipeline. The rules:

- The suggestions are `GET /reports/reorder-suggestions`' rows for the warehouse (an Oraseas EE
  warehouse: only Oraseas EE orders from suppliers), read from the `inventory` projection.
- Lines are grouped by the supplier each part was last ordered from (its latest supplier order
  that was not cancelled, by order date, from a supplier that can still be ordered from; that
  line's unit price is kept); parts never ordered go
  to one order whose supplier is left to fill in: `supplier_name` is `SUPPLIER_TO_FILL_IN` (the
  spec's column is NOT NULL) and `supplier_organization_id` is null. Such a draft is never taken
  as a part's last supplier.
- Idempotent per UTC day and warehouse, whoever asks: each draft's notes carry the day and the
  warehouse (`marker`); a call that finds orders requested that day with them creates nothing and
  answers them again. A session advisory lock on the marker serializes two calls racing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.orders.commands import OrderItem, RequestSupplierOrder
from ledger.orders.requests import SUPPLIER_SOURCES
from ledger.postgres import queries
from ledger.postgres.connection import Connection
from ledger.results import CommandResult

SUPPLIER_TO_FILL_IN = "(supplier to fill in)"

# What to order of a part at or below its minimum: up to twice the minimum. Shared with GET
# /reports/reorder-suggestions (api/http/stock/queries.py). Stock reserved for customer orders is
# not there to use, so both count what is available (on hand - reserved).
AVAILABLE = "(i.current_stock - i.reserved_stock)"
SUGGESTED_QUANTITY = f"""CASE p.part_type
        WHEN 'consumable' THEN ceil(2 * i.minimum_stock_recommendation - {AVAILABLE})
        ELSE 2 * i.minimum_stock_recommendation - {AVAILABLE} END"""
AT_OR_BELOW_MINIMUM = f"i.minimum_stock_recommendation > 0 AND {AVAILABLE} <= i.minimum_stock_recommendation"

SUGGESTIONS = f"""
SELECT i.part_id, {SUGGESTED_QUANTITY} AS quantity
FROM inventory i JOIN parts p ON p.id = i.part_id
WHERE i.warehouse_id = %s AND {AT_OR_BELOW_MINIMUM}
ORDER BY p.part_number, i.part_id
"""

# Each part's latest supplier order that was not cancelled. A draft left to fill in names no supplier,
# and an organization that can no longer be ordered from (inactive, or no longer a supplier) is passed
# over for the one before it (else the draft to fill in), so no command is refused halfway through.
LAST_SUPPLIERS = f"""
SELECT DISTINCT ON (i.part_id) i.part_id, o.supplier_organization_id, o.supplier_name, i.unit_price
FROM supplier_order_items i JOIN supplier_orders o ON o.id = i.supplier_order_id
LEFT JOIN organizations s ON s.id = o.supplier_organization_id
WHERE i.part_id = ANY(%(parts)s) AND o.ordering_organization_id = %(ordering)s AND o.status <> 'cancelled'
  AND NOT (o.supplier_organization_id IS NULL AND o.supplier_name = %(unnamed)s)
  AND (o.supplier_organization_id IS NULL
       OR (s.is_active AND s.organization_type::text IN ({", ".join(f"'{t}'" for t in SUPPLIER_SOURCES)})))
ORDER BY i.part_id, o.order_date DESC, o.id DESC
"""

WAREHOUSE = """
SELECT w.organization_id, o.organization_type = 'oraseas_ee' FROM warehouses w
JOIN organizations o ON o.id = w.organization_id WHERE w.id = %s
"""


@dataclass(frozen=True)
class Drafts:
    """The supplier orders drafted for a warehouse on a day, and whether this call created them."""

    warehouse_id: UUID
    day: date
    order_ids: tuple[UUID, ...]
    created: bool


def marker(warehouse_id: UUID, day: date) -> str:
    """The notes every draft of `warehouse_id` on `day` carries (how a second call finds them)."""
    return f"reorder draft {day.isoformat()} for warehouse {warehouse_id}"


def warehouse_owner(conn: Connection, warehouse_id: UUID) -> tuple[UUID, bool] | None:
    """The warehouse's organization and whether it is Oraseas EE; None for an unknown warehouse."""
    row = conn.execute(WAREHOUSE, [warehouse_id]).fetchone()
    return None if row is None else (row[0], bool(row[1]))


def draft(
    conn: Connection,
    warehouse_id: UUID,
    ordering_id: UUID,
    run: Callable[[RequestSupplierOrder], CommandResult],
    today: date | None = None,
) -> Drafts:
    """Draft the day's supplier orders for `warehouse_id` (ordered by `ordering_id`), or find them."""
    day = today or datetime.now(UTC).date()
    notes = marker(warehouse_id, day)
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [notes])
    try:
        since = datetime.combine(day, time(), UTC)
        found = queries.supplier_orders_noted(conn, notes, since)
        if found:
            return Drafts(warehouse_id, day, tuple(found), created=False)
        commands = requests(conn, warehouse_id, ordering_id, notes)
        ids = [run(command).order_id for command in commands]
        return Drafts(warehouse_id, day, tuple(i for i in ids if i is not None), created=bool(ids))
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [notes])


def requests(
    conn: Connection, warehouse_id: UUID, ordering_id: UUID, notes: str
) -> list[RequestSupplierOrder]:
    """One RequestSupplierOrder per supplier the suggested parts were last ordered from (+ one to fill in)."""
    wanted: list[tuple[UUID, Decimal]] = [
        (r[0], r[1]) for r in conn.execute(SUGGESTIONS, [warehouse_id]).fetchall() if r[1] > 0
    ]
    if not wanted:
        return []
    params: dict[str, Any] = {
        "parts": [p for p, _ in wanted],
        "ordering": ordering_id,
        "unnamed": SUPPLIER_TO_FILL_IN,
    }
    last = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(LAST_SUPPLIERS, params).fetchall()}
    groups: dict[tuple[UUID | None, str], list[OrderItem]] = {}
    for part_id, quantity in wanted:
        supplier_id, name, price = last.get(part_id, (None, SUPPLIER_TO_FILL_IN, None))
        key = (supplier_id, name if supplier_id is None else "")
        groups.setdefault(key, []).append(OrderItem(part_id=part_id, quantity=quantity, unit_price=price))
    return [
        RequestSupplierOrder(
            ordering_organization_id=ordering_id,
            supplier_organization_id=supplier_id,
            supplier_name=name or None,
            items=tuple(lines),
            notes=notes,
        )
        for (supplier_id, name), lines in groups.items()
    ]
