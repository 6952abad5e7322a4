"""The ledger page's own reads: GET /ledger/search (the log narrowed), GET /ledger/checks, /inventory?q=."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import check_runs
from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db


def search(client: TestClient, caller: Caller, **params: Any) -> Any:
    response = client.get("/ledger/search", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def moves(client: TestClient, shop: Shop) -> dict[str, Any]:
    """Stock in to a, a transfer to b, a consumption there, the transfer reversed: their answers."""
    created = stock_in(client, shop, "10")
    transfer = {
        "transaction_type": "transfer",
        "part_id": str(shop.part),
        "from_warehouse_id": str(shop.a),
        "to_warehouse_id": str(shop.b),
        "quantity": "4",
    }
    moved = post(client, shop.user, "/transactions", transfer)
    assert moved.status_code == 201, moved.text
    use = {
        "transaction_type": "consumption",
        "part_id": str(shop.part),
        "from_warehouse_id": str(shop.b),
        "quantity": "1",
    }
    used = post(client, shop.user, "/transactions", use)
    assert used.status_code == 201, used.text
    reversed_ = post(client, shop.admin, f"/transactions/{moved.json()['transactions'][0]['id']}/reverse", {})
    assert reversed_.status_code == 201, reversed_.text
    return {"created": created, "moved": moved.json(), "used": used.json(), "reversed": reversed_.json()}


def test_search_narrows_by_part_warehouse_type_stream_and_performer(client: TestClient, shop: Shop) -> None:
    done = moves(client, shop)
    transfer_id = done["moved"]["transactions"][0]["id"]
    by_part = search(client, shop.admin, part_id=str(shop.part))
    types = [e["event_type"] for e in by_part["items"]]
    # The reversal records a compensating transfer, then MovementReversed in the transfer's stream.
    assert types == [
        "StockCreated",
        "StockTransferred",
        "StockConsumed",
        "StockTransferred",
        "MovementReversed",
    ]
    positions = [e["position"] for e in by_part["items"]]
    assert positions == sorted(positions)
    in_a = search(client, shop.admin, warehouse_id=str(shop.a))
    assert "StockConsumed" not in [e["event_type"] for e in in_a["items"]]  # the consumption was in b
    assert {e["event_type"] for e in in_a["items"]} >= {
        "StockCreated",
        "StockTransferred",
        "MovementReversed",
    }
    stream = search(client, shop.admin, stream_id=f"movement-{transfer_id}")
    assert [e["event_type"] for e in stream["items"]] == ["StockTransferred", "MovementReversed"]
    assert [e["stream_version"] for e in stream["items"]] == [1, 2]
    consumed = search(client, shop.admin, part_id=str(shop.part), event_type="StockConsumed")
    assert [e["position"] for e in consumed["items"]] == [done["used"]["position"]]
    by_user = search(client, shop.admin, part_id=str(shop.part), performed_by_user_id=str(shop.user.user_id))
    assert [e["event_type"] for e in by_user["items"]] == ["StockTransferred", "StockConsumed"]
    # Names beside the ids, as the export gives them.
    assert by_part["names"]["parts"][str(shop.part)]["part_name"] == "filter"
    assert set(by_part["names"]["warehouses"]) == {str(shop.a), str(shop.b)}


def test_search_by_recorded_period(client: TestClient, shop: Shop) -> None:
    moves(client, shop)
    now = datetime.now(UTC)
    part = str(shop.part)
    assert (
        len(
            search(client, shop.admin, part_id=part, date_from=(now - timedelta(hours=1)).isoformat())[
                "items"
            ]
        )
        == 5
    )
    assert (
        search(client, shop.admin, part_id=part, date_from=(now + timedelta(hours=1)).isoformat())["items"]
        == []
    )
    assert (
        search(client, shop.admin, part_id=part, date_to=(now - timedelta(hours=1)).isoformat())["items"]
        == []
    )


def test_search_pages_are_the_whole_answer_in_order(client: TestClient, shop: Shop) -> None:
    moves(client, shop)
    whole = search(client, shop.admin, part_id=str(shop.part), limit=500)["items"]
    paged: list[Any] = []
    cursor = None
    while True:
        page = search(
            client, shop.admin, part_id=str(shop.part), limit=2, **({"cursor": cursor} if cursor else {})
        )
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == str(page["items"][-1]["position"])
    assert paged == whole and len(whole) == 5


def test_search_is_scoped_and_for_admins(client: TestClient, shop: Shop, tenants: Tenants, db: Conn) -> None:
    moves(client, shop)
    other = Shop(tenants, db)
    stock_in(client, other, "3")
    mine = search(client, shop.admin, limit=500)["items"]
    assert mine and all(e["stream_id"] != f"movement-{other.part}" for e in mine)
    assert search(client, other.admin, part_id=str(shop.part))["items"] == []
    assert search(client, other.admin, warehouse_id=str(shop.a))["items"] == []
    assert len(search(client, tenants.root, part_id=str(shop.part))["items"]) == 5  # super_admin: all
    denied = client.get("/ledger/search", headers=shop.user.headers)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert client.get("/ledger/search").status_code == 401


@pytest.mark.parametrize("cursor", ["abc", "-1", "999999999999"])
def test_a_cursor_not_issued_is_a_422(client: TestClient, shop: Shop, cursor: str) -> None:
    response = client.get("/ledger/search", params={"cursor": cursor}, headers=shop.admin.headers)
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


def test_inventory_q_finds_part_number_or_name(client: TestClient, shop: Shop, db: Conn) -> None:
    position = stock_in(client, shop, "2")["position"]
    number = db.execute("SELECT part_number FROM parts WHERE id = %s", [shop.part]).fetchone()
    assert number is not None

    def found(q: str) -> list[str]:
        params = {"min_position": position, "q": q, "organization_id": str(shop.org)}
        response = client.get("/inventory", params=params, headers=shop.user.headers)
        assert response.status_code == 200, response.text
        return [r["part_id"] for r in response.json()["items"]]

    assert found(number[0][2:].lower()) == [str(shop.part)]
    assert found("FILT") == [str(shop.part)]
    assert found("no such part") == []
    assert found("%") == []  # taken literally


def test_checks_show_the_latest_seal_and_runs(
    client: TestClient, shop: Shop, tenants: Tenants, db: Conn
) -> None:
    stock_in(client, shop, "1")
    started = datetime.now(UTC)
    check_runs.record(db, "verify", started, False, "an older run", {"ok": False})
    check_runs.record(
        db, "verify", started, True, "7 projections, 9 events: OK", {"ok": True, "problems": []}
    )
    check_runs.record(
        db, "audit", started, False, "checked 9 events: FAILED: 1 problems", {"problems": ["x"]}
    )
    response = client.get("/ledger/checks", headers=tenants.root.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verify"]["ok"] is True and body["verify"]["summary"] == "7 projections, 9 events: OK"
    assert body["verify"]["details"] == {"ok": True, "problems": []}
    assert body["audit"]["ok"] is False and body["audit"]["details"] == {"problems": ["x"]}
    head = db.execute("SELECT max(position) FROM ledger_events").fetchone()
    assert head is not None and body["head_position"] >= head[0]
    seal = db.execute(
        "SELECT seal_number, through_position FROM ledger_seals ORDER BY seal_number DESC LIMIT 1"
    ).fetchone()
    if seal is None:
        assert body["latest_seal"] is None
    else:
        assert (body["latest_seal"]["seal_number"], body["latest_seal"]["through_position"]) == seal
    # An admin sees outcomes, not the details (they name every organization's rows); a user nothing.
    admin = client.get("/ledger/checks", headers=shop.admin.headers).json()
    assert admin["audit"]["ok"] is False and admin["audit"]["details"] is None
    assert client.get("/ledger/checks", headers=shop.user.headers).status_code == 403


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"stream_id": "movement-\x00"}, "invalid_value"),
        ({"event_type": "x" * 101}, "validation_error"),
        ({"part_id": "not-a-uuid"}, "validation_error"),
        ({"date_from": "yesterday"}, "validation_error"),
        ({"limit": "501"}, "validation_error"),
    ],
)
def test_bad_search_input_is_a_clear_422(
    client: TestClient, shop: Shop, params: dict[str, str], code: str
) -> None:
    response = client.get("/ledger/search", params=params, headers=shop.admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
