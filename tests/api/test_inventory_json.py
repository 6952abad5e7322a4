"""GET /inventory's JSON from PostgreSQL is, byte for byte, what the pydantic models wrote for the same rows.

The reference is the read path the page replaced: the rows of a plain query, an `InventoryOut` per
row, a `Page` of them, serialized as FastAPI serializes a `response_model`. Rows vary in every way
the format can: nulls, reserved stock, negative and large quantities, moments with and without
microseconds, names with quotes, backslashes, control characters and non-ASCII; sessions in UTC
and in zones with a half-hour offset; every page size across the cursor's pages, and filters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.http.pagination import STOCK, Page, page
from api.http.stock import inventory_page
from api.http.stock.schemas import InventoryOut
from ledger.postgres.connection import Connection
from tests.fixtures.api import Tenants

pytestmark = pytest.mark.db

# The page as it was read before: plain rows, filters as nullable parameters.
REFERENCE = """
SELECT i.id, i.warehouse_id, i.part_id, i.current_stock, i.reserved_stock,
    i.current_stock - i.reserved_stock AS available_stock, i.minimum_stock_recommendation, i.unit_of_measure,
    i.reorder_threshold_set_by, i.last_recommendation_update, i.last_updated, i.created_at,
    w.organization_id, p.part_number, p.name AS part_name, w.name AS warehouse_name,
    o.name AS organization_name
FROM inventory i
JOIN warehouses w ON w.id = i.warehouse_id
JOIN parts p ON p.id = i.part_id
JOIN organizations o ON o.id = w.organization_id
WHERE (%(scope)s::uuid[] IS NULL OR w.organization_id = ANY(%(scope)s))
  AND (%(warehouse_id)s::uuid IS NULL OR i.warehouse_id = %(warehouse_id)s)
  AND (%(q)s::text IS NULL OR strpos(lower(p.part_number), lower(%(q)s)) > 0
       OR strpos(lower(p.name), lower(%(q)s)) > 0)
  AND (NOT %(low_stock)s OR i.current_stock <= i.minimum_stock_recommendation)
  AND (%(after_warehouse)s::uuid IS NULL
       OR (i.warehouse_id, i.part_id) > (%(after_warehouse)s, %(after_part)s))
ORDER BY i.warehouse_id, i.part_id
LIMIT %(limit)s
"""
PAGE = TypeAdapter(Page[InventoryOut])
NAMES = ['Dürr "quoted" \\ back', "tab\there\nnewline", "ctrl\x01\x1f\x7f", "日本語 ✓ 😀", "plain", "'s'"]
# (current, reserved, minimum, threshold set by, recommendation updated, last updated)
STOCKS = [
    ("0", "0", "0", None, None, "2026-03-01 09:30:00+00"),
    ("12.500", "2.250", "20", "manual", "2026-03-01 09:30:00.000001+00", "2026-03-01 09:30:00.5+00"),
    ("-1.500", "0", "3.125", 'sys"tem', "1999-12-31 23:59:59.999999+00", "2026-07-01 00:00:00.120000+00"),
    ("9999999.999", "9999999.999", "0.001", "", None, "2026-12-01 15:47:39.123456+02"),
]


def _stock(db: Connection, org: object) -> list[object]:
    """3 warehouses x 4 parts of varied rows in `org`; the warehouses' ids."""
    warehouses = [
        db.execute(
            "INSERT INTO warehouses (organization_id, name) VALUES (%s, %s) RETURNING id",
            [org, f"{NAMES[n]} {uuid.uuid4().hex[:6]}"],
        ).fetchone()[0]  # type: ignore[index]
        for n in range(3)
    ]
    for n, (current, reserved, minimum, set_by, updated, last) in enumerate(STOCKS):
        part = db.execute(
            "INSERT INTO parts (part_number, name, part_type, unit_of_measure) VALUES (%s, %s, 'consumable',"
            " 'pieces') RETURNING id",
            [f"P-{n}-{uuid.uuid4().hex[:6]}", NAMES[(n + 3) % len(NAMES)]],
        ).fetchone()[0]  # type: ignore[index]
        for w in warehouses:
            db.execute(
                "INSERT INTO inventory (warehouse_id, part_id, current_stock, reserved_stock,"
                " minimum_stock_recommendation, unit_of_measure, reorder_threshold_set_by,"
                " last_recommendation_update, last_updated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [w, part, current, reserved, minimum, NAMES[n], set_by, updated, last],
            )
    return warehouses


@pytest.fixture
def stocked(db: Connection) -> Iterator[dict[str, Any]]:
    """An organization with 3 warehouses x 4 parts of varied rows; its id and one warehouse's."""
    org = db.execute(
        "INSERT INTO organizations (name, organization_type) VALUES (%s, 'customer') RETURNING id",
        [f'Org «{uuid.uuid4().hex[:6]}» "x"'],
    ).fetchone()
    assert org is not None
    warehouses = _stock(db, org[0])
    yield {"organization_id": org[0], "warehouse_id": warehouses[1]}
    db.execute("SET TimeZone = DEFAULT")


def _reference(db: Connection, filters: dict[str, Any], limit: int) -> bytes:
    after = filters.get("after")
    params = {"warehouse_id": None, "q": None, "low_stock": False} | filters
    params |= {"after_warehouse": after[0] if after else None, "after_part": after[1] if after else None}
    cursor = db.execute(REFERENCE, params | {"limit": limit + 1})
    names = [c.name for c in cursor.description or ()]
    rows = [InventoryOut(**dict(zip(names, r, strict=True))) for r in cursor.fetchall()]
    return PAGE.dump_json(page(rows, limit, STOCK, lambda r: (r.warehouse_id, r.part_id)))


def _every_page(db: Connection, filters: dict[str, Any], limit: int) -> int:
    """Compare each page through the cursors; the number of pages."""
    pages, after = 0, None
    while True:
        given = filters | {"after": after}
        ours = inventory_page.page_json(db, given, limit)
        assert ours == _reference(db, given, limit), given
        pages += 1
        cursor = PAGE.validate_json(ours).next_cursor
        if cursor is None:
            return pages
        after = STOCK.decode(cursor)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_every_page_is_the_models_bytes(db: Connection, stocked: dict[str, Any], zone: str) -> None:
    db.execute("SELECT set_config('TimeZone', %s, false)", [zone])
    scope = {"scope": [stocked["organization_id"]]}
    for limit in (1, 5, 11, 12, 13, 500):
        # 12 rows: a full last page is the last (no empty page after it).
        assert _every_page(db, scope, limit) == -(-12 // limit)
    for filters in (
        {"warehouse_id": stocked["warehouse_id"]},
        {"low_stock": True},
        {"q": "p-1"},
        {"q": '"quoted"'},
        {"q": "日本"},
        {"q": "no such part"},
    ):
        _every_page(db, scope | filters, 2)


def test_an_empty_page_is_the_models_bytes(db: Connection) -> None:
    filters = {"scope": [uuid.uuid4()]}
    assert inventory_page.page_json(db, filters, 50) == _reference(db, filters, 50)
    assert inventory_page.page_json(db, filters, 50) == b'{"items":[],"next_cursor":null}'


def test_the_route_sends_the_page_and_documents_its_model(
    client: TestClient, tenants: Tenants, db: Connection
) -> None:
    org = tenants.organization()
    caller = tenants.user(org, "admin")
    _stock(db, org)
    answer = client.get("/inventory", params={"limit": 3}, headers=caller.headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == _reference(db, {"scope": [org]}, 3)
    operation = client.get("/openapi.json").json()
    responses = operation["paths"]["/inventory"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Page_InventoryOut_"
    }
    assert {"401", "422"} <= set(responses)
    schemas = operation["components"]["schemas"]
    assert list(schemas["InventoryOut"]["properties"]) == list(InventoryOut.model_fields)
    assert schemas["Page_InventoryOut_"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/InventoryOut"
    }
