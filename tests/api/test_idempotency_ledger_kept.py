"""Idempotency-Key on stock commands: a success is kept by the ledger alone, every contract still holds.

The middleware stores no answer for a stock command it saw succeed (its claim stays); the ledger's
record of `<user id>:<key>` answers the retry. Refusals are stored by the middleware as before.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.http.app import create_app
from api.http.middleware.idempotency import IdempotencyMiddleware
from ledger.policy import NegativeStockPolicy
from tests.fixtures.api import api_settings
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db


def send(client: TestClient, shop: Shop, key: str, body: dict[str, Any], path: str = "/transactions") -> Any:
    """POST `body` as these exact bytes (the middleware's fingerprint is over them)."""
    headers = shop.admin.headers | {"Idempotency-Key": key, "Content-Type": "application/json"}
    return client.post(path, content=json.dumps(body).encode(), headers=headers)


def fingerprint(body: dict[str, Any], path: str = "/transactions") -> bytes:
    return hashlib.sha256(b"POST\0" + path.encode() + b"\0" + json.dumps(body).encode()).digest()


def claim_of(db: Conn, body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The middleware's rows for this request: (status_code, body) of each."""
    rows = db.execute(
        "SELECT status_code, body FROM api_idempotency WHERE fingerprint = %s", [fingerprint(body)]
    )
    return rows.fetchall()


def claimed_at(db: Conn, body: dict[str, Any], moment: str) -> None:
    """Move the request's claim to `moment` (SQL)."""
    update = f"UPDATE api_idempotency SET created_at = {moment} WHERE fingerprint = %s"
    db.execute(update, [fingerprint(body)])


def creation(shop: Shop, quantity: str = "1") -> dict[str, str]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
        "notes": f"n-{uuid.uuid4().hex[:8]}",
    }


def test_a_success_is_not_stored_and_its_retry_gets_the_same_bytes(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"kept-{uuid.uuid4()}", creation(shop, "2.000")
    first = send(client, shop, key, body)
    assert first.status_code == 201 and "idempotent-replay" not in first.headers, first.text
    assert claim_of(db, body) == [(None, None)]  # claimed, no answer stored: the ledger keeps it
    retry = send(client, shop, key, body)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.content == first.content
    for header in ("content-type", "content-length", "location"):
        assert retry.headers[header] == first.headers[header]
    events = db.execute("SELECT count(*) FROM ledger_events WHERE payload->>'notes' = %s", [body["notes"]])
    assert events.fetchone() == (1,)


def test_another_request_with_the_key_is_refused_however_old_the_claim(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"kept-{uuid.uuid4()}", creation(shop)
    first = send(client, shop, key, body)
    assert first.status_code == 201
    # Long past the takeover of a claim nobody answered: this one the ledger answered, so it stays.
    claimed_at(db, body, "now() - interval '1 hour'")
    for other_body, path in ((creation(shop, "3"), "/transactions"), ({}, "/logout")):
        other = send(client, shop, key, other_body, path)
        assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict", other.text
    retry = send(client, shop, key, body)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.content == first.content
    assert client.get("/users/me", headers=shop.admin.headers).status_code == 200  # not signed out


def test_a_twin_meets_the_claim_until_the_ledger_holds_the_result(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"twin-{uuid.uuid4()}", creation(shop)
    first = send(client, shop, key, body)
    assert first.status_code == 201
    # As if the first were still running: its claim there, the ledger's result not (yet) there.
    db.execute("DELETE FROM ledger_idempotency WHERE key = %s", [f"{shop.admin.user_id}:{key}"])
    twin = send(client, shop, key, body)
    assert twin.status_code == 409 and twin.json()["code"] == "request_in_progress"


def test_a_refusal_of_a_stock_command_is_stored_and_replayed(api_db_url: str, shop: Shop, db: Conn) -> None:
    settings = api_settings(negative_stock_policy=NegativeStockPolicy.REJECT, run_projectors=False)
    with TestClient(create_app(settings, api_db_url)) as client:
        key = f"short-{uuid.uuid4()}"
        take = {
            "transaction_type": "consumption",
            "part_id": str(shop.part),
            "from_warehouse_id": str(shop.a),
            "quantity": "5",
        }
        refused = send(client, shop, key, take)
        assert refused.status_code == 409 and refused.json()["code"] == "insufficient_stock", refused.text
        assert send(client, shop, f"in-{uuid.uuid4()}", creation(shop, "10")).status_code == 201
        retry = send(client, shop, key, take)
        assert retry.status_code == 409 and retry.headers["idempotent-replay"] == "true"
        assert retry.content == refused.content
        assert [status for status, _ in claim_of(db, take)] == [409]


def test_a_claim_left_by_a_crash_after_the_commit_is_answered_at_once(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"crash-{uuid.uuid4()}", creation(shop)
    first = send(client, shop, key, body)
    assert first.status_code == 201
    # A fresh claim with no answer, as a process killed after the ledger's commit leaves it.
    claimed_at(db, body, "now()")
    retry = send(client, shop, key, body)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.content == first.content


def test_a_key_with_a_nul_byte_is_claimed_like_any_other(
    client: TestClient, app: FastAPI, shop: Shop
) -> None:
    """No HTTP parser lets NUL through, but the middleware must not trip on one (text cannot hold it)."""
    statuses: list[int] = []

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    auth = shop.admin.headers["Authorization"].encode()
    headers = [(b"authorization", auth), (b"idempotency-key", f"nul-{uuid.uuid4()}\0".encode())]
    scope = {"type": "http", "method": "POST", "path": f"/nowhere-{uuid.uuid4()}", "headers": headers}
    middleware = IdempotencyMiddleware(handler, app.state.pool)
    for _ in range(2):
        anyio.run(middleware, {**scope, "state": {}}, receive, send)
    assert statuses == [201, 201]
