"""GET /stocktakes: each stocktake with its counts and adjustments, scoped, newest first, paged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db


def second_part(db: Conn) -> UUID:
    row = db.execute(
        "INSERT INTO parts (part_number, name) VALUES (%s, 'belt') RETURNING id",
        [f"P-{uuid.uuid4().hex[:10]}"],
    ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def count(client: TestClient, caller: Caller, warehouse: UUID, counts: dict[UUID, str], **extra: str) -> Any:
    items = [{"part_id": str(p), "counted_quantity": q} for p, q in counts.items()]
    answer = post(client, caller, "/stocktakes", {"warehouse_id": str(warehouse), "items": items, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def listed(client: TestClient, caller: Caller, **params: Any) -> Any:
    answer = client.get("/stocktakes", params=params, headers=caller.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_stocktake_is_listed_with_its_counts_and_adjustments(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    belt = second_part(db)
    stock_in(client, shop, "10")
    first = count(client, shop.admin, shop.a, {shop.part: "7", belt: "2"}, notes="spring count")
    [down, up] = first["transactions"]

    [stocktake] = listed(client, shop.user, min_position=first["position"])["items"]
    assert stocktake["id"] == down["id"] and stocktake["warehouse_id"] == str(shop.a)
    assert stocktake["counted_by_user_id"] == str(shop.admin.user_id)
    assert (stocktake["notes"], stocktake["position"]) == ("spring count", first["position"])
    assert moment(stocktake["stocktake_date"]) == moment(down["transaction_date"])
    assert stocktake["counts"] == [
        {"part_id": str(shop.part), "counted_quantity": "7", "stock_before": "10.000"},
        {"part_id": str(belt), "counted_quantity": "2", "stock_before": "0.000"},
    ]
    assert stocktake["adjustments"] == [
        {"transaction_id": down["id"], "part_id": str(shop.part), "quantity_adjusted": "-3.000"},
        {"transaction_id": up["id"], "part_id": str(belt), "quantity_adjusted": "2.000"},
    ]


def test_stocktakes_come_newest_first_a_page_at_a_time_and_only_real_ones(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    stock_in(client, shop, "10")
    older = count(client, shop.admin, shop.a, {shop.part: "9"})
    matching = count(client, shop.admin, shop.a, {shop.part: "9"})  # nothing differs: nothing appended
    assert matching["transactions"] == []
    adjusted = post(
        client,
        shop.admin,
        "/transactions",
        {
            "transaction_type": "adjustment",
            "part_id": str(shop.part),
            "to_warehouse_id": str(shop.a),
            "quantity": "1",
            "reason_code": "stocktake",  # an adjustment that only says so is not a stocktake
        },
    )
    assert adjusted.status_code == 201, adjusted.text
    newer = count(client, shop.admin, shop.b, {shop.part: "4"})

    one = listed(client, shop.admin, limit=1)
    assert [s["id"] for s in one["items"]] == [newer["transactions"][0]["id"]]
    two = listed(client, shop.admin, limit=1, cursor=one["next_cursor"])
    assert [s["id"] for s in two["items"]] == [older["transactions"][0]["id"]]
    assert two["next_cursor"] is None
    only_b = listed(client, shop.admin, warehouse_id=str(shop.b))["items"]
    assert [s["id"] for s in only_b] == [newer["transactions"][0]["id"]]


def test_stocktakes_are_scoped_to_the_callers_warehouses(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    ours, theirs = Shop(tenants, db), Shop(tenants, db)
    stock_in(client, ours, "3")
    count(client, ours.admin, ours.a, {ours.part: "1"})
    assert listed(client, theirs.admin)["items"] == []
    assert len(listed(client, ours.user)["items"]) == 1


def test_a_position_not_yet_given_is_refused(client: TestClient, shop: Shop) -> None:
    answer = client.get("/stocktakes", params={"min_position": 2**40}, headers=shop.user.headers)
    assert (answer.status_code, answer.json()["code"]) == (422, "unknown_position")


def test_a_repaired_date_is_the_stocktakes_date(client: TestClient, shop: Shop, db: Conn) -> None:
    from datetime import UTC

    from ledger.commands import CorrectMovementDate
    from ledger.policy import Policy
    from ledger.postgres.service import PostgresLedger
    from ledger.recorded import CommandMetadata

    stock_in(client, shop, "10")
    counted = count(client, shop.admin, shop.a, {shop.part: "7"})
    [adjustment] = counted["transactions"]
    repaired = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    fix = CorrectMovementDate(transaction_id=UUID(adjustment["id"]), transaction_date=repaired)
    PostgresLedger(Policy()).execute(db, fix, CommandMetadata(performed_by_user_id=shop.admin.user_id))
    [stocktake] = listed(client, shop.user, warehouse_id=str(shop.a))["items"]
    assert moment(stocktake["stocktake_date"]) == repaired
