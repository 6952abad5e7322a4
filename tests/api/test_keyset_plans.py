"""Every keyset-paged list is read in its index order: no Sort of the table, an Index Scan up to LIMIT.

Each list's query is EXPLAINed as the routes send it (first page and a later one, unscoped and
scoped to an organization) with sorting priced out of reach (`enable_sort`, `enable_incremental_sort`
off): a plan that still sorts has no index that gives the order, which on a grown table means
sorting every row of it for each page (alembic 0014_keyset_indexes adds the missing ones).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from api.http.orders import queries as orders
from api.http.stock import queries as stock
from ledger.postgres.connection import Connection as Conn

pytestmark = pytest.mark.db

LATER = {"after_date": datetime(2026, 1, 1, tzinfo=UTC), "after_id": uuid.uuid4()}
FIRST = {"after_date": None, "after_id": None}
# list: (query, its filters, the index that must give the order, the table it is on)
LISTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "inventory": (
        stock.INVENTORY,
        {"warehouse_id": None, "part_id": None, "organization_id": None, "low_stock": False, "q": None}
        | {"after": None},
        "idx_inventory_warehouse_part",
    ),
    "transactions": (
        stock.TRANSACTIONS,
        dict.fromkeys(
            (
                "transaction_type",
                "part_id",
                "warehouse_id",
                "machine_id",
                "approval_status",
                "date_from",
                "date_to",
            )
        ),
        "idx_transactions_keyset",
    ),
    "part_usage": (
        stock.PART_USAGE,
        dict.fromkeys(("machine_id", "part_id", "customer_organization_id", "date_from", "date_to")),
        "idx_part_usage_keyset",
    ),
    "stock_adjustments": (
        stock.STOCK_ADJUSTMENTS,
        dict.fromkeys(("warehouse_id", "part_id", "reason_code")),
        "idx_stock_adjustments_keyset",
    ),
    "transaction_approvals": (
        stock.TRANSACTION_APPROVALS,
        dict.fromkeys(("transaction_id", "status")),
        "idx_transaction_approvals_keyset",
    ),
    "customer_orders": (
        orders.CUSTOMER_ORDERS,
        dict.fromkeys(("customer", "status", "id")),
        "idx_customer_orders_keyset",
    ),
    "supplier_orders": (
        orders.SUPPLIER_ORDERS,
        dict.fromkeys(("status", "id")),
        "idx_supplier_orders_keyset",
    ),
}


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def _plan(db: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with db.transaction():
        db.execute("SET LOCAL enable_sort = off")
        db.execute("SET LOCAL enable_incremental_sort = off")
        row = db.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()
    assert row is not None
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return _nodes(document[0]["Plan"])


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("scoped", [False, True], ids=["unscoped", "scoped"])
@pytest.mark.parametrize("later", [False, True], ids=["first page", "later page"])
def test_a_page_is_an_index_range_in_the_lists_order(db: Conn, name: str, scoped: bool, later: bool) -> None:
    query, filters, index = LISTS[name]
    params = filters | {"limit": 51, "scope": [uuid.uuid4()] if scoped else None}
    if name == "inventory":
        params["after"] = [uuid.uuid4(), uuid.uuid4()] if later else None
    else:
        params |= LATER if later else FIRST
    nodes = _plan(db, query, params)
    sorts = [n["Node Type"] for n in nodes if "Sort" in n["Node Type"]]
    assert not sorts, f"{name}: the plan sorts ({sorts}): no index gives its order"
    scans = {n.get("Index Name") for n in nodes if n["Node Type"].startswith("Index")}
    assert index in scans, f"{name}: no Index Scan on {index}: {[n['Node Type'] for n in nodes]}"
    assert nodes[0]["Node Type"] == "Limit", f"{name}: the page does not stop at LIMIT"
