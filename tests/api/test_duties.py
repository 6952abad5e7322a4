"""Segregation of duties and typed warnings over HTTP: 403 self_approval, warnings as objects."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime.settings import Settings
from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db


def stream_length(db: Conn, transaction_id: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM ledger_events WHERE stream_id = %s", [f"movement-{transaction_id}"]
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_recorder_of_a_held_movement_may_not_approve_it(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db, price="100.00")  # 200 x 100.00 is over the 10,000.00 threshold
    [record] = stock_in(client, shop, "200")["transactions"]
    assert record["approval_status"] == "pending"

    refused = post(client, shop.admin, f"/transactions/{record['id']}/approve", {})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "self_approval"
    assert stream_length(db, record["id"]) == 1  # nothing was written

    other_admin = tenants.user(shop.org, "admin")
    approved = post(client, other_admin, f"/transactions/{record['id']}/approve", {"notes": "seen"})
    assert approved.status_code == 201, approved.text
    approvals = client.get(
        "/transaction-approvals",
        params={"min_position": approved.json()["position"], "transaction_id": record["id"]},
        headers=shop.admin.headers,
    ).json()["items"]
    assert [(a["approver_id"], a["status"]) for a in approvals] == [(str(other_admin.user_id), "approved")]


def test_the_recorder_may_reject_her_own_held_movement(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db, price="100.00")
    [record] = stock_in(client, shop, "200")["transactions"]
    rejected = post(client, shop.admin, f"/transactions/{record['id']}/reject", {})
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["transactions"][0]["approval_status"] == "rejected"


def test_segregation_is_a_setting_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().policy().segregate_approvals is True
    monkeypatch.setenv("ABPARTS_SEGREGATE_APPROVALS", "false")
    assert Settings().policy().segregate_approvals is False


def test_a_negative_stock_warning_is_an_object(client: TestClient, shop: Shop) -> None:
    stock_in(client, shop, "2")
    consumed = post(
        client,
        shop.user,
        "/transactions",
        {
            "transaction_type": "consumption",
            "part_id": str(shop.part),
            "from_warehouse_id": str(shop.a),
            "quantity": 5,
        },
    )
    assert consumed.status_code == 201, consumed.text
    [warning] = consumed.json()["warnings"]
    assert {k: v for k, v in warning.items() if k != "detail"} == {
        "code": "negative_stock",
        "part_id": str(shop.part),
        "warehouse_id": str(shop.a),
        "resulting_stock": "-3.000",
        "resulting_available": None,
    }
    assert warning["detail"].endswith("goes to -3.000")


def test_warnings_are_object_schemas_in_the_openapi_document(client: TestClient) -> None:
    document: dict[str, Any] = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    warning = schemas["StockWarning"]
    assert warning["type"] == "object"
    assert {"code", "part_id", "warehouse_id", "resulting_stock", "detail"} <= set(warning["required"])
    for answer in ("Recorded", "OrderOut"):
        items = schemas[answer]["properties"]["warnings"]["items"]
        assert items == {"$ref": "#/components/schemas/StockWarning"}, answer
