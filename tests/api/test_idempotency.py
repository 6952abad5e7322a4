"""Idempotency-Key on any state-changing request: per caller, per request, first answer kept."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Tenants
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db


def test_a_key_is_the_callers_own(client: TestClient, tenants: Tenants, db: Conn) -> None:
    mine, theirs = Shop(tenants, db), Shop(tenants, db)
    for shop in (mine, theirs):
        body = {
            "transaction_type": "creation",
            "part_id": str(shop.part),
            "to_warehouse_id": str(shop.a),
            "quantity": "1",
        }
        response = post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "shared-key"})
        assert response.status_code == 201 and "idempotent-replay" not in response.headers


def test_the_same_key_on_another_path_is_refused(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    body = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "1",
    }
    assert post(client, shop.admin, "/transactions", body, **{"Idempotency-Key": "k"}).status_code == 201
    other = client.post("/logout", headers=shop.admin.headers | {"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"


def test_a_refusal_is_kept_too_and_a_server_error_is_not(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db)
    body = {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "-1",
    }
    raw = json.dumps(body).encode()
    headers = shop.admin.headers | {"Idempotency-Key": "bad", "Content-Type": "application/json"}
    first = client.post("/transactions", content=raw, headers=headers)
    again = client.post("/transactions", content=raw, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.headers["idempotent-replay"] == "true" and again.json() == first.json()
    # A stock command's refusal is kept by the ledger, in its own transaction; the middleware keeps
    # nothing for these routes (not even a claim, which a retry would meet as 409 request_in_progress).
    fingerprint = hashlib.sha256(b"POST\0/transactions\0" + raw).digest()
    rows = db.execute("SELECT status_code FROM api_idempotency WHERE fingerprint = %s", [fingerprint])
    assert rows.fetchall() == []
    ledger_key = f"{shop.admin.user_id}:bad"
    rows = db.execute("SELECT refusal->>'code' FROM ledger_idempotency WHERE key = %s", [ledger_key])
    assert rows.fetchall() == [("invalid_quantity",)]
    # Any other route's refusal is kept by the middleware.
    other = {"name": ""}
    headers = shop.admin.headers | {"Idempotency-Key": "bad-wh"}
    refused = client.post("/warehouses", json=other, headers=headers)
    retried = client.post("/warehouses", json=other, headers=headers)
    assert (
        refused.status_code == retried.status_code == 422 and retried.headers["idempotent-replay"] == "true"
    )
    fingerprint = hashlib.sha256(b"POST\0/warehouses\0" + refused.request.content).digest()
    rows = db.execute("SELECT status_code FROM api_idempotency WHERE fingerprint = %s", [fingerprint])
    assert rows.fetchall() == [(422,)]
