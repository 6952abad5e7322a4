"""An action whose body has only optional fields accepts a request with no body at all.

The actions are found in the OpenAPI document (POST operations whose body
schema requires nothing), so a new one is covered, or this test says it lacks
a set-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db
Conn = Connection


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a $ref or an `X | None` union."""
    for option in schema.get("anyOf", ()):
        if option.get("type") != "null":
            return _schema(doc, option)
    if "$ref" in schema:
        found: dict[str, Any] = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return found
    return schema


def optional_body_actions(app: FastAPI) -> dict[str, dict[str, Any]]:
    """Each POST operation whose JSON body has no required field: its path and its requestBody."""
    doc = app.openapi()
    found = {}
    for path, operations in doc["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body is None:
            continue
        schemas = [_schema(doc, content["schema"]) for content in body["content"].values()]
        if not any(schema.get("required") for schema in schemas):
            found[path] = body
    return found


def test_no_action_with_only_optional_fields_requires_a_body(app: FastAPI) -> None:
    actions = optional_body_actions(app)
    assert set(SET_UPS) <= set(actions)  # the enumeration finds the known ones
    assert [path for path, body in actions.items() if body.get("required")] == []


Arranged = tuple[dict[str, str], Caller]  # the path's parameters, and who may act on it


def _customer_order(client: TestClient, tenants: Tenants, shop: Shop) -> Arranged:
    body = {"items": [{"part_id": str(shop.part), "quantity": "1"}]}
    oid = post(client, shop.user, "/customer-orders", body).json()["id"]
    return {"order_id": oid}, tenants.user(tenants.oraseas_id, "admin")


def _supplier_order(client: TestClient, tenants: Tenants, shop: Shop) -> Arranged:
    admin = tenants.user(tenants.oraseas_id, "admin")
    body = {"supplier_name": "Seals Inc", "items": [{"part_id": str(shop.part), "quantity": "2"}]}
    return {"order_id": post(client, admin, "/supplier-orders", body).json()["id"]}, admin


def _movement(client: TestClient, tenants: Tenants, db: Conn, price: str, quantity: str) -> Arranged:
    shop = Shop(tenants, db, price=price)
    [record] = stock_in(client, shop, quantity)["transactions"]
    return {"transaction_id": record["id"]}, shop.admin


def _pending(client: TestClient, tenants: Tenants, shop: Shop, db: Conn) -> Arranged:
    ids, recorder = _movement(client, tenants, db, "100.00", "200")  # 200 x 100.00: over the threshold
    return ids, tenants.user(recorder.organization_id, "admin")  # the recorder may not approve


def _approved(client: TestClient, tenants: Tenants, shop: Shop, db: Conn) -> Arranged:
    return _movement(client, tenants, db, "5.00", "3")


SET_UPS: dict[str, Callable[[TestClient, Tenants, Shop, Conn], Arranged]] = {
    "/customer-orders/{order_id}/confirm": lambda c, t, s, d: _customer_order(c, t, s),
    "/customer-orders/{order_id}/cancel": lambda c, t, s, d: _customer_order(c, t, s),
    "/supplier-orders/{order_id}/place": lambda c, t, s, d: _supplier_order(c, t, s),
    "/supplier-orders/{order_id}/cancel": lambda c, t, s, d: _supplier_order(c, t, s),
    "/transactions/{transaction_id}/approve": _pending,
    "/transactions/{transaction_id}/reject": _pending,
    "/transactions/{transaction_id}/reverse": _approved,
}


def test_every_such_action_answers_a_request_without_body(
    app: FastAPI, client: TestClient, tenants: Tenants, shop: Shop, db: Conn
) -> None:
    answers = {}
    for path in optional_body_actions(app):
        assert path in SET_UPS, f"{path} takes an optional body: give it a set-up here"
        ids, caller = SET_UPS[path](client, tenants, shop, db)
        response = client.post(path.format(**ids), headers=caller.headers)  # no body, no content-type
        answers[path] = (response.status_code, response.text)
    assert {path: status for path, (status, _) in answers.items()} == dict.fromkeys(answers, 201), answers
