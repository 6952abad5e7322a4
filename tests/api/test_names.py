"""Every read names what its ids stand for: part number, part name, unit, warehouse and organization."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.api.test_orders import Oraseas
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db


def names_of(shop: Shop) -> dict[str, str]:
    """The shop's reference names, read straight from the tables."""
    row = shop.db.execute(
        "SELECT p.part_number, p.name, p.unit_of_measure, a.name, b.name, o.name"
        " FROM parts p, warehouses a, warehouses b, organizations o"
        " WHERE p.id = %s AND a.id = %s AND b.id = %s AND o.id = %s",
        [shop.part, shop.a, shop.b, shop.org],
    ).fetchone()
    assert row is not None
    keys = ("part_number", "part_name", "unit_of_measure", "a", "b", "organization_name")
    return dict(zip(keys, row, strict=True))


def read(client: TestClient, caller: Caller, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_stock_reads_carry_part_warehouse_and_organization_names(client: TestClient, shop: Shop) -> None:
    n = names_of(shop)
    part = {"part_number": n["part_number"], "part_name": n["part_name"]}
    stock_in(client, shop, "10")
    transfer = {
        "transaction_type": "transfer",
        "part_id": str(shop.part),
        "from_warehouse_id": str(shop.a),
        "to_warehouse_id": str(shop.b),
        "quantity": "4",
    }
    moved = post(client, shop.user, "/transactions", transfer)
    assert moved.status_code == 201, moved.text
    adjust = {
        "warehouse_id": str(shop.a),
        "part_id": str(shop.part),
        "quantity_adjusted": "-1",
        "reason_code": "damaged",
    }
    assert post(client, shop.admin, "/stock-adjustments", adjust).status_code == 201
    use = {
        "machine_id": str(shop.machine),
        "part_id": str(shop.part),
        "warehouse_id": str(shop.b),
        "quantity": "2",
    }
    used = post(client, shop.user, "/part-usage", use)
    assert used.status_code == 201, used.text
    at = used.json()["position"]

    inventory = read(client, shop.user, "/inventory", min_position=at)["items"]
    assert {
        (i["warehouse_name"], i["part_number"], i["part_name"], i["organization_name"]) for i in inventory
    } == {
        (n["a"], n["part_number"], n["part_name"], n["organization_name"]),
        (n["b"], n["part_number"], n["part_name"], n["organization_name"]),
    }
    listed = read(client, shop.user, "/transactions", min_position=at, transaction_type="transfer")["items"]
    [row] = [t for t in listed if t["id"] == moved.json()["transactions"][0]["id"]]
    assert row | part | {"from_warehouse_name": n["a"], "to_warehouse_name": n["b"]} == row
    one = read(client, shop.user, f"/transactions/{row['id']}")
    assert one == row
    [adjusted] = read(client, shop.user, "/stock-adjustments", min_position=at)["items"]
    assert adjusted | part | {"unit_of_measure": n["unit_of_measure"], "warehouse_name": n["a"]} == adjusted
    [usage] = read(client, shop.user, "/part-usage", min_position=at, machine_id=str(shop.machine))["items"]
    names = {"warehouse_name": n["b"], "customer_organization_name": n["organization_name"]}
    assert usage | part | {"unit_of_measure": n["unit_of_measure"]} | names == usage


def test_stock_as_of_names_each_level(client: TestClient, shop: Shop) -> None:
    n = names_of(shop)
    created = stock_in(client, shop, "3")
    [level] = read(
        client, shop.user, "/inventory/as-of", position=created["position"], part_id=str(shop.part)
    )["items"]
    assert level == {
        "warehouse_id": str(shop.a),
        "part_id": str(shop.part),
        "current_stock": "3.000",
        "part_number": n["part_number"],
        "part_name": n["part_name"],
        "unit_of_measure": n["unit_of_measure"],
        "warehouse_name": n["a"],
        "organization_id": str(shop.org),
        "organization_name": n["organization_name"],
    }


def test_approvals_and_reorder_suggestions_name_their_part(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db, price="100.00")  # 200 x 100.00 is over the approval threshold
    n = names_of(shop)
    [record] = stock_in(client, shop, "200")["transactions"]
    approver = tenants.user(shop.org, "admin")  # not the recorder: approvals are segregated
    approved = post(client, approver, f"/transactions/{record['id']}/approve", {})
    assert approved.status_code == 201, approved.text
    at = approved.json()["position"]
    [approval] = read(
        client, shop.admin, "/transaction-approvals", min_position=at, transaction_id=record["id"]
    )["items"]
    assert (approval["part_id"], approval["part_number"], approval["part_name"]) == (
        str(shop.part),
        n["part_number"],
        n["part_name"],
    )
    read(client, shop.admin, "/inventory", min_position=at)  # the inventory row exists before it is edited
    db.execute("UPDATE inventory SET minimum_stock_recommendation = 500 WHERE part_id = %s", [shop.part])
    rows = read(client, shop.user, "/reports/reorder-suggestions", min_position=at)
    [row] = [r for r in rows if r["part_id"] == str(shop.part)]
    assert (row["warehouse_name"], row["organization_name"], row["part_number"]) == (
        n["a"],
        n["organization_name"],
        n["part_number"],
    )


def test_order_lines_name_their_part_from_the_stream_and_the_projection(
    client: TestClient, shop: Shop, tenants: Tenants, db: Conn
) -> None:
    oraseas = Oraseas(client, tenants, db, shop)
    n = names_of(shop)
    part = {
        "part_number": n["part_number"],
        "part_name": n["part_name"],
        "unit_of_measure": n["unit_of_measure"],
    }
    placed = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "5"}]}
    )
    assert placed.status_code == 201, placed.text
    [line] = placed.json()["items"]  # from the order's stream, before the projection has it
    assert line | part == line
    oid = placed.json()["id"]
    post(client, oraseas.admin, f"/customer-orders/{oid}/confirm", {})
    ship = {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "2"}]}
    shipped = post(client, oraseas.user, f"/customer-orders/{oid}/ship", ship)
    assert shipped.status_code == 201, shipped.text
    at = shipped.json()["position"]
    [listed] = read(client, shop.user, f"/customer-orders/{oid}", min_position=at)["items"]
    assert listed | part == listed
    [transit] = read(client, shop.user, "/reports/in-transit", min_position=at)
    assert transit | part == transit


def test_parts_are_found_by_part_of_their_number_or_name(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db)
    n = names_of(shop)
    db.execute("UPDATE parts SET name = 'Hydraulic Filter 50%% off' WHERE id = %s", [shop.part])
    middle = n["part_number"][3:9].lower()  # part numbers are P-<hex>: match a lower-cased middle piece

    def found(q: str) -> list[str]:
        return [p["id"] for p in read(client, shop.user, "/parts", q=q, limit=200)["items"]]

    assert found(middle) == [str(shop.part)]
    assert str(shop.part) in found("hydraulic FILTER")
    assert str(shop.part) in found("50%")
    assert str(shop.part) not in found("%hydraulic")  # literal, not a LIKE pattern
    assert found(middle + "zz") == []
    assert client.get("/parts", params={"q": ""}, headers=shop.user.headers).status_code == 422


def test_the_openapi_document_shows_the_names(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"part_number", "part_name", "warehouse_name", "organization_name"} <= set(
        schemas["InventoryOut"]["properties"]
    )
    assert {"from_warehouse_name", "to_warehouse_name", "part_number"} <= set(
        schemas["TransactionOut"]["properties"]
    )
    assert {"part_number", "unit_of_measure", "warehouse_name"} <= set(schemas["StockLevel"]["properties"])
    assert {"part_number", "part_name", "unit_of_measure"} <= set(schemas["OrderLineOut"]["properties"])
    parameters = client.get("/openapi.json").json()["paths"]["/parts"]["get"]["parameters"]
    assert "q" in {p["name"] for p in parameters}
