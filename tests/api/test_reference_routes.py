"""The reference routes made from a table (api/http/reference/routing.py), over HTTP and in the document.

The table's routes must be the ones the hand-written routes were: the same operation ids and path
parameter names in the OpenAPI document, the id refused by its own name, and each is_active route
setting the value its name says (the resources' rules are in test_reference.py and test_directory.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants, api_settings
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db

# (collection, one of them, the routes besides read/create/change as (method, path suffix, name))
RESOURCES = [
    ("machines", "machine", []),
    ("parts", "part", []),
    ("organizations", "organization", [("delete", "", "deactivate")]),
    ("warehouses", "warehouse", [("post", "/deactivate", "deactivate"), ("post", "/activate", "activate")]),
]


def _document() -> dict[str, Any]:
    return create_app(api_settings(), "postgresql://x@127.0.0.1/x").openapi()


@pytest.mark.parametrize(("path", "one", "extra"), RESOURCES)
def test_the_document_keeps_the_hand_written_names(path: str, one: str, extra: list[tuple[str, ...]]) -> None:
    paths = _document()["paths"]
    item = f"/{path}/{{{one}_id}}"
    routes = [("get", "", "get"), ("patch", "", "change"), *extra]
    for method, suffix, name in routes:
        operation = paths[item + suffix][method]
        route_path = (item + suffix).strip("/").replace("/", "_").replace("{", "_").replace("}", "_")
        assert operation["operationId"] == f"{name}_{one}_{route_path}_{method}"
        assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
            (f"{one}_id", "path", True)
        ]
        assert operation["parameters"][0]["schema"] == {
            "type": "string",
            "format": "uuid",
            "title": f"{one.title()} Id",
        }
    created = paths[f"/{path}"]["post"]
    assert created["operationId"] == f"create_{one}_{path}_post"
    assert set(created["responses"]) >= {"201"} and "200" not in created["responses"]


@pytest.mark.parametrize("path", ["machines", "parts", "organizations", "warehouses"])
def test_a_bad_id_is_refused_by_its_own_name(client: TestClient, root: Caller, path: str) -> None:
    refused = client.get(f"/{path}/not-an-id", headers=root.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert [e["loc"] for e in refused.json()["errors"]] == [["path", f"{path[:-1]}_id"]]


def test_a_warehouse_is_deactivated_and_activated_again(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db)
    off = client.post(f"/warehouses/{shop.a}/deactivate", headers=shop.admin.headers)
    assert (off.status_code, off.json()["is_active"]) == (200, False)
    on = client.post(f"/warehouses/{shop.a}/activate", headers=shop.admin.headers)
    assert (on.status_code, on.json()["is_active"]) == (200, True)
    assert client.get(f"/warehouses/{shop.a}", headers=shop.user.headers).json()["is_active"] is True
    refused = client.post(f"/warehouses/{shop.a}/activate", headers=shop.user.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
