"""The docs as a client reads them: problem codes per operation, examples, /problems/{code}, 400s.

No lifespan runs for the document and the problem pages: they need no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.ops.problem_codes import catalogue
from ledger.errors import InsufficientStock, UnknownOrder
from tests.api.test_problem_status import ledger_errors
from tests.fixtures.api import api_settings
from tests.fixtures.shop import Shop, post


@pytest.fixture(scope="module")
def offline() -> Iterator[TestClient]:
    """The real app without its lifespan (no pool, no projectors)."""
    app = create_app(api_settings(), "postgresql://nobody@127.0.0.1:1/none")
    yield TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def document(offline: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = offline.get("/openapi.json").json()
    return body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def problem_codes(op: dict[str, Any]) -> dict[str, set[str]]:
    """The codes an operation lists, by status, from its examples."""
    return {
        status: set(response["content"]["application/problem+json"]["examples"])
        for status, response in op["responses"].items()
        if "application/problem+json" in response.get("content", {})
    }


def test_every_operation_lists_its_codes_each_with_an_example(document: dict[str, Any]) -> None:
    every = catalogue()
    for path, method, op in operations(document):
        listed = problem_codes(op)
        assert "503" in listed and "database_unavailable" in listed["503"], (method, path)
        for status, codes in listed.items():
            for code in codes:
                example = op["responses"][status]["content"]["application/problem+json"]["examples"][code]
                assert example["value"]["code"] == code and example["value"]["status"] == int(status)
                assert every[code].status == int(status), (method, path, code)


def test_the_codes_come_from_the_errors_an_operation_can_raise(document: dict[str, Any]) -> None:
    transactions = problem_codes(document["paths"]["/transactions"]["post"])
    assert {"insufficient_stock", "concurrency_conflict"} <= transactions["409"]
    assert {"unknown_part", "validation_error", "invalid_quantity"} <= transactions["422"]
    assert transactions["400"] == {"malformed_json"} and "not_authenticated" in transactions["401"]
    orders = problem_codes(document["paths"]["/customer-orders/{order_id}/ship"]["post"])
    assert "invalid_order_state" in orders["409"] and "unknown_order" in orders["404"]
    parts = problem_codes(document["paths"]["/parts"]["post"])
    assert "part_number_taken" in parts["409"] and "insufficient_stock" not in parts.get("409", set())
    health = problem_codes(document["paths"]["/health"]["get"])
    assert "401" not in health and "400" not in health  # public, and without a body


def test_only_the_writes_the_middleware_claims_list_request_in_progress(document: dict[str, Any]) -> None:
    # The stock command routes' keys are the ledger's alone: a twin in flight waits, never a 409.
    for path in ("/transactions", "/transactions/{transaction_id}/approve", "/stocktakes", "/part-usage"):
        listed = problem_codes(document["paths"][path]["post"])
        assert "request_in_progress" not in listed.get("409", set()), path
        assert "idempotency_conflict" in listed["422"], path
    for path in ("/customer-orders/{order_id}/ship", "/parts"):
        assert "request_in_progress" in problem_codes(document["paths"][path]["post"])["409"], path


def test_every_command_has_request_and_response_examples(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert body.get("example") is not None, (method, path)
        for status, response in op["responses"].items():
            if status.startswith("2") and "application/json" in response.get("content", {}):
                assert "example" in response["content"]["application/json"], (method, path, status)
    transaction = document["paths"]["/transactions"]["post"]["requestBody"]["content"]["application/json"]
    assert transaction["example"]["quantity"] == "1.000"  # a Decimal, as the exact string


def test_every_code_has_a_page(offline: TestClient) -> None:
    codes = {kind.code for kind in ledger_errors()} - {"ledger_error"}
    codes |= {"validation_error", "malformed_json", "not_authenticated", "database_unavailable"}
    for code in codes:
        answer = offline.get(f"/problems/{code}")
        assert answer.status_code == 200, code
        assert answer.json()["code"] == code and answer.json()["type"] == f"/problems/{code}"
    assert offline.get(f"/problems/{InsufficientStock.code}").json()["status"] == 409
    assert offline.get(f"/problems/{UnknownOrder.code}").json()["description"] == "No order has that id."


def test_a_browser_gets_the_page_as_html_and_an_unknown_code_is_a_404(offline: TestClient) -> None:
    page = offline.get("/problems/insufficient_stock", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Insufficient stock</h1>" in page.text and str(InsufficientStock.__doc__) in page.text
    missing = offline.get("/problems/no_such_code")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_problem_carries_its_request_as_instance(offline: TestClient) -> None:
    refused = offline.get("/problems/no_such_code", headers={"X-Request-ID": "req-42"})
    assert refused.json()["instance"] == "urn:request:req-42"
    made_up = offline.get("/problems/no_such_code")
    assert made_up.json()["instance"] == f"urn:request:{made_up.headers['x-request-id']}"


@pytest.mark.db
def test_a_body_that_is_not_json_is_a_400_malformed_json(client: TestClient, shop: Shop) -> None:
    for broken in (b'{"transaction_type": "creation",', b"not json", b'{"a": 1}}'):
        answer = client.post(
            "/transactions", content=broken, headers=shop.admin.headers | {"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, broken
        assert answer.headers["content-type"] == "application/problem+json"
        assert (
            answer.json()["code"] == "malformed_json" and answer.json()["type"] == "/problems/malformed_json"
        )
    # Valid JSON of the wrong shape stays a 422 with the field errors.
    wrong = post(client, shop.admin, "/transactions", {"transaction_type": "creation"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "validation_error"
