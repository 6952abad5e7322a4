"""Every keyset-paged list is read in its index order: no Sort of the table, an Index Scan up to LIMIT.

Each list's query is EXPLAINed as the routes send it (first page and a later one, unscoped and
scoped to an organization) with sorting priced out of reach (`enable_sort`, `enable_incremental_sort`
off): a plan that still sorts has no index that gives the order, which on a grown table means
sorting every row of it for each page (alembic 0014_keyset_indexes adds the missing ones).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from api.http.orders import queries as orders
from api.http.stock import inventory_page
from api.http.stock import queries as stock
from ledger.postgres.connection import Connection as Conn

pytestmark = pytest.mark.db

LATER = {"after_date": datetime(2026, 1, 1, tzinfo=UTC), "after_id": uuid.uuid4()}
FIRST = {"after_date": None, "after_id": None}
# list: (query, its filters, the index that must give the order, the table it is on)
LISTS: dict[str, tuple[str, dict[str, Any], str]] = {
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
    params |= LATER if later else FIRST
    nodes = _plan(db, query, params)
    sorts = [n["Node Type"] for n in nodes if "Sort" in n["Node Type"]]
    assert not sorts, f"{name}: the plan sorts ({sorts}): no index gives its order"
    scans = {n.get("Index Name") for n in nodes if n["Node Type"].startswith("Index")}
    assert index in scans, f"{name}: no Index Scan on {index}: {[n['Node Type'] for n in nodes]}"
    assert nodes[0]["Node Type"] == "Limit", f"{name}: the page does not stop at LIMIT"


# GET /inventory's statement per shape of filters (api/http/stock/inventory_page.py), as psycopg
# runs it once prepared: a generic plan, which must still be the index range in the list's order.
SHAPES: dict[str, dict[str, Any]] = {
    "all": {},
    "scoped": {"scope": [uuid.uuid4()]},
    "later": {"after": (uuid.uuid4(), uuid.uuid4())},
    "scoped later": {"scope": [uuid.uuid4()], "after": (uuid.uuid4(), uuid.uuid4())},
    "low stock": {"scope": [uuid.uuid4()], "low_stock": True},
    "text": {"scope": [uuid.uuid4()], "q": "valve"},
    "organization": {"organization_id": uuid.uuid4()},
    "warehouse": {"warehouse_id": uuid.uuid4(), "after": (uuid.uuid4(), uuid.uuid4())},
}
TYPES = {"scope": "uuid[]", "q": "text", "low_stock": "bool", "limit": "int8"}


def _generic_plan(db: Conn, filters: dict[str, Any], *, sorting: bool = False) -> list[dict[str, Any]]:
    query = inventory_page.statement(filters)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", query)))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", query)
    name = f"page_{uuid.uuid4().hex[:8]}"
    with db.transaction():
        if not sorting:
            db.execute("SET LOCAL enable_sort = off")
            db.execute("SET LOCAL enable_incremental_sort = off")
        db.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        db.execute(f"PREPARE {name} ({', '.join(TYPES.get(n, 'uuid') for n in names)}) AS {numbered}")
        values = inventory_page.parameters(filters, 101)
        # EXECUTE takes no bound parameters: the values are literals (and typed by the PREPARE).
        arguments = sql.SQL(", ").join(sql.Literal(values.get(n)) for n in names)
        row = db.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {} ({})").format(sql.Identifier(name), arguments)
        ).fetchone()
        db.execute(f"DEALLOCATE {name}")
    assert row is not None
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return _nodes(document[0]["Plan"])


def _assert_index_range(nodes: list[dict[str, Any]], shape: str) -> None:
    # PostgreSQL 16 and later sort the page's at most limit + 1 rows by `n` for string_agg's ORDER BY
    # (15 does it inside the Aggregate): that is not a sort of the table.
    sorts = [n["Node Type"] for n in nodes if "Sort" in n["Node Type"] and n.get("Sort Key") != ["page.n"]]
    assert not sorts, f"{shape}: the plan sorts ({sorts})"
    scans = {n.get("Index Name") for n in nodes if n["Node Type"].startswith("Index")}
    assert "idx_inventory_warehouse_part" in scans, f"{shape}: {[n['Node Type'] for n in nodes]}"
    assert "Limit" in [n["Node Type"] for n in nodes], f"{shape}: the page does not stop at LIMIT"
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "inventory"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_inventory_page_prepared_is_an_index_range_in_its_order(db: Conn, shape: str) -> None:
    _assert_index_range(_generic_plan(db, SHAPES[shape]), shape)


def test_on_the_benchmarks_data_the_prepared_page_is_chosen_without_pricing_sorts_out(
    fresh_db_url: str,
) -> None:
    # With one text for every shape (`(%(x)s IS NULL OR ...)`), the generic plan of this data
    # estimated one row and sorted a scan of the whole table: 2.5 ms a page instead of 0.4 ms.
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute(BENCH_DATA)
        conn.execute("ANALYZE")
        for shape in ("all", "scoped", "later", "scoped later"):
            _assert_index_range(_generic_plan(conn, SHAPES[shape], sorting=True), shape)


# bench/http.py's inventory: 17 warehouses of one organization x 200 parts.
BENCH_DATA = """
WITH o AS (INSERT INTO organizations (name, organization_type) VALUES ('bench', 'customer') RETURNING id),
w AS (INSERT INTO warehouses (organization_id, name) SELECT o.id, 'w' || n FROM o, generate_series(1, 17) n
      RETURNING id),
p AS (INSERT INTO parts (part_number, name, part_type, unit_of_measure)
      SELECT 'P-' || n, 'part', 'consumable', 'pieces' FROM generate_series(1, 200) n RETURNING id)
INSERT INTO inventory (warehouse_id, part_id, current_stock, unit_of_measure)
SELECT w.id, p.id, 1, 'pieces' FROM w, p
"""
