"""A request takes a pooled connection only when it needs one, and always gives it back.

A stock command by a caller the principal cache holds, who sees every organization, needs no
SQL before the group committer, which runs it on a connection of its own: it takes none, so it is
answered even while every connection of the pool is held elsewhere. A scoped caller (the access
check reads the warehouses' owners) and a caller the cache misses (the session lookup) take one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anyio
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from api.http.app import create_app
from api.runtime.pooling import WatchedPool
from tests.fixtures.api import Caller, api_settings
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db


@pytest.fixture
def small(api_db_url: str) -> Iterator[TestClient]:
    """An app of two pooled connections, waiting at most half a second for one, with a committer."""
    settings = api_settings(run_projectors=False, pool_size=2, pool_timeout=0.5, committers=1)
    with TestClient(create_app(settings, api_db_url)) as client:
        yield client


def _pool(client: TestClient) -> WatchedPool:
    pool: WatchedPool = client.app.state.pool  # type: ignore[attr-defined]
    return pool


def _taken(client: TestClient) -> int:
    return int(_pool(client).get_stats()["requests_num"])


def _creation(shop: Shop, quantity: str = "2") -> dict[str, Any]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
    }


def _forget_callers(client: TestClient) -> None:
    client.app.state.principals.clear()  # type: ignore[attr-defined]


def test_a_cached_all_seeing_caller_commands_with_every_pooled_connection_held(
    small: TestClient, shop: Shop, root: Caller
) -> None:
    pool = _pool(small)
    assert small.get("/users/me", headers=root.headers).status_code == 200  # now cached
    held = [pool.getconn(), pool.getconn()]
    try:
        before = _taken(small)
        answer = small.post("/transactions", json=_creation(shop), headers=root.headers)
        assert answer.status_code == 201, answer.text
        refused = small.post(
            "/transactions", json=_creation(shop) | {"part_id": str(shop.a)}, headers=root.headers
        )
        assert refused.status_code == 422, refused.text  # the ledger's refusal: no connection either
        assert _taken(small) == before
    finally:
        for conn in held:
            pool.putconn(conn)
    assert Decimal(answer.json()["transactions"][0]["quantity"]) == Decimal(2)


def test_a_scoped_caller_and_a_cache_miss_take_one_connection_and_give_it_back(
    small: TestClient, shop: Shop, root: Caller
) -> None:
    pool = _pool(small)
    assert small.get("/users/me", headers=shop.admin.headers).status_code == 200
    for caller in (shop.admin, root):
        _forget_callers(small)
        before = _taken(small)
        answer = small.post("/transactions", json=_creation(shop), headers=caller.headers)
        assert answer.status_code == 201, answer.text
        assert _taken(small) == before + 1, "one connection a request, for the lookup and the check"
    # Cached now: the scoped admin still takes one (the access check reads), the super_admin none.
    before = _taken(small)
    assert small.post("/transactions", json=_creation(shop), headers=shop.admin.headers).status_code == 201
    assert small.post("/transactions", json=_creation(shop), headers=root.headers).status_code == 201
    assert _taken(small) == before + 1
    assert pool.get_stats()["pool_available"] == 2, "a connection was not given back"


def test_a_scoped_caller_waits_for_a_connection_and_an_out_of_reach_one_is_still_refused(
    small: TestClient, shop: Shop, tenants: Any
) -> None:
    pool = _pool(small)
    stranger = tenants.user(tenants.organization(), "admin")
    held = [pool.getconn(), pool.getconn()]
    try:
        # The access check needs SQL: with no connection to be had, the request cannot be answered 201.
        waited = small.post("/transactions", json=_creation(shop), headers=shop.admin.headers)
        assert waited.status_code == 503, waited.text
    finally:
        for conn in held:
            pool.putconn(conn)
    refused = small.post("/transactions", json=_creation(shop), headers=stranger.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_warehouse")
    assert pool.get_stats()["pool_available"] == 2, "a refused request kept its connection"


def test_a_command_cancelled_while_the_committer_works_gives_its_connection_back(
    app: FastAPI, client: TestClient, shop: Shop, db: Conn, api_db_url: str
) -> None:
    pool: WatchedPool = app.state.pool
    body = json.dumps(_creation(shop)).encode()
    assert client.post("/transactions", json=_creation(shop), headers=shop.admin.headers).status_code == 201
    headers = [
        (b"authorization", shop.admin.headers["Authorization"].encode()),
        (b"content-type", b"application/json"),
    ]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/transactions",
        "raw_path": b"/transactions",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def cancelled() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(app, scope, receive, send)
            # The scoped admin's access check took a connection; the committer waits for the lock.
            await anyio.sleep(1.0)
            tasks.cancel_scope.cancel()

    with psycopg.connect(api_db_url) as blocker:
        blocker.execute(
            "SELECT 1 FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s FOR UPDATE",
            [shop.a, shop.part],
        )
        anyio.run(cancelled)
        assert sent == [], "the request was answered before it was cancelled: the test proves nothing"
        stats = pool.get_stats()
        assert stats["pool_available"] == stats["pool_size"], "the cancelled request kept its connection"
