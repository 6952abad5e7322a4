"""Values the API must refuse with a clear 422 because no reader could show them once stored.

Each case was accepted before the date bound and the text guard existed, and then
made every listing that showed it answer an error: so each case also reads back.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.api import Caller
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db

BEFORE_YEAR_1_UTC = "0001-01-01T00:00:00+14:00"  # 31 December of year 0 in UTC
AFTER_YEAR_9999_UTC = "9999-12-31T23:00:00-14:00"  # year 10000 in UTC


def send(client: TestClient, caller: Caller, path: str, body: dict[str, Any]) -> Any:
    # json.dumps escapes a lone surrogate as "\ud800", exactly what a client's JSON encoder sends.
    content = json.dumps(body)
    return client.post(path, content=content, headers=caller.headers | {"content-type": "application/json"})


def refused(response: Any, code: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    codes = {body["code"]} | {e["type"] for e in body.get("errors", ())}
    assert code in codes, body


def creation(shop: Shop, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "1",
    } | extra


def reads_answer(client: TestClient, shop: Shop) -> None:
    for path in ("/transactions", "/part-usage", "/stock-adjustments", "/reports/machine-usage"):
        response = client.get(path, headers=shop.admin.headers)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("moment", [BEFORE_YEAR_1_UTC, AFTER_YEAR_9999_UTC, "1969-12-31T23:59:59Z"])
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/transactions", "transaction_date"),
        ("/stock-adjustments", "transaction_date"),
        ("/stocktakes", "transaction_date"),
        ("/part-usage", "usage_date"),
    ],
)
def test_a_movement_date_outside_the_range_is_refused(
    client: TestClient, shop: Shop, moment: str, path: str, field: str
) -> None:
    bodies = {
        "/transactions": creation(shop),
        "/stock-adjustments": {
            "warehouse_id": str(shop.a),
            "part_id": str(shop.part),
            "quantity_adjusted": "1",
            "reason_code": "found",
        },
        "/stocktakes": {
            "warehouse_id": str(shop.a),
            "items": [{"part_id": str(shop.part), "counted_quantity": "3"}],
        },
        "/part-usage": {
            "machine_id": str(shop.machine),
            "part_id": str(shop.part),
            "warehouse_id": str(shop.a),
            "quantity": "1",
        },
    }
    refused(send(client, shop.admin, path, bodies[path] | {field: moment}), "date_out_of_range")
    reads_answer(client, shop)


@pytest.mark.parametrize("offset", ["+20:00", "-23:59", "+15:59"])
def test_an_offset_postgres_cannot_parse_is_stored_in_utc(
    client: TestClient, shop: Shop, offset: str
) -> None:
    # Python takes offsets to +-23:59, PostgreSQL to +-15:59: stored as sent, it stopped the projections.
    day = (datetime.now(UTC) - timedelta(days=3)).date()  # inside the backdating window
    sent = f"{day.isoformat()}T12:00:00{offset}"
    recorded = send(client, shop.admin, "/transactions", creation(shop, transaction_date=sent))
    assert recorded.status_code == 201, recorded.text
    tid, position = recorded.json()["transactions"][0]["id"], recorded.json()["position"]
    one = client.get(f"/transactions/{tid}", params={"min_position": position}, headers=shop.admin.headers)
    assert one.status_code == 200, one.text
    assert datetime.fromisoformat(one.json()["transaction_date"]) == datetime.fromisoformat(sent)


def test_the_date_range_ends_at_now_plus_the_skew(client: TestClient, shop: Shop) -> None:
    refused(
        send(client, shop.admin, "/transactions", creation(shop, transaction_date="2999-01-01T00:00:00Z")),
        "date_out_of_range",
    )
    inside = (datetime.now(UTC) - timedelta(days=29)).isoformat()
    accepted = send(client, shop.admin, "/transactions", creation(shop, transaction_date=inside))
    assert accepted.status_code == 201, accepted.text
    [row] = accepted.json()["transactions"]
    assert datetime.fromisoformat(row["transaction_date"]) == datetime.fromisoformat(inside)


def test_a_date_before_the_backdating_window_is_refused(client: TestClient, shop: Shop) -> None:
    answer = send(
        client, shop.admin, "/transactions", creation(shop, transaction_date="1970-01-01T00:00:00Z")
    )
    refused(answer, "backdated_too_far")
    assert answer.json()["field"] == "transaction_date"
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    assert (
        send(client, shop.admin, "/transactions", creation(shop, transaction_date=week_ago)).status_code
        == 201
    )


@pytest.mark.parametrize("date", [BEFORE_YEAR_1_UTC, AFTER_YEAR_9999_UTC])
def test_an_order_date_no_reader_can_show_is_refused(client: TestClient, shop: Shop, date: str) -> None:
    body = {"items": [{"part_id": str(shop.part), "quantity": "1"}], "expected_delivery_date": date}
    refused(send(client, shop.user, "/customer-orders", body), "date_out_of_range")
    assert client.get("/customer-orders", headers=shop.user.headers).status_code == 200


def test_a_machine_date_no_reader_can_show_is_refused(client: TestClient, shop: Shop, root: Caller) -> None:
    body = {
        "customer_organization_id": str(shop.org),
        "model_type": "V4.0",
        "name": "AutoBoss",
        "serial_number": f"SN-{uuid.uuid4().hex[:10]}",
        "purchase_date": BEFORE_YEAR_1_UTC,
    }
    refused(send(client, root, "/machines", body), "date_out_of_range")
    assert client.get("/machines", headers=root.headers).status_code == 200


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\x00", "x" * 10 + "\ud83d"])
@pytest.mark.parametrize("field", ["notes", "reference_number"])
def test_text_that_cannot_be_stored_is_refused(client: TestClient, shop: Shop, text: str, field: str) -> None:
    refused(send(client, shop.admin, "/transactions", creation(shop, **{field: text})), "invalid_text")
    reads_answer(client, shop)


@pytest.mark.parametrize("text", ["\ud800", "\x00"])
def test_unstorable_text_is_refused_in_any_field_of_any_body(
    client: TestClient, root: Caller, text: str
) -> None:
    # Organization names and addresses are plain strings, not the ledger's text types.
    for body in (
        {"name": f"org {text}", "organization_type": "customer"},
        {"name": f"org-{uuid.uuid4().hex[:8]}", "organization_type": "customer", "address": text},
        {f"key{text}": "value", "name": "x", "organization_type": "customer"},
    ):
        response = send(client, root, "/organizations", body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_text", response.text


def test_a_surrogate_pair_is_an_ordinary_character(client: TestClient, shop: Shop) -> None:
    recorded = send(client, shop.admin, "/transactions", creation(shop, notes="filter \U0001f527 ok"))
    assert recorded.status_code == 201, recorded.text
    tid = recorded.json()["transactions"][0]["id"]
    one = client.get(
        f"/transactions/{tid}",
        params={"min_position": recorded.json()["position"]},
        headers=shop.admin.headers,
    )
    assert one.status_code == 200 and one.json()["notes"] == "filter \U0001f527 ok"


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "-Infinity", "1E+999999", "1E-999999", "sNaN"])
@pytest.mark.parametrize("path", ["/transactions", "/customer-orders"])
def test_a_decimal_beyond_any_column_is_refused(
    client: TestClient, shop: Shop, quantity: str, path: str
) -> None:
    if path == "/transactions":
        body = creation(shop, quantity=quantity)
    else:
        body = {"items": [{"part_id": str(shop.part), "quantity": quantity}]}
    response = send(client, shop.admin, path, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"validation_error", "invalid_quantity"}, response.text
    reads_answer(client, shop)
