"""Reads of the projections, scoped to the caller's organizations, with keyset pagination.

Each query takes the caller's scope as `%(scope)s` (NULL: everything) and the
filters as nullable parameters; a page asks for `limit + 1` rows to know
whether there is a next one. The order of every list is total (it ends in a
unique id), so pages never skip or repeat a row.
"""

from __future__ import annotations

from typing import Any

from api.runtime.reorder import AT_OR_BELOW_MINIMUM, SUGGESTED_QUANTITY
from ledger.postgres.connection import Connection

# A movement is visible when either of its warehouses is.
TRANSACTION_SCOPE = """
(%(scope)s::uuid[] IS NULL
 OR EXISTS (SELECT FROM warehouses w WHERE w.id IN (t.from_warehouse_id, t.to_warehouse_id)
            AND w.organization_id = ANY(%(scope)s)))
"""
TRANSACTION_COLUMNS = """t.id, t.transaction_type::text, t.part_id, t.from_warehouse_id, t.to_warehouse_id,
    t.machine_id, t.quantity, t.unit_of_measure, t.performed_by_user_id, t.transaction_date, t.notes,
    t.reference_number, t.requires_approval, t.approval_status, t.created_at,
    p.part_number, p.name AS part_name, fw.name AS from_warehouse_name, tw.name AS to_warehouse_name"""
# Names beside the ids; joins on primary keys, so the keyset order on transactions stays index-driven.
TRANSACTION_NAMES = """JOIN parts p ON p.id = t.part_id
LEFT JOIN warehouses fw ON fw.id = t.from_warehouse_id
LEFT JOIN warehouses tw ON tw.id = t.to_warehouse_id"""

TRANSACTIONS = f"""
SELECT {TRANSACTION_COLUMNS}
FROM transactions t {TRANSACTION_NAMES}
WHERE {TRANSACTION_SCOPE}
  AND (%(transaction_type)s::text IS NULL OR t.transaction_type::text = %(transaction_type)s)
  AND (%(part_id)s::uuid IS NULL OR t.part_id = %(part_id)s)
  AND (%(warehouse_id)s::uuid IS NULL OR %(warehouse_id)s IN (t.from_warehouse_id, t.to_warehouse_id))
  AND (%(machine_id)s::uuid IS NULL OR t.machine_id = %(machine_id)s)
  AND (%(approval_status)s::text IS NULL OR t.approval_status = %(approval_status)s)
  AND (%(date_from)s::timestamptz IS NULL OR t.transaction_date >= %(date_from)s)
  AND (%(date_to)s::timestamptz IS NULL OR t.transaction_date < %(date_to)s)
  AND (%(after_date)s::timestamptz IS NULL
       OR (t.transaction_date, t.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY t.transaction_date DESC, t.id DESC
LIMIT %(limit)s
"""
TRANSACTION = f"""SELECT {TRANSACTION_COLUMNS} FROM transactions t {TRANSACTION_NAMES}
WHERE t.id = %(id)s AND {TRANSACTION_SCOPE}"""

PART_USAGE = """
SELECT u.id, u.customer_organization_id, u.part_id, u.usage_date, u.quantity, u.machine_id,
    u.recorded_by_user_id, u.warehouse_id, u.notes, u.created_at, p.part_number, p.name AS part_name,
    p.unit_of_measure, w.name AS warehouse_name, c.name AS customer_organization_name
FROM part_usage u
JOIN warehouses w ON w.id = u.warehouse_id
JOIN parts p ON p.id = u.part_id
JOIN organizations c ON c.id = u.customer_organization_id
WHERE (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s)
       OR u.customer_organization_id = ANY(%(scope)s))
  AND (%(machine_id)s::uuid IS NULL OR u.machine_id = %(machine_id)s)
  AND (%(part_id)s::uuid IS NULL OR u.part_id = %(part_id)s)
  AND (%(customer_organization_id)s::uuid IS NULL
       OR u.customer_organization_id = %(customer_organization_id)s)
  AND (%(date_from)s::timestamptz IS NULL OR u.usage_date >= %(date_from)s)
  AND (%(date_to)s::timestamptz IS NULL OR u.usage_date < %(date_to)s)
  AND (%(after_date)s::timestamptz IS NULL OR (u.usage_date, u.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY u.usage_date DESC, u.id DESC
LIMIT %(limit)s
"""

STOCK_ADJUSTMENTS = """
SELECT a.id, a.inventory_id, i.warehouse_id, i.part_id, a.user_id, a.adjustment_date, a.quantity_adjusted,
    a.reason_code, a.notes, a.created_at, p.part_number, p.name AS part_name, i.unit_of_measure,
    w.name AS warehouse_name
FROM stock_adjustments a
JOIN inventory i ON i.id = a.inventory_id
JOIN warehouses w ON w.id = i.warehouse_id
JOIN parts p ON p.id = i.part_id
WHERE (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s))
  AND (%(warehouse_id)s::uuid IS NULL OR i.warehouse_id = %(warehouse_id)s)
  AND (%(part_id)s::uuid IS NULL OR i.part_id = %(part_id)s)
  AND (%(reason_code)s::text IS NULL OR a.reason_code = %(reason_code)s)
  AND (%(after_date)s::timestamptz IS NULL
       OR (a.adjustment_date, a.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY a.adjustment_date DESC, a.id DESC
LIMIT %(limit)s
"""

TRANSACTION_APPROVALS = f"""
SELECT ta.id, ta.transaction_id, ta.approver_id, ta.status::text, ta.notes, ta.created_at,
    t.part_id, p.part_number, p.name AS part_name
FROM transaction_approvals ta
JOIN transactions t ON t.id = ta.transaction_id
JOIN parts p ON p.id = t.part_id
WHERE {TRANSACTION_SCOPE}
  AND (%(transaction_id)s::uuid IS NULL OR ta.transaction_id = %(transaction_id)s)
  AND (%(status)s::text IS NULL OR ta.status::text = %(status)s)
  AND (%(after_date)s::timestamptz IS NULL OR (ta.created_at, ta.id) < (%(after_date)s, %(after_id)s::uuid))
ORDER BY ta.created_at DESC, ta.id DESC
LIMIT %(limit)s
"""

INVENTORY_SUMMARY = """
SELECT warehouse_id, warehouse_name, organization_id, organization_name, total_parts, low_stock_parts,
    total_value
FROM inventory_summary
WHERE (%(scope)s::uuid[] IS NULL OR organization_id = ANY(%(scope)s))
  AND (%(organization_id)s::uuid IS NULL OR organization_id = %(organization_id)s)
ORDER BY organization_name, warehouse_name, warehouse_id
"""

MACHINE_USAGE = """
SELECT s.machine_id, s.machine_name, s.serial_number, s.customer_organization_id, s.customer_name,
    s.total_usage_records, s.last_usage_date, s.total_parts_consumed
FROM machine_usage_summary s
WHERE (%(scope)s::uuid[] IS NULL OR s.customer_organization_id = ANY(%(scope)s))
  AND (%(organization_id)s::uuid IS NULL OR s.customer_organization_id = %(organization_id)s)
ORDER BY s.customer_name, s.machine_name, s.machine_id
"""

WAREHOUSES_IN_SCOPE = (
    "SELECT id FROM warehouses WHERE %(scope)s::uuid[] IS NULL OR organization_id = ANY(%(scope)s)"
)


def rows(conn: Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run `query` and return its rows as dicts keyed by column name."""
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Order up to twice the recommendation: the recommendation covers the lead time plus a safety margin,
# so topping up to twice it leaves a full lead time's worth of stock after the next delivery.
REORDER_SUGGESTIONS = f"""
SELECT i.warehouse_id, w.name AS warehouse_name, w.organization_id, o.name AS organization_name,
    i.part_id, p.part_number,
    p.name AS part_name,
    i.current_stock, i.minimum_stock_recommendation, i.unit_of_measure,
    {SUGGESTED_QUANTITY} AS suggested_order_quantity,
    CASE WHEN p.is_proprietary THEN p.manufacturer_delivery_time_days
        ELSE p.local_supplier_delivery_time_days END AS lead_time_days
FROM inventory i
JOIN warehouses w ON w.id = i.warehouse_id
JOIN parts p ON p.id = i.part_id
JOIN organizations o ON o.id = w.organization_id
WHERE {AT_OR_BELOW_MINIMUM}
  AND w.is_active
  AND (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s))
  AND (%(warehouse_id)s::uuid IS NULL OR i.warehouse_id = %(warehouse_id)s)
ORDER BY w.name, i.warehouse_id, p.part_number
"""
