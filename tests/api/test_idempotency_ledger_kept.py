"""Idempotency-Key on stock commands: the ledger alone keeps the key, every contract still holds.

The middleware neither claims nor stores anything for a stock command route; the ledger's record of
`<user id>:<key>` (the result, or the refusal, kept in the command's own transaction) answers the
retry, the same bytes with `idempotent-replay: true`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

import anyio
import psycopg
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


def kept(db: Conn, shop: Shop, key: str) -> tuple[bool, str | None]:
    """The ledger's row for the admin's key: whether it holds a result, and the refusal's code."""
    row = db.execute(
        "SELECT result IS NOT NULL, refusal->>'code' FROM ledger_idempotency WHERE key = %s",
        [f"{shop.admin.user_id}:{key}"],
    ).fetchone()
    assert row is not None, "the ledger kept nothing under the key"
    return bool(row[0]), row[1]


def events_noted(db: Conn, notes: str) -> int:
    row = db.execute("SELECT count(*) FROM ledger_events WHERE payload->>'notes' = %s", [notes]).fetchone()
    assert row is not None
    return int(row[0])


def creation(shop: Shop, quantity: str = "1") -> dict[str, str]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
        "notes": f"n-{uuid.uuid4().hex[:8]}",
    }


def test_a_success_is_kept_by_the_ledger_alone_and_its_retry_gets_the_same_bytes(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"kept-{uuid.uuid4()}", creation(shop, "2.000")
    first = send(client, shop, key, body)
    assert first.status_code == 201 and "idempotent-replay" not in first.headers, first.text
    assert claim_of(db, body) == []  # not even claimed: the ledger keeps it
    assert kept(db, shop, key) == (True, None)
    retry = send(client, shop, key, body)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.content == first.content
    for header in ("content-type", "content-length", "location"):
        assert retry.headers[header] == first.headers[header]
    assert events_noted(db, body["notes"]) == 1


def test_another_request_with_the_key_is_refused_on_any_route(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key, body = f"kept-{uuid.uuid4()}", creation(shop)
    first = send(client, shop, key, body)
    assert first.status_code == 201
    # Another command (the ledger's request hash), or another route (the middleware sees the ledger's key).
    for other_body, path in ((creation(shop, "3"), "/transactions"), ({}, "/logout"), ({}, "/warehouses")):
        other = send(client, shop, key, other_body, path)
        assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict", other.text
    retry = send(client, shop, key, body)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true"
    assert retry.content == first.content
    assert client.get("/users/me", headers=shop.admin.headers).status_code == 200  # not signed out


@pytest.mark.parametrize("committers", [0, 1, 2])
def test_a_twin_in_flight_waits_for_the_first_and_gets_its_answer(
    api_db_url: str, shop: Shop, db: Conn, committers: int
) -> None:
    """Formerly a 409 request_in_progress from the middleware's claim; now the ledger's replay.

    Both requests wait behind a lock on the stock level they move: the one that runs second (in
    the same batch, in the next one, or on a connection of its own (0 committers: both wait on the
    lock), failing on the key's row the first committed) gets the first's answer, and one
    movement is recorded.
    """
    settings = api_settings(committers=committers, run_projectors=False)
    with TestClient(create_app(settings, api_db_url)) as client:
        assert send(client, shop, f"in-{uuid.uuid4()}", creation(shop)).status_code == 201  # the level's row
        key, body = f"twin-{uuid.uuid4()}", creation(shop)
        answers: list[Any] = []
        with db.transaction():
            db.execute(
                "SELECT FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s FOR UPDATE",
                [shop.a, shop.part],
            )
            twins = [
                threading.Thread(target=lambda: answers.append(send(client, shop, key, body))) for _ in "ab"
            ]
            for twin in twins:
                twin.start()
            # Watched from a connection of its own: inside `db`'s transaction pg_stat_activity is the
            # snapshot taken at its first reading, and a twin that queued after it was never seen.
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            with psycopg.connect(api_db_url, autocommit=True) as watcher:
                deadline = time.monotonic() + 10
                while (row := watcher.execute(waiting).fetchone()) is None or row[0] < (
                    2 if committers == 0 else 1
                ):
                    assert time.monotonic() < deadline, "the twins never waited for the level's lock"
                    time.sleep(0.02)
            time.sleep(0.2)  # a committer's twin: queued behind it, or waiting on a connection of its own
        for twin in twins:
            twin.join()
    assert sorted(a.status_code for a in answers) == [201, 201], [a.text for a in answers]
    assert sorted(a.headers.get("idempotent-replay", "") for a in answers) == ["", "true"]
    assert answers[0].content == answers[1].content
    assert events_noted(db, body["notes"]) == 1


def test_a_refusal_of_a_stock_command_is_kept_by_the_ledger_and_replayed(
    api_db_url: str, shop: Shop, db: Conn
) -> None:
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
        assert "idempotent-replay" not in refused.headers
        assert send(client, shop, f"in-{uuid.uuid4()}", creation(shop, "10")).status_code == 201
        # The stock is there now: the same request is refused the same way all the same, byte for byte.
        retry = send(client, shop, key, take)
        assert retry.status_code == 409 and retry.headers["idempotent-replay"] == "true"
        assert retry.content == refused.content
        other = send(client, shop, key, take | {"quantity": "4"})
        assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict", other.text
        assert claim_of(db, take) == []
        assert kept(db, shop, key) == (False, "insufficient_stock")


def test_a_request_refused_before_the_ledger_is_not_kept(client: TestClient, shop: Shop, db: Conn) -> None:
    key, body = f"early-{uuid.uuid4()}", creation(shop)
    # A body that does not validate: the caller's to fix, and the fixed request runs under the same key.
    invalid = send(client, shop, key, body | {"quantity": "lots"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "validation_error", invalid.text
    fixed = send(client, shop, key, body)
    assert fixed.status_code == 201 and "idempotent-replay" not in fixed.headers, fixed.text
    assert events_noted(db, body["notes"]) == 1


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
