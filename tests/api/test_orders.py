"""Orders over HTTP: the customer and supplier order flows, their rules, roles and scoping."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db


class Oraseas:
    """Oraseas EE's admin and user (the bootstrapped organization) and a depot with stock of a part."""

    def __init__(self, client: TestClient, tenants: Tenants, db: Conn, shop: Shop) -> None:
        self.admin = tenants.user(tenants.oraseas_id, "admin")
        self.user = tenants.user(tenants.oraseas_id, "user")
        row = db.execute(
            "INSERT INTO warehouses (organization_id, name) VALUES (%s, %s) RETURNING id",
            [tenants.oraseas_id, f"depot-{uuid.uuid4().hex[:8]}"],
        ).fetchone()
        assert row is not None
        self.depot = UUID(str(row[0]))
        stocked = post(
            client,
            self.admin,
            "/transactions",
            {
                "transaction_type": "creation",
                "part_id": str(shop.part),
                "to_warehouse_id": str(self.depot),
                "quantity": "20",
            },
        )
        assert stocked.status_code == 201, stocked.text


@pytest.fixture
def oraseas(client: TestClient, tenants: Tenants, db: Conn, shop: Shop) -> Oraseas:
    return Oraseas(client, tenants, db, shop)


def lines(order: dict[str, Any]) -> dict[str, tuple[str, str, str, str]]:
    return {
        i["part_id"]: (i["quantity"], i["shipped_quantity"], i["received_quantity"], i["in_transit_quantity"])
        for i in order["items"]
    }


def stock(client: TestClient, caller: Caller, position: int, warehouse: UUID) -> str | None:
    items = client.get(
        "/inventory",
        params={"min_position": position, "warehouse_id": str(warehouse)},
        headers=caller.headers,
    ).json()["items"]
    return items[0]["current_stock"] if items else None


def test_a_customer_order_from_request_to_receipt(client: TestClient, shop: Shop, oraseas: Oraseas) -> None:
    placed = post(
        client,
        shop.user,
        "/customer-orders",
        {"items": [{"part_id": str(shop.part), "quantity": "10", "unit_price": "4.50"}]},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "requested" and order["ordered_by_user_id"] == str(shop.user.user_id)
    oid = order["id"]
    assert post(client, shop.admin, f"/customer-orders/{oid}/confirm", {}).status_code == 403
    assert post(client, oraseas.admin, f"/customer-orders/{oid}/confirm", {}).json()["status"] == "confirmed"
    availability = client.get(
        f"/customer-orders/{oid}/availability",
        params={"warehouse_id": str(oraseas.depot)},
        headers=oraseas.user.headers,
    ).json()
    assert availability["can_fill"] is True
    # Another organization's warehouse answers as if it did not exist: its stock is not told.
    elsewhere = client.get(
        f"/customer-orders/{oid}/availability",
        params={"warehouse_id": str(shop.a)},
        headers=oraseas.user.headers,
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "unknown_warehouse")
    shipped = post(
        client,
        oraseas.user,
        f"/customer-orders/{oid}/ship",
        {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "6"}]},
    )
    assert shipped.status_code == 201, shipped.text
    assert lines(shipped.json())[str(shop.part)] == ("10", "6", "0", "6")
    assert stock(client, oraseas.admin, shipped.json()["position"], oraseas.depot) == "14.000"
    transit = client.get(
        "/reports/in-transit", params={"min_position": shipped.json()["position"]}, headers=shop.user.headers
    ).json()
    assert [(t["customer_order_id"], t["in_transit_quantity"]) for t in transit] == [(oid, "6.000")]
    too_much = post(
        client,
        shop.user,
        f"/customer-orders/{oid}/receive",
        {"warehouse_id": str(shop.a), "items": [{"part_id": str(shop.part), "quantity": "7"}]},
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "quantity_exceeds_order"
    received = post(
        client,
        shop.user,
        f"/customer-orders/{oid}/receive",
        {"warehouse_id": str(shop.a), "items": [{"part_id": str(shop.part), "quantity": "6"}]},
    )
    assert received.status_code == 201, received.text
    assert lines(received.json())[str(shop.part)] == ("10", "6", "6", "0")
    assert stock(client, shop.user, received.json()["position"], shop.a) == "6.000"
    listed = client.get(
        "/customer-orders", params={"min_position": received.json()["position"]}, headers=shop.user.headers
    ).json()["items"]
    assert [(o["id"], o["status"]) for o in listed] == [(oid, "shipped")]
    assert lines(listed[0])[str(shop.part)] == ("10.000", "6.000", "6.000", "0.000")


def test_orders_are_private_to_their_customer(
    client: TestClient, tenants: Tenants, db: Conn, shop: Shop, oraseas: Oraseas
) -> None:
    other = Shop(tenants, db)
    oid = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "1"}]}
    ).json()["id"]
    for caller in (other.user, other.admin):
        assert client.get(f"/customer-orders/{oid}", headers=caller.headers).status_code == 404
        assert post(client, caller, f"/customer-orders/{oid}/cancel", {}).status_code == 404
        assert all(
            o["id"] != oid for o in client.get("/customer-orders", headers=caller.headers).json()["items"]
        )
    assert client.get("/supplier-orders", headers=other.admin.headers).status_code == 403
    assert client.get(f"/customer-orders/{oid}", headers=oraseas.user.headers).status_code == 200


def test_cancel_only_before_shipping(client: TestClient, shop: Shop, oraseas: Oraseas) -> None:
    oid = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "2"}]}
    ).json()["id"]
    post(client, oraseas.admin, f"/customer-orders/{oid}/confirm", {})
    post(
        client,
        oraseas.user,
        f"/customer-orders/{oid}/ship",
        {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "1"}]},
    )
    refused = post(client, shop.admin, f"/customer-orders/{oid}/cancel", {})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_order_state"


def test_a_supplier_order_receipt_counts_once(
    client: TestClient, shop: Shop, oraseas: Oraseas, db: Conn
) -> None:
    drafted = post(
        client,
        oraseas.admin,
        "/supplier-orders",
        {"supplier_name": "Filters Ltd", "items": [{"part_id": str(shop.part), "quantity": "5"}]},
    )
    assert drafted.status_code == 201, drafted.text
    oid = drafted.json()["id"]
    assert post(client, oraseas.admin, f"/supplier-orders/{oid}/place", {}).json()["status"] == "ordered"
    receipt = {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "5"}]}
    first = post(
        client, oraseas.user, f"/supplier-orders/{oid}/receive", receipt, **{"Idempotency-Key": "r1"}
    )
    again = post(
        client, oraseas.user, f"/supplier-orders/{oid}/receive", receipt, **{"Idempotency-Key": "r1"}
    )
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert first.json()["status"] == "received"
    beyond = post(
        client,
        oraseas.user,
        f"/supplier-orders/{oid}/receive",
        {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "1"}]},
    )
    assert beyond.status_code == 409 and beyond.json()["code"] == "invalid_order_state"
    assert stock(client, oraseas.admin, first.json()["position"], oraseas.depot) == "25.000"
    got = client.get(
        f"/supplier-orders/{oid}",
        params={"min_position": first.json()["position"]},
        headers=oraseas.admin.headers,
    ).json()
    assert got["supplier_name"] == "Filters Ltd" and got["items"][0]["received_quantity"] == "5.000"


@pytest.mark.parametrize(
    ("who", "action", "body", "status", "code"),
    [
        ("customer_user", "confirm", {}, 403, "forbidden"),
        ("oraseas_user", "confirm", {}, 403, "forbidden"),
        ("oraseas_user", "ship-too-much", None, 422, "quantity_exceeds_order"),
        ("customer_user", "ship", None, 403, "forbidden"),
        ("oraseas_user", "receive", None, 403, "forbidden"),
        ("customer_user", "cancel", {}, 403, "forbidden"),
        ("oraseas_user", "ship-unconfirmed", None, 409, "invalid_order_state"),
        ("oraseas_user", "ship-from-customer", None, 422, "wrong_warehouse_owner"),
    ],
)
def test_rejected_transitions(
    client: TestClient, shop: Shop, oraseas: Oraseas, who: str, action: str, body: Any, status: int, code: str
) -> None:
    callers = {"customer_user": shop.user, "oraseas_user": oraseas.user}
    oid = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "3"}]}
    ).json()["id"]
    if action != "ship-unconfirmed":
        post(client, oraseas.admin, f"/customer-orders/{oid}/confirm", {})
    quantity = "4" if action == "ship-too-much" else "1"
    warehouse = shop.a if action in ("ship-from-customer", "receive") else oraseas.depot
    verb = action.split("-")[0]
    payload = (
        body
        if body is not None
        else {"warehouse_id": str(warehouse), "items": [{"part_id": str(shop.part), "quantity": quantity}]}
    )
    response = post(client, callers[who], f"/customer-orders/{oid}/{verb}", payload)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_a_supplier_order_is_received_only_once_placed_and_in_parts(
    client: TestClient, shop: Shop, oraseas: Oraseas
) -> None:
    oid = post(
        client,
        oraseas.admin,
        "/supplier-orders",
        {"supplier_name": "Seals Inc", "items": [{"part_id": str(shop.part), "quantity": "8"}]},
    ).json()["id"]
    early = post(
        client,
        oraseas.user,
        f"/supplier-orders/{oid}/receive",
        {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "1"}]},
    )
    assert (early.status_code, early.json()["code"]) == (409, "invalid_order_state")
    assert post(client, oraseas.user, f"/supplier-orders/{oid}/place", {}).status_code == 403
    post(client, oraseas.admin, f"/supplier-orders/{oid}/place", {})
    for quantity, status in (("5", "ordered"), ("3", "received")):
        part = post(
            client,
            oraseas.user,
            f"/supplier-orders/{oid}/receive",
            {
                "warehouse_id": str(oraseas.depot),
                "items": [{"part_id": str(shop.part), "quantity": quantity}],
            },
        )
        assert part.status_code == 201 and part.json()["status"] == status
    assert stock(client, oraseas.admin, part.json()["position"], oraseas.depot) == "28.000"
