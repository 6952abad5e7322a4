"""The stock reads' query parameters: names and order in the OpenAPI document, whatever declares them.

The routes declare their own filters and take the common ones (period, freshness, page) from shared
dependencies; clients and generated SDKs see the same parameters, in the same order, as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.http.app import create_app
from api.runtime.settings import Settings

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"  # create_app connects only when its lifespan starts
PAGE = ["min_position", "limit", "cursor"]
PERIOD = ["date_from", "date_to"]

READS = {
    "/inventory": ["warehouse_id", "part_id", "organization_id", "low_stock", "q", *PAGE],
    "/transactions": [
        *("transaction_type", "part_id", "warehouse_id", "machine_id", "approval_status"),
        *PERIOD,
        *PAGE,
    ],
    "/transactions/{transaction_id}": ["transaction_id", "min_position"],
    "/part-usage": ["machine_id", "part_id", "customer_organization_id", *PERIOD, *PAGE],
    "/stock-adjustments": ["warehouse_id", "part_id", "reason_code", *PAGE],
    "/transaction-approvals": ["transaction_id", "status", *PAGE],
    "/reports/inventory-summary": ["organization_id", "min_position"],
    "/reports/machine-usage": ["organization_id", "min_position"],
    "/reports/reorder-suggestions": ["warehouse_id", "min_position"],
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(database_url=UNREACHABLE), UNREACHABLE)
    return app.openapi()


@pytest.mark.parametrize("path", sorted(READS))
def test_a_stock_read_takes_its_parameters_in_order(document: dict[str, Any], path: str) -> None:
    operation = document["paths"][path]["get"]
    assert [p["name"] for p in operation["parameters"]] == READS[path]
    assert operation["security"] == [{"OAuth2PasswordBearer": []}]


def test_the_shared_parameters_keep_their_bounds(document: dict[str, Any]) -> None:
    by_name = {p["name"]: p for p in document["paths"]["/part-usage"]["get"]["parameters"]}
    assert by_name["limit"]["schema"] == {
        "type": "integer",
        "maximum": 500,
        "minimum": 1,
        "description": "Page size (default 50, at most 500).",
        "default": 50,
        "title": "Limit",
    }
    assert by_name["min_position"]["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    assert by_name["date_from"]["description"] == "On or after this moment."
    assert by_name["date_to"]["description"] == "Before this moment."
    assert not any(p["required"] for p in by_name.values())
