"""Warehouses, parts and machines over HTTP: rules, roles, scoping, caps, pagination."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.commands import CreateStock
from ledger.policy import Policy
from ledger.postgres.connection import Connection as Conn
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from tests.fixtures.api import Caller, Tenants, api_settings
from tests.fixtures.ledger import make_site
from tests.fixtures.shop import Shop, post, stock_in
from tests.fixtures.world import World

pytestmark = pytest.mark.db


def patch(client: TestClient, caller: Caller, path: str, body: dict[str, Any]) -> Any:
    return client.patch(path, json=body, headers=caller.headers)


def test_warehouses_are_unique_per_organization_and_scoped(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop, other = Shop(tenants, db), Shop(tenants, db)
    name = f"main-{uuid.uuid4().hex[:6]}"
    created = post(client, shop.admin, "/warehouses", {"name": name, "location": "Dock 1"})
    assert created.status_code == 201, created.text
    assert created.json()["organization_id"] == str(shop.org)
    again = post(client, shop.admin, "/warehouses", {"name": name})
    assert (again.status_code, again.json()["code"]) == (409, "name_taken")
    assert post(client, other.admin, "/warehouses", {"name": name}).status_code == 201  # another org: fine
    assert post(client, shop.user, "/warehouses", {"name": "x"}).status_code == 403
    foreign = post(client, other.admin, "/warehouses", {"name": "y", "organization_id": str(shop.org)})
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_organization")
    wid = created.json()["id"]
    assert client.get(f"/warehouses/{wid}", headers=other.user.headers).status_code == 404
    assert client.get(f"/warehouses/{wid}", headers=shop.user.headers).json()["location"] == "Dock 1"
    off = client.post(f"/warehouses/{wid}/deactivate", headers=shop.admin.headers)
    assert off.json()["is_active"] is False
    refused = post(
        client,
        shop.admin,
        "/transactions",
        {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": wid, "quantity": "1"},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "warehouse_inactive")
    renamed = patch(client, shop.admin, f"/warehouses/{wid}", {"name": name + "-b", "is_active": True})
    assert renamed.json()["name"] == name + "-b" and renamed.json()["is_active"] is True


def test_pages_walk_every_row_once(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    for n in range(5):
        post(client, shop.admin, "/warehouses", {"name": f"w{n}"})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/warehouses", params=params, headers=shop.admin.headers).json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7  # the shop's two and the five new ones
    bad = client.get("/warehouses", params={"cursor": "nonsense"}, headers=shop.admin.headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


def test_a_unit_change_waits_for_a_command_in_flight_and_then_refuses(
    client: TestClient, api_db_url: str, root: Caller, db: Conn
) -> None:
    site = make_site(World(db))
    with psycopg.connect(api_db_url) as writer, ThreadPoolExecutor(1) as pool:
        writer.execute("SELECT 1")  # opens the transaction the command then runs in, uncommitted
        command = CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=Decimal(1))
        PostgresLedger(Policy()).execute(writer, command, CommandMetadata(site.user))
        change = pool.submit(patch, client, root, f"/parts/{site.bulk}", {"unit_of_measure": "kg"})
        time.sleep(0.5)
        waited = not change.done()
        writer.commit()  # the command commits; the change goes on
        answer = change.result(timeout=30)
    assert waited, "the change did not wait for the command in flight"
    assert (answer.status_code, answer.json()["code"]) == (409, "part_in_use")
    unit = db.execute("SELECT unit_of_measure FROM parts WHERE id = %s", [site.bulk]).fetchone()
    assert unit == ("litres",)


def test_the_parts_catalog(client: TestClient, tenants: Tenants, db: Conn, root: Caller) -> None:
    shop = Shop(tenants, db)
    number = f"AB-{uuid.uuid4().hex[:8]}"
    body = {
        "part_number": number,
        "name": "Nozzle",
        "unit_price": "12.50",
        "local_supplier_delivery_time_days": 9,
    }
    assert post(client, shop.admin, "/parts", body).status_code == 403  # a customer's admin
    created = post(client, root, "/parts", body)
    assert created.status_code == 201, created.text
    assert (created.json()["unit_price"], created.json()["part_type"]) == ("12.50", "consumable")
    dup = post(client, root, "/parts", body)
    assert (dup.status_code, dup.json()["code"]) == (409, "part_number_taken")
    pid = created.json()["id"]
    assert client.get(f"/parts/{pid}", headers=shop.user.headers).status_code == 200
    assert (
        patch(client, root, f"/parts/{pid}", {"unit_of_measure": "boxes"}).json()["unit_of_measure"]
        == "boxes"
    )
    stock_in(client, shop, "2")  # moves the shop's part
    in_use = patch(client, root, f"/parts/{shop.part}", {"unit_of_measure": "litres"})
    assert (in_use.status_code, in_use.json()["code"]) == (409, "part_in_use")
    assert patch(client, root, f"/parts/{shop.part}", {"unit_price": "7.00"}).json()["unit_price"] == "7.00"
    negative = post(client, root, "/parts", body | {"part_number": number + "x", "unit_price": "-1"})
    assert negative.status_code == 422


def test_machines(client: TestClient, tenants: Tenants, db: Conn, root: Caller) -> None:
    shop, other = Shop(tenants, db), Shop(tenants, db)
    serial = f"SN-{uuid.uuid4().hex[:10]}"
    body = {
        "customer_organization_id": str(shop.org),
        "model_type": "V4.0",
        "name": "Boss",
        "serial_number": serial,
    }
    assert post(client, shop.admin, "/machines", body).status_code == 403
    created = post(client, root, "/machines", body)
    assert created.status_code == 201, created.text
    dup = post(client, root, "/machines", body)
    assert (dup.status_code, dup.json()["code"]) == (409, "serial_number_taken")
    supplier = tenants.organization("supplier")
    wrong = post(
        client,
        root,
        "/machines",
        body | {"serial_number": serial + "x", "customer_organization_id": str(supplier)},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "owner_not_customer")
    mid = created.json()["id"]
    assert client.get(f"/machines/{mid}", headers=other.admin.headers).status_code == 404
    assert (
        patch(client, shop.admin, f"/machines/{mid}", {"status": "maintenance"}).json()["status"]
        == "maintenance"
    )
    moved = patch(client, shop.admin, f"/machines/{mid}", {"customer_organization_id": str(other.org)})
    assert moved.status_code == 403
    assert (
        patch(client, root, f"/machines/{mid}", {"customer_organization_id": str(other.org)}).status_code
        == 200
    )
    assert client.get(f"/machines/{mid}", headers=other.user.headers).status_code == 200


def test_caps_are_enforced(fresh_db_url: str) -> None:
    from api.runtime.seed import bootstrap
    from tests.fixtures.api import PASSWORD

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        done = bootstrap(conn, "capper", "capper@example.com", PASSWORD)
    settings = api_settings(max_warehouses=1, max_parts=1, run_projectors=False)
    with TestClient(create_app(settings, fresh_db_url)) as client:
        token = client.post("/token", data={"username": "capper", "password": PASSWORD}).json()[
            "access_token"
        ]
        root = Caller(done.admin_id, done.oraseas_id, "capper", {"Authorization": f"Bearer {token}"})
        assert post(client, root, "/warehouses", {"name": "one"}).status_code == 201
        full = post(client, root, "/warehouses", {"name": "two"})
        assert (full.status_code, full.json()["code"]) == (409, "limit_reached")
        assert post(client, root, "/parts", {"part_number": "P1", "name": "a"}).status_code == 201
        assert (
            post(client, root, "/parts", {"part_number": "P2", "name": "b"}).json()["code"] == "limit_reached"
        )


def test_name_filters_take_wildcards_literally(client: TestClient, tenants: Tenants, db: Conn) -> None:
    """`name=` contains the text as given, ignoring case: `%` and `_` are not LIKE's wildcards."""
    shop = Shop(tenants, db)
    tag = uuid.uuid4().hex[:6]
    for name in (f"{tag} 50% off_a", f"{tag} 50x off-a", f"{tag} 50 off a"):
        assert post(client, shop.admin, "/warehouses", {"name": name}).status_code == 201

    def named(text: str) -> list[str]:
        got = client.get("/warehouses", params={"name": text, "limit": 50}, headers=shop.admin.headers)
        assert got.status_code == 200, got.text
        return sorted(w["name"] for w in got.json()["items"])

    assert named(f"{tag} 50%") == [f"{tag} 50% off_a"]
    assert named("OFF_A") == [f"{tag} 50% off_a"]
    assert named(f"{tag} 50") == sorted([f"{tag} 50% off_a", f"{tag} 50x off-a", f"{tag} 50 off a"])
