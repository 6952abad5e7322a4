"""No leak across organizations: every endpoint, tried by the users of another customer, finds nothing.

The routes are read from the app itself, so an endpoint added later is tried
too: each path parameter is filled with the id of a resource of the victim
organization. A GET must answer 404 (or 403 where the role may not read that
kind at all); a list must not contain any of the victim's ids; a state-changing
request must change nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

pytestmark = pytest.mark.db
PUBLIC = {
    "/health",
    "/ready",
    "/metrics",
    "/token",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def victim_ids(client: TestClient, shop: Shop, db: Conn) -> tuple[dict[str, str], int]:
    """Resources of the victim organization, by the path parameter names that would address them,
    and the log position of the movement among them (for reads that must see it)."""
    moved = stock_in(client, shop, "3")
    order = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "1"}]}
    )
    assert order.status_code == 201
    ids = {
        "organization_id": str(shop.org),
        "user_id": str(shop.user.user_id),
        "warehouse_id": str(shop.a),
        "machine_id": str(shop.machine),
        "transaction_id": moved["transactions"][0]["id"],
        "order_id": order.json()["id"],
        "part_id": str(shop.part),  # parts are a shared catalog: readable by all
    }
    return ids, int(moved["position"])


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented operation (the OpenAPI document lists them all, however routers are nested)."""
    paths = app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() if p not in PUBLIC for m in ops]


def fill(path: str, ids: dict[str, str]) -> str | None:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return None if "{" in path else path


def test_every_endpoint_hides_another_organization(
    app: FastAPI, client: TestClient, tenants: Tenants, db: Conn
) -> None:
    victim, intruder = Shop(tenants, db), Shop(tenants, db)
    ids, _ = victim_ids(client, victim, db)
    secrets = {v for k, v in ids.items() if k != "part_id"}
    before = db.execute("SELECT count(*) FROM ledger_events").fetchone()
    leaks: list[str] = []
    tried = 0
    for caller in (intruder.user, intruder.admin):
        for method, template in routes(app):
            path = fill(template, ids)
            if path is None:
                continue
            tried += 1
            leaks += probe(client, caller, method, path, template, secrets)
    assert tried > 30
    assert leaks == []
    after = db.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert after == before, "a request of the intruder appended events"


def probe(
    client: TestClient, caller: Caller, method: str, path: str, template: str, secrets: set[str]
) -> list[str]:
    has_id = "{" in template and not template.endswith("{part_id}")
    body: dict[str, Any] = {}
    response = client.request(
        method,
        path,
        headers=caller.headers,
        json=body if method != "GET" else None,
        params={"limit": 500} if method == "GET" else None,
    )
    where = f"{caller.username} {method} {template} -> {response.status_code}"
    if response.status_code >= 500:
        return [f"{where}: server error"]
    if method == "GET" and has_id and response.status_code == 200:
        return [f"{where}: another organization's resource was served"]
    if method != "GET" and 200 <= response.status_code < 300 and has_id:
        return [f"{where}: another organization's resource was changed"]
    text = response.text
    shown = [s for s in secrets if s in text and s not in path]
    if response.status_code == 200 and shown:
        return [f"{where}: lists ids of another organization: {shown[:3]}"]
    return []


def test_the_probe_would_see_a_leak(client: TestClient, tenants: Tenants, db: Conn) -> None:
    # The same organization's own user must be served: otherwise the test above proves nothing.
    shop = Shop(tenants, db)
    ids, position = victim_ids(client, shop, db)
    # The transactions projection may not have the movement yet: wait for it (read-your-writes).
    own = client.get(
        f"/transactions/{ids['transaction_id']}",
        headers=shop.user.headers,
        params={"min_position": position},
    )
    assert own.status_code == 200
    assert (
        probe(
            client,
            shop.user,
            "GET",
            f"/transactions/{ids['transaction_id']}",
            "/transactions/{transaction_id}",
            {ids["transaction_id"]},
        )
        != []
    )
    listed = client.get("/transactions", headers=shop.user.headers, params={"limit": 500})
    assert ids["transaction_id"] in json.dumps(listed.json())
    assert uuid.UUID(ids["order_id"])
