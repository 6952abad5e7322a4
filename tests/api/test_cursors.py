"""Cursors are typed client input: a well-formed cursor of the wrong types is a 422, a real one pages on."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection
from tests.fixtures.api import Caller
from tests.fixtures.shop import Shop, stock_in

pytestmark = pytest.mark.db
Conn = Connection
ID = str(uuid.uuid4())


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/inventory", [1, 2]),  # numbers where the SQL casts to uuid[]: a cast error before
        ("/inventory", ["x", "y"]),
        ("/transactions", [1, 2]),
        ("/transactions", ["x", ID]),  # not a moment: an invalid_value from the database before
        ("/transactions", [1700000000, ID]),  # a number is not a moment either
        ("/transactions", ["2024-01-01T00:00:00", ID]),  # a moment without its offset
        ("/transactions", ["0001-01-01T00:00:00+14:00", ID]),  # before year 1 in UTC
        ("/part-usage", [None, ID]),
        ("/customer-orders", [True, ID]),
        ("/users", [1, 2]),
        ("/users", ["\ud800", ID]),  # a lone surrogate psycopg cannot encode: a 500 before
        ("/warehouses", ["a\u0000", ID]),  # NUL: no name holds one
        ("/parts", ["P-1", "not-an-id"]),
        ("/organizations", [["nested"], ID]),
        ("/machines", {"name": "x", "id": ID}),
        ("/ledger/events", [1]),  # the raw log's cursor is a position, not JSON
    ],
)
def test_a_cursor_of_the_wrong_types_is_invalid_cursor(
    client: TestClient, root: Caller, path: str, key: Any
) -> None:
    response = client.get(path, params={"cursor": b64(key)}, headers=root.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"


def _walk(client: TestClient, caller: Caller, path: str, **query: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = query | {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = client.get(path, params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        seen += [json.dumps(item, sort_keys=True) for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen


def test_every_kind_of_key_round_trips_through_its_cursor(client: TestClient, shop: Shop) -> None:
    # (warehouse, part), (moment, id) and (name, id) keys: what a page hands out decodes again.
    last = [stock_in(client, shop, "1", warehouse) for warehouse in (shop.a, shop.b, shop.a)][-1]
    inventory = _walk(client, shop.admin, "/inventory", min_position=last["position"])
    transactions = _walk(client, shop.admin, "/transactions", min_position=last["position"])
    users = _walk(client, shop.admin, "/users")
    assert (len(inventory), len(transactions), len(users)) == (2, 3, 2)
    assert len(set(inventory + transactions + users)) == 7
