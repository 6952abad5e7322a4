"""A list checks its own input before it asks the log or waits for the projections."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.api import Caller

pytestmark = pytest.mark.db

LISTS = [
    "/inventory",
    "/transactions",
    "/part-usage",
    "/stock-adjustments",
    "/transaction-approvals",
    "/stocktakes",
    "/customer-orders",
    "/supplier-orders",
]


@pytest.mark.parametrize("path", LISTS)
def test_a_bad_cursor_is_refused_before_min_position_is_looked_at(
    client: TestClient, root: Caller, path: str
) -> None:
    # No position this far has been given: looked at first, it would have been an unknown_position.
    params = {"cursor": "not a cursor", "min_position": str(10**12)}
    response = client.get(path, params=params, headers=root.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"
