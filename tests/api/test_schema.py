"""The API against its own OpenAPI document (schemathesis): no 5xx, and every response fits the document.

Runs as the super_admin, so that requests reach the handlers instead of
stopping at authentication; a bounded number of examples per operation keeps
it inside the default suite's budget. The "schema-valid request accepted"
check is left out: business rules (a quantity's decimals, a warehouse that
does not exist) rightly refuse requests that fit the schema, with a 422.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.fixtures.api import Caller

pytestmark = [pytest.mark.db, pytest.mark.slow]


def test_every_operation_conforms(app: FastAPI, client: TestClient, root: Caller) -> None:
    # schemathesis' own pytest integration does not run under pytest 9 yet: drive it with hypothesis.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 20
    for operation in operations:
        if operation.label == "POST /logout":  # would revoke the session-wide root's token for later tests
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=root.headers, excluded_checks=[positive_data_acceptance])

        try:
            conforms()
        except Exception as error:  # every operation gets its run; failures are reported together
            failures[operation.label] = str(error)[:2000]
    assert failures == {}


def test_the_document_lists_problem_responses(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    post = document["paths"]["/transactions"]["post"]
    assert set(post["responses"]) >= {"201", "401", "403", "404", "409", "422", "503"}
    assert "application/problem+json" in post["responses"]["409"]["content"]
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "code",
    ]
