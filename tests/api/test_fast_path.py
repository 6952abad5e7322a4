"""POST /transactions' fast path: the common request answered without FastAPI's handler, the same bytes.

Every request the fast path does not answer itself reaches the FastAPI route (counted here by
wrapping its `fallback`) with its body intact, and gets the answer it always got.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.http.app import create_app
from api.http.middleware.bodies import PARSED_BODY, _first_unstorable, parsed_body
from api.http.stock.fast_path import FastTransactions
from tests.fixtures.api import Caller, api_settings
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db


class Counted:
    """The FastAPI route's app, counting the requests the fast path hands it."""

    def __init__(self, fast: FastTransactions) -> None:
        self.app, self.calls = fast.fallback, 0
        fast.fallback = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture
def fast(api_db_url: str) -> Iterator[tuple[TestClient, Counted]]:
    """An app of its own (one committer, no projectors) and its fast path's fallback, counted."""
    app = create_app(api_settings(run_projectors=False, committers=1), api_db_url)
    found = [getattr(r, "app", None) for r in app.router.routes]
    found = [a for a in found if isinstance(a, FastTransactions)]
    assert len(found) == 1 and isinstance(found[0], FastTransactions)
    with TestClient(app) as client:
        yield client, Counted(found[0])


def _creation(shop: Shop, quantity: str = "2") -> dict[str, Any]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
    }


def _headers(answer: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in answer.headers.items() if k != "x-request-id"]


def _forget_callers(client: TestClient) -> None:
    client.app.state.principals.clear()  # type: ignore[attr-defined]


def test_the_fast_answer_is_the_routes_byte_for_byte(
    fast: tuple[TestClient, Counted], shop: Shop, root: Caller
) -> None:
    client, fallback = fast
    keyed = root.headers | {"Idempotency-Key": "fast-1"}
    _forget_callers(client)
    slow = client.post("/transactions", json=_creation(shop), headers=keyed)  # a cache miss: the route
    assert (slow.status_code, fallback.calls) == (201, 1), slow.text
    replayed = client.post("/transactions", json=_creation(shop), headers=keyed)  # cached now: fast
    assert fallback.calls == 1
    _forget_callers(client)
    replayed_slow = client.post("/transactions", json=_creation(shop), headers=keyed)
    assert fallback.calls == 2
    assert replayed.status_code == replayed_slow.status_code == 201
    assert replayed.content == replayed_slow.content == slow.content
    assert _headers(replayed) == _headers(replayed_slow)
    assert ("idempotent-replay", "true") in _headers(replayed)
    fresh = client.post("/transactions", json=_creation(shop), headers=root.headers)
    assert fallback.calls == 2
    assert [k for k, _ in _headers(fresh)] == [k for k, _ in _headers(slow)]
    assert [k for k, _ in _headers(fresh)] == ["content-length", "content-type", "location"]
    moved = fresh.json()["transactions"][0]
    assert fresh.headers["location"] == f"/transactions/{moved['id']}"
    assert moved["quantity"] == "2" and moved["transaction_type"] == "creation"


def test_a_ledger_refusal_on_the_fast_path_is_its_problem_answer(
    fast: tuple[TestClient, Counted], shop: Shop, root: Caller
) -> None:
    client, fallback = fast
    client.post("/transactions", json=_creation(shop), headers=root.headers)
    calls = fallback.calls
    # A warehouse's id as the part's: the ledger finds no such part.
    refused = client.post(
        "/transactions", json=_creation(shop) | {"part_id": str(shop.a)}, headers=root.headers
    )
    assert fallback.calls == calls
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "unknown_part"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda body, headers: (b"{not json", headers), 400),
        (lambda body, headers: (json.dumps(body | {"quantity": "x"}).encode(), headers), 422),
        (lambda body, headers: (json.dumps(body | {"unknown": 1}).encode(), headers), 422),
        (lambda body, headers: (json.dumps([body]).encode(), headers), 422),
        (lambda body, headers: (json.dumps(body).encode(), {"Content-Type": "application/json"}), 401),
        (
            lambda body, headers: (
                json.dumps(body).encode(),
                [("Authorization", "Basic eDp5"), *headers.items()],
            ),
            401,
        ),
        (lambda body, headers: (json.dumps(body).encode(), headers | {"Idempotency-Key": "k" * 201}), 422),
        (lambda body, headers: (json.dumps(body).encode(), headers | {"X-Request-ID": "r" * 201}), 422),
        (lambda body, headers: (json.dumps(body).encode(), headers | {"Content-Type": "text/plain"}), 422),
        (
            lambda body, headers: (
                json.dumps(body | {"from_warehouse_id": body["to_warehouse_id"]}).encode(),
                headers,
            ),
            422,
        ),
    ],
    ids=[
        "broken-json",
        "bad-quantity",
        "extra-field",
        "not-an-object",
        "no-token",
        "basic-then-bearer",
        "long-key",
        "long-request-id",
        "not-json",
        "creation-with-source",
    ],
)
def test_what_the_fast_path_does_not_answer_gets_the_routes_answer(
    fast: tuple[TestClient, Counted], shop: Shop, root: Caller, change: Any, status: int
) -> None:
    client, fallback = fast
    client.post("/transactions", json=_creation(shop), headers=root.headers)  # the caller cached
    calls = fallback.calls
    content, headers = change(_creation(shop), root.headers | {"Content-Type": "application/json"})
    answer = client.post("/transactions", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert fallback.calls == calls + 1
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_caller_limited_to_some_organizations_is_checked_by_the_route(
    fast: tuple[TestClient, Counted], shop: Shop
) -> None:
    client, fallback = fast
    first = client.post("/transactions", json=_creation(shop), headers=shop.admin.headers)
    assert first.status_code == 201, first.text
    again = client.post("/transactions", json=_creation(shop), headers=shop.admin.headers)
    assert again.status_code == 201, again.text
    assert fallback.calls == 2  # the access check reads the warehouses' owners: the route's hop


def test_the_storable_text_checks_parse_is_the_fast_paths() -> None:
    body = json.dumps({"quantity": "1"}).encode()
    scope: dict[str, Any] = {}
    assert _first_unstorable(body, scope) is None
    assert parsed_body(scope, body) is scope[PARSED_BODY][1]  # parsed once
    other = json.dumps({"quantity": "2"}).encode()
    assert parsed_body(scope, other) == {"quantity": "2"}  # another body: its own
    assert parsed_body({}, body) == {"quantity": "1"}
    with pytest.raises(ValueError):
        parsed_body({}, b"{not json")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"notes": "a\\u0000b"}', "/notes"),  # an escaped NUL
        (b'{"notes": "a\\ud800"}', "/notes"),  # an escaped lone surrogate
        (b'{"notes": "a\xed\xa0\x80"}', "/notes"),  # UTF-8 form (json: surrogatepass)
        ('{"notes": "a\\u0000"}'.encode("utf-16"), "/notes"),  # UTF-16: NUL bytes throughout
        (b'{"a\\u0000": 1}', ""),  # in a key
    ],
)
def test_the_quick_look_before_the_walk_never_lets_unstorable_text_by(body: bytes, where: str) -> None:
    found = _first_unstorable(body, {})
    assert found is not None and found[0] == where


def test_a_body_without_escapes_is_storable_without_the_walk() -> None:
    assert _first_unstorable('{"notes": "plain text, \u00e9\u6f22"}'.encode(), {}) is None
