"""Every 201 carries `Location`: the path of what it created (or, for an action, of what it acted on)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.api.test_reorder_drafts import low_stock
from tests.fixtures.api import PASSWORD, Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db

# A reset token is handed to the admin once and has no address of its own to point at.
NO_RESOURCE = {"/users/{user_id}/password-reset"}


class Seen:
    """The Location of each 201, by the operation's path template."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.locations: dict[str, tuple[str | None, str]] = {}

    def post(self, template: str, caller: Caller, body: dict[str, Any], expected: str, **ids: str) -> Any:
        """POST to `template` filled with `ids`; remember its Location and the path it must name."""
        response = post(self.client, caller, template.format(**ids), body)
        assert response.status_code == 201, (template, response.text)
        self.locations[template] = (response.headers.get("location"), expected.format(**response.json()))
        return response


def two_hundred_and_ones(client: TestClient) -> set[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return {p for p, ops in paths.items() for op in ops.values() if "201" in op["responses"]}


def reference_data(seen: Seen, root: Caller, shop: Shop) -> None:
    tag = uuid.uuid4().hex[:8]
    seen.post(
        "/organizations", root, {"name": f"o-{tag}", "organization_type": "customer"}, "/organizations/{id}"
    )
    user = {"username": f"u-{tag}", "email": f"u-{tag}@example.com", "organization_id": str(shop.org)}
    seen.post("/users", root, user | {"password": PASSWORD}, "/users/{id}")
    seen.post("/warehouses", shop.admin, {"name": f"w-{tag}"}, "/warehouses/{id}")
    seen.post("/parts", root, {"part_number": f"P-{tag}", "name": "pump"}, "/parts/{id}")
    machine = {
        "customer_organization_id": str(shop.org),
        "model_type": "V4.0",
        "name": "m",
        "serial_number": tag,
    }
    seen.post("/machines", root, machine, "/machines/{id}")


def movements(seen: Seen, root: Caller, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db, price="100.00")  # 200 x 100.00 is over the approval threshold
    created = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a)}
    first = "/transactions/{transactions[0][id]}"
    pending = seen.post("/transactions", shop.admin, created | {"quantity": "200"}, first)
    approve = "/transactions/{transaction_id}/approve"
    seen.post(approve, root, {}, first, transaction_id=pending.json()["transactions"][0]["id"])
    other = stock_in(seen.client, shop, "300")["transactions"][0]["id"]
    seen.post("/transactions/{transaction_id}/reject", root, {}, first, transaction_id=other)
    small = stock_in(seen.client, shop, "1")["transactions"][0]["id"]
    # A reversal's Location is the compensating movement it created, not the one it undid.
    reversed_ = seen.post("/transactions/{transaction_id}/reverse", root, {}, first, transaction_id=small)
    assert reversed_.json()["transactions"][0]["id"] != small
    part, here = str(shop.part), str(shop.a)
    adjust = {"warehouse_id": here, "part_id": part, "quantity_adjusted": "5", "reason_code": "found_stock"}
    seen.post("/stock-adjustments", shop.admin, adjust, first)
    count = {"warehouse_id": here, "items": [{"part_id": part, "counted_quantity": "2"}]}
    seen.post("/stocktakes", shop.admin, count, first)
    use = {"machine_id": str(shop.machine), "part_id": part, "warehouse_id": here, "quantity": "1"}
    seen.post("/part-usage", shop.user, use, first)


def orders(seen: Seen, root: Caller, tenants: Tenants, shop: Shop, db: Conn) -> None:
    depot = db.execute(
        "INSERT INTO warehouses (organization_id, name) VALUES (%s, %s) RETURNING id",
        [tenants.oraseas_id, f"depot-{uuid.uuid4().hex[:8]}"],
    ).fetchone()
    assert depot is not None
    stock = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(depot[0])}
    assert post(seen.client, root, "/transactions", stock | {"quantity": "20"}).status_code == 201
    line: dict[str, Any] = {"items": [{"part_id": str(shop.part), "quantity": "2"}]}
    moved = line | {"warehouse_id": str(depot[0])}
    for kind, steps in (
        ("customer", (("confirm", root, {}), ("ship", root, moved), ("receive", shop.admin, moved))),
        ("supplier", (("place", root, {}), ("receive", root, moved))),
    ):
        buyer = shop.admin if kind == "customer" else root
        line = line if kind == "customer" else line | {"supplier_name": "Acme"}
        order = seen.post(f"/{kind}-orders", buyer, line, f"/{kind}-orders/{{id}}").json()["id"]
        for action, caller, body in steps:
            if action == "receive" and kind == "customer":
                body = body | {"warehouse_id": str(shop.a)}
            template = f"/{kind}-orders/{{order_id}}/{action}"
            seen.post(template, caller, body, f"/{kind}-orders/{{id}}", order_id=order)
        doomed = post(seen.client, buyer, f"/{kind}-orders", line).json()["id"]
        seen.post(f"/{kind}-orders/{{order_id}}/cancel", root, {}, f"/{kind}-orders/{{id}}", order_id=doomed)
    low_stock(seen.client, root, db, depot[0])
    drafts = "/reports/reorder-suggestions/drafts"
    seen.post(drafts, root, {"warehouse_id": str(depot[0])}, "/supplier-orders/{orders[0][id]}")


def test_every_201_names_what_it_created(
    client: TestClient, root: Caller, tenants: Tenants, shop: Shop, db: Conn
) -> None:
    seen = Seen(client)
    reference_data(seen, root, shop)
    movements(seen, root, tenants, db)
    orders(seen, root, tenants, shop, db)
    assert set(seen.locations) == two_hundred_and_ones(client) - NO_RESOURCE
    wrong = {t: got for t, got in seen.locations.items() if got[0] != got[1]}
    assert wrong == {}, "Location (sent, expected) by operation"
    for location, _ in seen.locations.values():
        assert location is not None and re.fullmatch(r"/[a-z-]+/[0-9a-f-]{36}", location)
        assert client.get(location, headers=root.headers).status_code == 200, location


def test_a_replayed_201_carries_its_location_again(client: TestClient, shop: Shop) -> None:
    body = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a)}
    first = post(
        client, shop.admin, "/transactions", body | {"quantity": "1"}, **{"Idempotency-Key": "loc-1"}
    )
    again = post(
        client, shop.admin, "/transactions", body | {"quantity": "1"}, **{"Idempotency-Key": "loc-1"}
    )
    assert again.headers.get("idempotent-replay") == "true"
    assert (
        again.headers["location"]
        == first.headers["location"]
        == (f"/transactions/{first.json()['transactions'][0]['id']}")
    )
