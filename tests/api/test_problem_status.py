"""Every problem body's `status` is the HTTP status (RFC 9457), whatever members the error carries."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.problems import RESERVED, ApiError, conflict, forbidden, not_found
from ledger.errors import LedgerError
from tests.fixtures.api import Tenants, api_settings
from tests.fixtures.shop import Shop, post

# Extras named like every reserved member: none of them may reach the body.
CLASHING: dict[str, Any] = {name: f"clash-{name}" for name in RESERVED}
# ApiError takes status, code and detail as its own parameters: the rest can come as extras.
API_CLASHING = {k: v for k, v in CLASHING.items() if k not in inspect.signature(ApiError).parameters}


def ledger_errors() -> list[type[LedgerError]]:
    """LedgerError and every subclass of it, however deep."""
    found: list[type[LedgerError]] = []
    todo = [LedgerError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return sorted(found, key=lambda k: k.__name__)


def construct(kind: type[LedgerError]) -> LedgerError:
    """An instance of `kind`: its required parameters filled in, every reserved name among its details."""
    required = [
        p
        for p in list(inspect.signature(kind.__init__).parameters.values())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return kind(*["refused" for _ in required], **CLASHING, order_id="kept")


@pytest.fixture(scope="module")
def raising() -> Iterator[tuple[FastAPI, TestClient]]:
    """The real app (its handlers, its middleware) plus a route raising whatever it is told to.

    No lifespan runs, so no database is needed: the handlers never touch it.
    """
    app = create_app(api_settings(), "postgresql://nobody@127.0.0.1:1/none")
    app.state.to_raise = None

    @app.get("/test-raise")
    def _raise() -> None:
        raise app.state.to_raise

    @app.get("/test-validate")
    def _validate(n: int) -> int:
        return n

    yield app, TestClient(app, raise_server_exceptions=False)


def test_the_enumeration_finds_the_ledger_errors() -> None:
    names = {k.__name__ for k in ledger_errors()}
    assert {"LedgerError", "InvalidOrderState", "InsufficientStock", "UnknownOrder"} <= names
    assert len(names) > 20


@pytest.mark.parametrize("kind", ledger_errors(), ids=lambda k: k.__name__)
def test_every_ledger_error_body_carries_the_http_status(
    raising: tuple[FastAPI, TestClient], kind: type[LedgerError]
) -> None:
    app, client = raising
    app.state.to_raise = construct(kind)
    response = client.get("/test-raise")
    body = response.json()
    assert 400 <= response.status_code < 500
    assert body["status"] == response.status_code
    assert body["code"] == kind.code and body["type"] == f"/problems/{kind.code}"
    assert body["detail"] == "refused"
    assert body["instance"].startswith("urn:request:")  # the request's, not the clashing extra
    assert body["order_id"] == "kept"  # other members still pass through


@pytest.mark.parametrize(
    "error",
    [
        ApiError(400, "bad", "bad", **API_CLASHING),
        ApiError(404, "not_found", "gone", headers={"X-Why": "test"}, **API_CLASHING),
        ApiError(422, "invalid_value", "no", **API_CLASHING),
        ApiError(503, "stale_read", "later", **API_CLASHING),
        conflict("invalid_organization", "clash", **API_CLASHING),
        not_found("part"),
        forbidden("not yours"),
    ],
    ids=lambda e: f"{e.status}-{e.code}",
)
def test_api_error_extras_cannot_replace_reserved_members(
    raising: tuple[FastAPI, TestClient], error: ApiError
) -> None:
    app, client = raising
    app.state.to_raise = error
    response = client.get("/test-raise")
    body = response.json()
    assert response.status_code == error.status == body["status"]
    assert (body["code"], body["detail"]) == (error.code, error.detail)
    assert body["type"] == f"/problems/{error.code}"
    assert body["instance"].startswith("urn:request:")
    assert set(body) <= RESERVED


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-path", 404),
        ("DELETE", "/health", 405),
        ("GET", "/test-validate?n=x", 422),
        ("POST", "/token", 503),  # no database behind this app: database_unavailable
    ],
)
def test_framework_errors_carry_the_http_status(
    raising: tuple[FastAPI, TestClient], method: str, path: str, status: int
) -> None:
    _, client = raising
    response = client.request(method, path)
    assert response.status_code == status == response.json()["status"]


def test_an_unexpected_error_carries_500(raising: tuple[FastAPI, TestClient]) -> None:
    app, client = raising
    app.state.to_raise = RuntimeError("bug")
    response = client.get("/test-raise")
    assert response.status_code == 500 == response.json()["status"]


@pytest.mark.db
def test_invalid_order_state_names_the_order_state_apart_from_the_status(
    client: TestClient, tenants: Tenants, shop: Shop
) -> None:
    admin = tenants.user(tenants.oraseas_id, "admin")
    oid = post(
        client, shop.user, "/customer-orders", {"items": [{"part_id": str(shop.part), "quantity": "1"}]}
    ).json()["id"]
    assert post(client, admin, f"/customer-orders/{oid}/cancel", {}).status_code == 201
    refused = post(client, admin, f"/customer-orders/{oid}/confirm", {})
    body = refused.json()
    assert (refused.status_code, body["code"]) == (409, "invalid_order_state")
    assert body["status"] == 409 and body["order_status"] == "cancelled"
    assert body["order_id"] == oid
