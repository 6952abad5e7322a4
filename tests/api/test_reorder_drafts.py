"""Reorder drafts: suggestions become requested supplier orders by last supplier, once a day, racing too."""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.cli.reorder import register
from api.runtime import reorder
from api.runtime.settings import Settings
from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db
DRAFTS = "/reports/reorder-suggestions/drafts"


def insert(db: Conn, sql: str, params: list[Any]) -> UUID:
    row = db.execute(sql, params).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def low_stock(client: TestClient, root: Caller, db: Conn, depot: UUID) -> UUID:
    """A part of the depot's at 1 with a recommendation of 3 (9 consumed in 90 days, 21 days' cover)."""
    part = insert(
        db,
        "INSERT INTO parts (part_number, name) VALUES (%s, 'seal') RETURNING id",
        [f"S-{uuid.uuid4().hex[:8]}"],
    )
    for kind, side, quantity in (
        ("creation", "to_warehouse_id", "10"),
        ("consumption", "from_warehouse_id", "9"),
    ):
        body = {"transaction_type": kind, "part_id": str(part), side: str(depot), "quantity": quantity}
        answer = post(client, root, "/transactions", body)
        assert answer.status_code == 201, answer.text
    seen = client.get(
        "/inventory",
        params={"min_position": answer.json()["position"], "warehouse_id": str(depot), "part_id": str(part)},
        headers=root.headers,
    ).json()["items"]
    assert seen[0]["minimum_stock_recommendation"] == "3.000", seen
    return part


def depot_of(db: Conn, tenants: Tenants) -> UUID:
    return insert(
        db,
        "INSERT INTO warehouses (organization_id, name) VALUES (%s, %s) RETURNING id",
        [tenants.oraseas_id, f"depot-{uuid.uuid4().hex[:8]}"],
    )


def test_drafts_group_by_last_supplier_and_come_once_a_day(
    client: TestClient, root: Caller, tenants: Tenants, db: Conn
) -> None:
    depot = depot_of(db, tenants)
    known, unknown = low_stock(client, root, db, depot), low_stock(client, root, db, depot)
    earlier = post(
        client,
        root,
        "/supplier-orders",
        {"supplier_name": "Acme", "items": [{"part_id": str(known), "quantity": "1", "unit_price": "2.50"}]},
    )
    assert earlier.status_code == 201, earlier.text
    listed = client.get(
        "/supplier-orders", params={"min_position": earlier.json()["position"]}, headers=root.headers
    )
    assert listed.status_code == 200
    first = post(client, root, DRAFTS, {"warehouse_id": str(depot)}, **{"Idempotency-Key": "drafts-1"})
    assert first.status_code == 201, first.text
    replayed = post(client, root, DRAFTS, {"warehouse_id": str(depot)}, **{"Idempotency-Key": "drafts-1"})
    assert replayed.status_code == 201 and replayed.json() == first.json()
    body = first.json()
    assert (
        body["created"] is True and first.headers["location"] == f"/supplier-orders/{body['orders'][0]['id']}"
    )
    by_supplier = {o["supplier_name"]: o for o in body["orders"]}
    assert set(by_supplier) == {"Acme", reorder.SUPPLIER_TO_FILL_IN}
    assert all(o["status"] == "requested" for o in body["orders"])
    acme = by_supplier["Acme"]["items"]
    assert [(i["part_id"], Decimal(i["quantity"]), i["unit_price"]) for i in acme] == [
        (str(known), Decimal(5), "2.50")
    ]
    assert [i["part_id"] for i in by_supplier[reorder.SUPPLIER_TO_FILL_IN]["items"]] == [str(unknown)]
    again = post(client, root, DRAFTS, {"warehouse_id": str(depot)})
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert sorted(o["id"] for o in again.json()["orders"]) == sorted(o["id"] for o in body["orders"])


def test_who_may_draft_and_for_which_warehouse(
    client: TestClient, root: Caller, tenants: Tenants, shop: Shop, db: Conn
) -> None:
    assert post(client, shop.admin, DRAFTS, {"warehouse_id": str(shop.a)}).status_code == 403
    customers = post(client, root, DRAFTS, {"warehouse_id": str(shop.a)})
    assert customers.status_code == 422 and customers.json()["code"] == "wrong_warehouse_owner"
    nowhere = post(client, root, DRAFTS, {"warehouse_id": str(uuid.uuid4())})
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_warehouse"
    oraseas_user = tenants.user(tenants.oraseas_id, "user")
    assert post(client, oraseas_user, DRAFTS, {"warehouse_id": str(depot_of(db, tenants))}).status_code == 403
    empty = post(client, root, DRAFTS, {"warehouse_id": str(depot_of(db, tenants))})
    assert empty.status_code == 200 and empty.json()["orders"] == [] and empty.json()["created"] is False


def run_cli(url: str, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="abparts")
    register(parser.add_subparsers(dest="command", required=True), lambda settings: url)
    args = parser.parse_args(["reorder", *argv])
    status: int = args.func(Settings(), args)
    return status


def test_two_calls_racing_draft_once_and_the_cli_finds_them(
    client: TestClient,
    root: Caller,
    tenants: Tenants,
    db: Conn,
    api_db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    depot = depot_of(db, tenants)
    low_stock(client, root, db, depot)
    username = db.execute("SELECT username FROM users WHERE id = %s", [root.user_id]).fetchone()
    assert username is not None
    answers: list[int] = []
    start = threading.Barrier(2)

    def call() -> None:
        start.wait()
        answers.append(run_cli(api_db_url, "--warehouse", str(depot), "--by", str(username[0]), "--json"))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [0, 0]
    documents = [json.loads(d) for d in capsys.readouterr().out.replace("}\n{", "}\n\x00{").split("\x00")]
    assert sorted(d["created"] for d in documents) == [False, True]
    assert documents[0]["order_ids"] == documents[1]["order_ids"] and len(documents[0]["order_ids"]) == 1
    count = db.execute(
        "SELECT count(*) FROM ledger_events"
        " WHERE event_type = 'SupplierOrderRequested' AND payload->>'notes' = %s",
        [reorder.marker(depot, datetime.now(UTC).date())],
    ).fetchone()
    assert count == (1,)
    assert run_cli(api_db_url, "--warehouse", str(depot), "--by", "nobody") == 2


def test_a_supplier_no_longer_ordered_from_is_passed_over(
    client: TestClient, root: Caller, tenants: Tenants, db: Conn
) -> None:
    depot = depot_of(db, tenants)
    part = low_stock(client, root, db, depot)
    gone = tenants.organization("supplier")
    line = {"items": [{"part_id": str(part), "quantity": "1"}]}
    earlier = post(client, root, "/supplier-orders", line | {"supplier_organization_id": str(gone)})
    assert earlier.status_code == 201, earlier.text
    listed = client.get(
        "/supplier-orders", params={"min_position": earlier.json()["position"]}, headers=root.headers
    )
    assert listed.status_code == 200
    db.execute("UPDATE organizations SET is_active = false WHERE id = %s", [gone])
    drafted = post(client, root, DRAFTS, {"warehouse_id": str(depot)})
    assert drafted.status_code == 201, drafted.text
    [order] = drafted.json()["orders"]
    assert order["supplier_name"] == reorder.SUPPLIER_TO_FILL_IN and order["supplier_organization_id"] is None
