"""POST /transactions' entrance (api/http/stock/fast_path.py's FastEntrance): past the inner layers.

The common request is answered just inside RequestMiddleware, with its request id, latency and
access line; everything else goes through every layer the app has, as before (the layers behind
the entrance counted here by wrapping them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.app import create_app
from api.http.middleware.requests import RequestMiddleware
from api.http.stock.fast_path import FastEntrance
from tests.fixtures.api import Caller, api_settings
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db


class Layers:
    """The layers behind the entrance, counting the requests it hands them."""

    def __init__(self, entrance: FastEntrance) -> None:
        self.app: ASGIApp = entrance.app
        self.calls = 0
        entrance.app = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def _entrance(app: Any) -> tuple[RequestMiddleware, FastEntrance]:
    layer = app.middleware_stack
    while not isinstance(layer, RequestMiddleware):
        layer = layer.app
    assert isinstance(layer.app, FastEntrance)  # right inside the request id, latency and access line
    return layer, layer.app


@pytest.fixture
def entered(api_db_url: str) -> Iterator[tuple[TestClient, Layers, RequestMiddleware]]:
    app = create_app(api_settings(run_projectors=False, committers=1), api_db_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/health")  # the middleware stack is built on the first request
        requests, entrance = _entrance(app)
        yield client, Layers(entrance), requests


def _creation(shop: Shop) -> dict[str, Any]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": "2",
    }


def test_the_common_request_skips_the_inner_layers_and_keeps_its_id_latency_and_access_line(
    entered: tuple[TestClient, Layers, RequestMiddleware],
    shop: Shop,
    root: Caller,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, layers, requests = entered
    client.post("/transactions", json=_creation(shop), headers=root.headers)  # the caller cached
    calls = layers.calls
    with caplog.at_level(logging.DEBUG, logger="abparts.access"):
        answer = client.post(
            "/transactions", json=_creation(shop), headers=root.headers | {"X-Request-ID": "rid-1"}
        )
    assert answer.status_code == 201, answer.text
    assert layers.calls == calls
    assert answer.headers["x-request-id"] == "rid-1"
    assert answer.headers["location"].startswith("/transactions/")
    assert requests.children[("POST", "/transactions", 201)]._sum.get() > 0  # under its route's label
    lines = [
        r
        for r in caplog.records
        if r.name == "abparts.access" and getattr(r, "route", None) == "/transactions"
    ]
    assert [(r.status, r.getMessage()) for r in lines] == [(201, "POST /transactions 201")]  # type: ignore[attr-defined]
    assert lines[0].request_id == "rid-1"  # type: ignore[attr-defined]
    other = client.get("/health")
    assert other.status_code == 200 and layers.calls == calls + 1  # any other request: every layer


def test_unstorable_text_and_a_trailing_slash_go_through_every_layer(
    entered: tuple[TestClient, Layers, RequestMiddleware], shop: Shop, root: Caller
) -> None:
    client, layers, _ = entered
    client.post("/transactions", json=_creation(shop), headers=root.headers)
    calls = layers.calls
    nul = client.post("/transactions", json=_creation(shop) | {"notes": "a\u0000b"}, headers=root.headers)
    assert nul.status_code == 422 and nul.json()["code"] == "invalid_text", nul.text
    assert layers.calls == calls + 1
    slash = client.post("/transactions/", json=_creation(shop), headers=root.headers, follow_redirects=False)
    assert slash.status_code == 307 and layers.calls == calls + 2  # the router's redirect


def test_what_the_command_raises_gets_the_apps_handlers_answer(
    entered: tuple[TestClient, Layers, RequestMiddleware], shop: Shop, root: Caller
) -> None:
    client, layers, requests = entered
    client.post("/transactions", json=_creation(shop), headers=root.headers)
    calls = layers.calls
    refused = client.post(
        "/transactions", json=_creation(shop) | {"part_id": str(shop.a)}, headers=root.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_part")
    assert refused.headers["content-type"] == "application/problem+json" and "x-request-id" in refused.headers
    client.app.state.committer.close()  # type: ignore[attr-defined]
    stopping = client.post("/transactions", json=_creation(shop), headers=root.headers)
    assert (stopping.status_code, stopping.json()["code"]) == (503, "shutting_down"), stopping.text
    assert stopping.headers["retry-after"] == "1"
    assert layers.calls == calls
    assert ("POST", "/transactions", 503) in requests.children
