"""Idempotency-Key under pressure: kept before it is sent, one connection a request, per user, pruned."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.http.app import create_app
from api.http.middleware.idempotency import HELD_CONNECTION, IdempotencyMiddleware
from tests.fixtures.api import Tenants, api_settings
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db


def creation(shop: Shop, quantity: str = "1") -> dict[str, str]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
    }


async def answer(app: FastAPI, scope: Scope, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The whole answer of `app` to the request `scope` with `body`, called directly."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app({**scope, "state": {}}, receive, send)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in started["headers"]}
    return started["status"], headers, b"".join(chunks)


def test_a_retry_sent_the_moment_the_answer_starts_gets_that_answer(
    client: TestClient, app: FastAPI, shop: Shop
) -> None:
    body = json.dumps(creation(shop)).encode()
    retries: list[tuple[int, dict[str, str], bytes]] = []

    async def racing(scope: Scope, receive: Receive, send: Send) -> None:
        """The app, with the same request sent again as soon as the first answer's headers leave."""
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not retries:
                retries.append(await answer(app, scope, body))
            await send(message)

        await app(scope, receive, on_send)

    headers = shop.admin.headers | {
        "Idempotency-Key": f"race-{uuid.uuid4()}",
        "Content-Type": "application/json",
    }
    first = TestClient(racing).post("/transactions", content=body, headers=headers)
    assert first.status_code == 201, first.text
    status, retry_headers, retry_body = retries[0]
    assert status == 201, retry_body
    assert retry_headers["idempotent-replay"] == "true"
    assert json.loads(retry_body) == first.json()


def test_a_key_belongs_to_the_user_across_sign_ins(client: TestClient, tenants: Tenants, shop: Shop) -> None:
    body = {"name": f"depot-{uuid.uuid4().hex[:8]}"}
    key = {"Idempotency-Key": f"wh-{uuid.uuid4()}"}
    first = post(client, shop.admin, "/warehouses", body, **key)
    assert first.status_code == 201, first.text
    again = tenants.sign_in(shop.admin.username, shop.admin.user_id, shop.admin.organization_id)
    assert again.headers != shop.admin.headers
    retry = post(client, again, "/warehouses", body, **key)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replay"] == "true" and retry.json() == first.json()
    count = tenants.conn.execute(
        "SELECT count(*) FROM warehouses WHERE organization_id = %s AND name = %s", [shop.org, body["name"]]
    ).fetchone()
    assert count == (1,)


def test_another_user_with_the_same_key_is_not_given_the_answer(
    client: TestClient, tenants: Tenants, shop: Shop
) -> None:
    key = {"Idempotency-Key": f"wh-{uuid.uuid4()}"}
    mine = post(client, shop.admin, "/warehouses", {"name": f"m-{uuid.uuid4().hex[:8]}"}, **key)
    theirs = Shop(tenants, tenants.conn)
    other = post(client, theirs.admin, "/warehouses", {"name": f"t-{uuid.uuid4().hex[:8]}"}, **key)
    assert mine.status_code == other.status_code == 201
    assert "idempotent-replay" not in other.headers and other.json()["id"] != mine.json()["id"]


def test_a_replay_is_told_by_the_header_and_the_body_never_says_otherwise(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    key = {"Idempotency-Key": f"r-{uuid.uuid4()}"}
    first = post(client, shop.admin, "/transactions", creation(shop), **key)
    retry = post(client, shop.admin, "/transactions", creation(shop), **key)
    assert first.status_code == retry.status_code == 201
    assert "idempotent-replay" not in first.headers and "replayed" not in first.json()
    assert retry.headers["idempotent-replay"] == "true" and retry.json() == first.json()
    # The HTTP record lost (a process died before keeping it): the ledger's own replay says so alike.
    db.execute("DELETE FROM api_idempotency")
    lost = post(client, shop.admin, "/transactions", creation(shop), **key)
    assert lost.status_code == 201 and lost.headers["idempotent-replay"] == "true"
    assert lost.json()["transactions"] == first.json()["transactions"] and "replayed" not in lost.json()


def test_a_keyed_request_takes_one_pooled_connection_like_an_unkeyed_one(
    client: TestClient, app: FastAPI, shop: Shop
) -> None:
    pool = app.state.pool

    def connections_taken(**headers: str) -> int:
        before = pool.get_stats()["requests_num"]
        response = post(client, shop.admin, "/transactions", creation(shop), **headers)
        assert response.status_code == 201, response.text
        taken: int = pool.get_stats()["requests_num"] - before
        return taken

    unkeyed = connections_taken()
    keyed = connections_taken(**{"Idempotency-Key": f"one-{uuid.uuid4()}"})
    assert keyed == unkeyed == 1


def test_concurrent_keyed_requests_on_a_small_pool_never_answer_503(
    client: TestClient, api_db_url: str, shop: Shop
) -> None:
    small = create_app(api_settings(pool_size=4, pool_timeout=1.0, run_projectors=False), api_db_url)
    statuses: list[int] = []
    lock = threading.Lock()

    def caller(n: int, c: TestClient) -> None:
        for i in range(4):
            headers = shop.admin.headers | {"Idempotency-Key": f"small-{n}-{i}-{uuid.uuid4()}"}
            response = c.post("/transactions", json=creation(shop), headers=headers)
            with lock:
                statuses.append(response.status_code)

    with TestClient(small) as c:
        threads = [threading.Thread(target=caller, args=(n, c)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [201] * 64


def test_an_answer_that_cannot_be_kept_is_a_503_and_the_retry_gets_the_answer(
    client: TestClient, shop: Shop, db: Conn
) -> None:
    name = f"lost-{uuid.uuid4().hex[:8]}"
    # The database connection dies as the answer naming `name` is being kept (after the route committed).
    db.execute(
        "CREATE FUNCTION test_lose_answer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF position('{name}' in convert_from(NEW.body, 'UTF8')) > 0 THEN"
        " PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER test_lose_answer BEFORE UPDATE ON api_idempotency"
        " FOR EACH ROW EXECUTE FUNCTION test_lose_answer()"
    )
    key = {"Idempotency-Key": f"lost-{uuid.uuid4()}"}
    try:
        first = post(client, shop.admin, "/warehouses", {"name": name}, **key)
    finally:
        db.execute("DROP TRIGGER test_lose_answer ON api_idempotency; DROP FUNCTION test_lose_answer()")
    assert first.status_code == 503 and first.json()["code"] == "database_unavailable"
    retry = post(client, shop.admin, "/warehouses", {"name": name}, **key)
    assert retry.status_code == 201 and retry.headers["idempotent-replay"] == "true", retry.text
    count = db.execute(
        "SELECT count(*) FROM warehouses WHERE organization_id = %s AND name = %s", [shop.org, name]
    ).fetchone()
    assert count == (1,)


def test_a_keyed_request_cancelled_midway_releases_its_key_and_its_connection(
    client: TestClient, app: FastAPI, shop: Shop, db: Conn
) -> None:
    pool = app.state.pool
    path = f"/nowhere-{uuid.uuid4()}"

    async def cancelled() -> None:
        started = anyio.Event()

        async def handler(scope: Scope, receive: Receive, send: Send) -> None:
            assert scope["state"][HELD_CONNECTION] is not None
            started.set()
            await anyio.sleep_forever()

        async def receive() -> Message:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Message) -> None:
            raise AssertionError(f"nothing is sent to a client gone: {message}")

        auth = shop.admin.headers["Authorization"].encode()
        headers = [(b"authorization", auth), (b"idempotency-key", b"gone")]
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(IdempotencyMiddleware(handler, pool), scope, receive, send)
            await started.wait()
            tasks.cancel_scope.cancel()

    anyio.run(cancelled)
    stats = pool.get_stats()
    assert stats["pool_available"] == stats["pool_size"]
    fingerprint = hashlib.sha256(b"POST\0" + path.encode() + b"\0{}").digest()
    left = db.execute("SELECT count(*) FROM api_idempotency WHERE fingerprint = %s", [fingerprint])
    assert left.fetchone() == (0,)


def test_a_claim_is_taken_over_only_once_its_request_cannot_be_running() -> None:
    from api.http.app import create_app
    from api.runtime.settings import Settings

    # A request may hold its connection database_timeout, a read read_wait_timeout longer.
    settings = Settings(database_timeout=30.0, read_wait_timeout=10.0)
    app = create_app(settings, "postgresql://nobody@127.0.0.1:1/none")
    [kwargs] = [m.kwargs for m in app.user_middleware if "takeover" in m.kwargs]
    assert kwargs["takeover"] == 45.0
