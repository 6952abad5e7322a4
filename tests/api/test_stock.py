"""Stock over HTTP: every command, the reads with read-your-writes, roles, and organization scoping."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from projections.registry import ALL
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db


def levels(client: TestClient, caller: Caller, position: int, **filters: str) -> dict[str, str]:
    response = client.get("/inventory", params={"min_position": position, **filters}, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {item["warehouse_id"]: item["current_stock"] for item in response.json()["items"]}


def test_movements_are_recorded_and_read_back(client: TestClient, shop: Shop) -> None:
    created = stock_in(client, shop, "10")
    [record] = created["transactions"]
    assert record["transaction_type"] == "creation" and record["quantity"] == "10"
    assert (
        record["performed_by_user_id"] == str(shop.admin.user_id) and record["approval_status"] == "approved"
    )
    moved = post(
        client,
        shop.user,
        "/transactions",
        {
            "transaction_type": "transfer",
            "part_id": str(shop.part),
            "from_warehouse_id": str(shop.a),
            "to_warehouse_id": str(shop.b),
            "quantity": 4,
            "notes": "restock b",
        },
    )
    assert moved.status_code == 201, moved.text
    position = moved.json()["position"]
    assert position > created["position"]
    assert levels(client, shop.user, position) == {str(shop.a): "6.000", str(shop.b): "4.000"}

    listed = client.get(
        "/transactions",
        params={"min_position": position, "part_id": str(shop.part)},
        headers=shop.user.headers,
    ).json()
    assert [t["transaction_type"] for t in listed["items"]] == ["transfer", "creation"]
    one = client.get(f"/transactions/{moved.json()['transactions'][0]['id']}", headers=shop.user.headers)
    assert one.status_code == 200 and one.json()["notes"] == "restock b"


def test_users_may_not_create_or_adjust_but_admins_may(client: TestClient, shop: Shop) -> None:
    creation = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "1",
    }
    denied = post(client, shop.user, "/transactions", creation)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    adjust = {
        "warehouse_id": str(shop.a),
        "part_id": str(shop.part),
        "quantity_adjusted": "-1",
        "reason_code": "damaged",
    }
    assert post(client, shop.user, "/stock-adjustments", adjust).status_code == 403
    stock_in(client, shop, "5")
    adjusted = post(client, shop.admin, "/stock-adjustments", adjust)
    assert adjusted.status_code == 201
    position = adjusted.json()["position"]
    rows = client.get(
        "/stock-adjustments",
        params={"min_position": position, "warehouse_id": str(shop.a)},
        headers=shop.admin.headers,
    ).json()["items"]
    assert [(r["quantity_adjusted"], r["reason_code"]) for r in rows] == [("-1.000", "damaged")]


def test_a_stocktake_turns_differences_into_adjustments(client: TestClient, shop: Shop) -> None:
    stock_in(client, shop, "10")
    counted = post(
        client,
        shop.admin,
        "/stocktakes",
        {
            "warehouse_id": str(shop.a),
            "items": [{"part_id": str(shop.part), "counted_quantity": "7"}],
        },
    )
    assert counted.status_code == 201, counted.text
    [adjustment] = counted.json()["transactions"]
    assert adjustment["transaction_type"] == "adjustment" and adjustment["from_warehouse_id"] == str(shop.a)
    assert levels(client, shop.admin, counted.json()["position"]) == {str(shop.a): "7.000"}


def test_part_usage_on_a_machine(client: TestClient, shop: Shop) -> None:
    stock_in(client, shop, "10")
    used = post(
        client,
        shop.user,
        "/part-usage",
        {
            "machine_id": str(shop.machine),
            "part_id": str(shop.part),
            "warehouse_id": str(shop.a),
            "quantity": "2",
        },
    )
    assert used.status_code == 201, used.text
    position = used.json()["position"]
    rows = client.get(
        "/part-usage",
        params={"min_position": position, "machine_id": str(shop.machine)},
        headers=shop.user.headers,
    ).json()["items"]
    assert [(r["quantity"], r["warehouse_id"]) for r in rows] == [("2.000", str(shop.a))]
    report = client.get(
        "/reports/machine-usage", params={"min_position": position}, headers=shop.user.headers
    )
    [machine] = [m for m in report.json() if m["machine_id"] == str(shop.machine)]
    assert machine["total_parts_consumed"] == "2.000"


def test_a_large_movement_waits_for_an_admins_approval(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db, price="100.00")  # 200 x 100.00 is over the 10,000.00 threshold
    pending = stock_in(client, shop, "200")
    [record] = pending["transactions"]
    assert (record["approval_status"], record["requires_approval"]) == ("pending", True)
    assert levels(client, shop.admin, pending["position"]) == {}
    assert post(client, shop.user, f"/transactions/{record['id']}/approve", {}).status_code == 403
    other_admin = tenants.user(shop.org, "admin")  # the recorder may not approve her own movement
    approved = post(client, other_admin, f"/transactions/{record['id']}/approve", {"notes": "checked"})
    assert approved.status_code == 201, approved.text
    assert approved.json()["transactions"][0]["approval_status"] == "approved"
    position = approved.json()["position"]
    assert levels(client, shop.admin, position) == {str(shop.a): "200.000"}
    approvals = client.get(
        "/transaction-approvals",
        params={"min_position": position, "transaction_id": record["id"]},
        headers=shop.admin.headers,
    ).json()["items"]
    assert [(a["status"], a["notes"]) for a in approvals] == [("approved", "checked")]
    again = post(client, other_admin, f"/transactions/{record['id']}/approve", {})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transaction_state"


def test_reversal(client: TestClient, shop: Shop) -> None:
    [record] = stock_in(client, shop, "3")["transactions"]
    reversed_ = post(client, shop.admin, f"/transactions/{record['id']}/reverse", {})
    assert reversed_.status_code == 201, reversed_.text
    assert levels(client, shop.admin, reversed_.json()["position"]) == {str(shop.a): "0.000"}


def test_an_idempotency_key_answers_a_retry_once(client: TestClient, shop: Shop, db: Conn) -> None:
    body = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "2",
    }
    first = post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "k-1"})
    retry = post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replay"] == "true"
    assert retry.json() == first.json()
    count = db.execute(
        "SELECT count(*) FROM ledger_events WHERE payload->>'part_id' = %s", [str(shop.part)]
    ).fetchone()
    assert count == (1,)
    other = post(client, shop.admin, "/transactions", body | {"quantity": "3"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"quantity": "abc"}, "validation_error"),
        ({"quantity": "1.0001"}, "invalid_quantity"),
        ({"quantity": "1.5"}, "fractional_quantity"),
        ({"quantity": "-1"}, "invalid_quantity"),
        ({"to_warehouse_id": None}, "invalid_warehouses"),
        ({"unit_of_measure": "litres"}, "unit_of_measure_mismatch"),
        ({"part_id": str(uuid.uuid4())}, "unknown_part"),
        ({"to_warehouse_id": str(uuid.uuid4())}, "unknown_warehouse"),
        ({"surprise": 1}, "validation_error"),
    ],
)
def test_bad_input_is_a_clear_422(client: TestClient, shop: Shop, change: dict[str, Any], code: str) -> None:
    body = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "1",
    } | change
    response = post(client, shop.admin, "/transactions", body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_another_organization_sees_and_touches_nothing(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    mine, theirs = Shop(tenants, db, "100.00"), Shop(tenants, db)
    pending = stock_in(client, mine, "500")  # pending: over the threshold
    [record] = pending["transactions"]
    position = pending["position"]
    for caller in (theirs.user, theirs.admin):
        assert levels(client, caller, position, warehouse_id=str(mine.a)) == {}
        assert client.get(f"/transactions/{record['id']}", headers=caller.headers).status_code == 404
        listed = client.get("/transactions", params={"part_id": str(mine.part)}, headers=caller.headers)
        assert listed.json()["items"] == []
        steal = post(
            client,
            caller,
            "/transactions",
            {
                "transaction_type": "transfer",
                "part_id": str(mine.part),
                "from_warehouse_id": str(mine.a),
                "to_warehouse_id": str(theirs.a),
                "quantity": "1",
            },
        )
        assert steal.status_code == 422 and steal.json()["code"] == "unknown_warehouse"
        used = post(
            client,
            caller,
            "/part-usage",
            {
                "machine_id": str(mine.machine),
                "part_id": str(mine.part),
                "warehouse_id": str(theirs.a),
                "quantity": "1",
            },
        )
        assert used.status_code == 422 and used.json()["code"] == "unknown_machine"
        as_of = client.get("/inventory/as-of", params={"position": position}, headers=caller.headers)
        assert all(i["warehouse_id"] not in (str(mine.a), str(mine.b)) for i in as_of.json()["items"])
    approve = post(client, theirs.admin, f"/transactions/{record['id']}/approve", {})
    assert approve.status_code == 404 and approve.json()["code"] == "unknown_transaction"
    events = client.get("/ledger/events", params={"limit": 500}, headers=theirs.admin.headers).json()["items"]
    assert all(e["payload"].get("part_id") != str(mine.part) for e in events)
    assert client.get("/ledger/events", headers=theirs.user.headers).status_code == 403


def test_stock_as_of_a_past_position(client: TestClient, shop: Shop) -> None:
    first = stock_in(client, shop, "4")
    stock_in(client, shop, "6")
    then = client.get(
        "/inventory/as-of",
        params={"position": first["position"], "warehouse_id": str(shop.a)},
        headers=shop.admin.headers,
    )
    assert then.status_code == 200
    assert [i["current_stock"] for i in then.json()["items"]] == ["4.000"]  # as /inventory writes it
    ahead = client.get("/inventory/as-of", params={"position": 10**12}, headers=shop.admin.headers)
    assert ahead.status_code == 422 and ahead.json()["code"] == "unknown_position"
    both = client.get("/inventory/as-of", params={"at": "2020-01-01T00:00:00Z"}, headers=shop.admin.headers)
    assert both.json()["items"] == []
    neither = client.get("/inventory/as-of", headers=shop.admin.headers)
    assert neither.status_code == 422


def test_the_raw_log_pages_in_commit_order(client: TestClient, shop: Shop) -> None:
    after = stock_in(client, shop, "1")["position"]  # an event there: positions may have gaps
    positions = [stock_in(client, shop, str(n))["position"] for n in (1, 2, 3)]
    seen: list[int] = []
    page = client.get(
        "/ledger/events", params={"after": after, "limit": 2}, headers=shop.admin.headers
    ).json()
    seen += [e["position"] for e in page["items"]]
    while page["next_cursor"]:
        page = client.get(
            "/ledger/events", params={"after": page["next_cursor"], "limit": 2}, headers=shop.admin.headers
        ).json()
        seen += [e["position"] for e in page["items"]]
    assert [p for p in seen if p in positions] == positions
    assert all(len(e["hash"]) == 64 for e in page["items"])


def test_the_raw_log_pages_by_cursor_like_every_list(client: TestClient, shop: Shop) -> None:
    after = stock_in(client, shop, "1")["position"]
    positions = [stock_in(client, shop, str(n))["position"] for n in (1, 2, 3)]
    first = client.get(
        "/ledger/events", params={"after": after, "limit": 1}, headers=shop.admin.headers
    ).json()
    second = client.get(
        "/ledger/events", params={"cursor": first["next_cursor"], "limit": 1}, headers=shop.admin.headers
    ).json()
    assert [e["position"] for e in first["items"] + second["items"]] == positions[:2]
    for bad in ({"cursor": "zzz"}, {"cursor": "²"}, {"cursor": "3", "after": "2"}):
        answer = client.get("/ledger/events", params=bad, headers=shop.admin.headers)
        assert answer.status_code == 422, bad
        assert answer.json()["code"] in {"invalid_cursor", "invalid_request"}


def test_projection_status_for_admins(client: TestClient, shop: Shop) -> None:
    rows = client.get("/projections/status", headers=shop.admin.headers).json()
    assert {r["name"] for r in rows} == {p.name for p in ALL}
    assert client.get("/projections/status", headers=shop.user.headers).status_code == 403


def test_the_ledger_itself_keeps_a_command_once_when_the_http_record_is_lost(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    body = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "2",
    }
    first = post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "k-2"})
    db.execute("DELETE FROM api_idempotency")  # as if the process died before keeping the answer
    retry = post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "k-2"})
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.json()["transactions"] == first.json()["transactions"]


def test_reorder_suggestions_follow_consumption(client: TestClient, shop: Shop, db: Conn) -> None:
    db.execute("UPDATE parts SET local_supplier_delivery_time_days = 23 WHERE id = %s", [shop.part])
    stock_in(client, shop, "50")
    used = post(
        client,
        shop.user,
        "/transactions",
        {
            "transaction_type": "consumption",
            "part_id": str(shop.part),
            "from_warehouse_id": str(shop.a),
            "quantity": "45",
        },
    )
    assert used.status_code == 201
    rows = client.get(
        "/reports/reorder-suggestions",
        params={"min_position": used.json()["position"]},
        headers=shop.user.headers,
    ).json()
    [row] = [r for r in rows if r["part_id"] == str(shop.part)]
    # 45 used in the 90-day window: 0.5 a day x (23 + 7 days) = 15; 5 left; top up to 30
    assert (row["current_stock"], row["minimum_stock_recommendation"], row["suggested_order_quantity"]) == (
        "5.000",
        "15.000",
        "25",
    )
