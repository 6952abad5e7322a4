"""Reservations over HTTP: confirming reserves, /inventory and availability show what is available,
reserved stock is refused to others under `reject` (409 stock_reserved), /stock-reservations is scoped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from tests.api.test_orders import Oraseas, oraseas
from tests.fixtures.api import Caller, Tenants, api_settings
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db
__all__ = ["oraseas"]


@pytest.fixture(scope="module")
def strict(api_db_url: str) -> Iterator[TestClient]:
    """A second app on the API tests' database with the `reject` policy (the session's app projects)."""
    settings = api_settings(negative_stock_policy="reject", run_projectors=False)
    with TestClient(create_app(settings, api_db_url)) as client:
        yield client


def ordered(client: TestClient, shop: Shop, quantity: str) -> str:
    placed = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": quantity}]}
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def confirm(client: TestClient, oraseas: Oraseas, order_id: str) -> Any:
    body = {"reserve_warehouse_id": str(oraseas.depot)}
    return post(client, oraseas.admin, f"/customer-orders/{order_id}/confirm", body)


def inventory_row(client: TestClient, caller: Caller, position: int, oraseas: Oraseas) -> dict[str, Any]:
    params: dict[str, Any] = {"min_position": position, "warehouse_id": str(oraseas.depot)}
    [row] = client.get("/inventory", params=params, headers=caller.headers).json()["items"]
    return {k: row[k] for k in ("current_stock", "reserved_stock", "available_stock")}


def reservations(client: TestClient, caller: Caller, position: int, **params: str) -> list[tuple[Any, ...]]:
    query: dict[str, Any] = {"min_position": position, **params}
    found = client.get("/stock-reservations", params=query, headers=caller.headers)
    assert found.status_code == 200, found.text
    return [
        (r["customer_order_id"], r["open_quantity"], r["shipped_quantity"], r["status"])
        for r in found.json()["items"]
    ]


def test_a_reservation_holds_stock_for_its_order_only(
    client: TestClient, strict: TestClient, tenants: Tenants, shop: Shop, oraseas: Oraseas
) -> None:
    first = ordered(client, shop, "15")
    reserved = confirm(strict, oraseas, first)
    assert reserved.status_code == 201, reserved.text
    body = reserved.json()
    assert body["reserve_warehouse_id"] == str(oraseas.depot)
    assert [i["reserved_quantity"] for i in body["items"]] == ["15"]
    assert inventory_row(client, oraseas.admin, body["position"], oraseas) == {
        "current_stock": "20.000",
        "reserved_stock": "15.000",
        "available_stock": "5.000",
    }
    second = ordered(client, shop, "6")
    refused = confirm(strict, oraseas, second)
    assert (refused.status_code, refused.json()["code"]) == (409, "stock_reserved")
    assert refused.json()["available"] == "5.000"
    consume = {
        "transaction_type": "consumption",
        "part_id": str(shop.part),
        "from_warehouse_id": str(oraseas.depot),
    }
    taken = post(strict, oraseas.admin, "/transactions", consume | {"quantity": "6"})
    assert (taken.status_code, taken.json()["code"]) == (409, "stock_reserved")
    assert post(strict, oraseas.admin, "/transactions", consume | {"quantity": "5"}).status_code == 201
    availability = client.get(
        f"/customer-orders/{first}/availability",
        params={"warehouse_id": str(oraseas.depot)},
        headers=oraseas.user.headers,
    ).json()
    [line] = availability["items"]
    assert (line["on_hand"], line["reserved"], line["reserved_for_order"], line["available"]) == (
        "15.000",
        "15.000",
        "15",
        "15.000",
    )
    assert availability["can_fill"] is True
    other = client.get(
        f"/customer-orders/{second}/availability",
        params={"warehouse_id": str(oraseas.depot)},
        headers=oraseas.user.headers,
    ).json()
    assert (other["items"][0]["available"], other["can_fill"]) == ("0.000", False)
    shipped = post(
        strict,
        oraseas.user,
        f"/customer-orders/{first}/ship",
        {"warehouse_id": str(oraseas.depot), "items": [{"part_id": str(shop.part), "quantity": "5"}]},
    )
    assert shipped.status_code == 201, shipped.text
    position = shipped.json()["position"]
    assert reservations(client, oraseas.admin, position, customer_order_id=first) == [
        (first, "10.000", "5.000", "open")
    ]
    assert reservations(client, shop.user, position, customer_order_id=first) == [
        (first, "10.000", "5.000", "open")
    ]
    stranger = tenants.user(tenants.organization(), "admin")
    assert reservations(client, stranger, position) == []
    assert inventory_row(client, oraseas.admin, position, oraseas)["available_stock"] == "0.000"


def test_cancelling_releases_the_reservation(
    client: TestClient, strict: TestClient, shop: Shop, oraseas: Oraseas
) -> None:
    order_id = ordered(client, shop, "8")
    assert confirm(strict, oraseas, order_id).status_code == 201
    cancelled = post(strict, oraseas.admin, f"/customer-orders/{order_id}/cancel", {})
    assert cancelled.status_code == 201, cancelled.text
    position = cancelled.json()["position"]
    assert reservations(client, oraseas.admin, position, customer_order_id=order_id) == []
    closed = reservations(client, oraseas.admin, position, customer_order_id=order_id, status="closed")
    assert closed == [(order_id, "0.000", "0.000", "closed")]
    assert inventory_row(client, oraseas.admin, position, oraseas)["reserved_stock"] == "0.000"


def test_a_confirmation_without_a_body_reserves_nothing(
    client: TestClient, shop: Shop, oraseas: Oraseas
) -> None:
    order_id = ordered(client, shop, "3")
    confirmed = client.post(f"/customer-orders/{order_id}/confirm", headers=oraseas.admin.headers)
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["reserve_warehouse_id"] is None


def test_reserved_stock_counts_against_the_minimum_in_reorder_suggestions(
    client: TestClient, strict: TestClient, shop: Shop, oraseas: Oraseas, db: Conn
) -> None:
    def suggested(position: int) -> list[str]:
        params: dict[str, Any] = {"min_position": position, "warehouse_id": str(oraseas.depot)}
        rows = client.get("/reports/reorder-suggestions", params=params, headers=oraseas.admin.headers)
        assert rows.status_code == 200, rows.text
        return [r["suggested_order_quantity"] for r in rows.json() if r["part_id"] == str(shop.part)]

    placed = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "15"}]}
    ).json()
    assert inventory_row(client, oraseas.admin, placed["position"], oraseas)["current_stock"] == "20.000"
    # 20 on hand above a minimum of 10 set by hand: nothing to order, until 15 are promised.
    db.execute(
        "UPDATE inventory SET minimum_stock_recommendation = 10, reorder_threshold_set_by = 'admin'"
        " WHERE warehouse_id = %s AND part_id = %s",
        [oraseas.depot, shop.part],
    )
    assert suggested(placed["position"]) == []
    reserved = confirm(strict, oraseas, placed["id"])
    assert reserved.status_code == 201, reserved.text
    assert suggested(reserved.json()["position"]) == ["15"]  # up to twice the minimum from 5 available
