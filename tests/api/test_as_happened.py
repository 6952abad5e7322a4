"""GET /inventory/as-of on both time axes: as it happened (`at`), as it was known (`known_at`), both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.shop import Shop, post, stock_in


def as_of(client: TestClient, shop: Shop, **params: Any) -> list[str]:
    answer = client.get(
        "/inventory/as-of", params=params | {"warehouse_id": str(shop.a)}, headers=shop.user.headers
    )
    assert answer.status_code == 200, answer.text
    return [i["current_stock"] for i in answer.json()["items"]]


def stamp(moment: datetime) -> str:
    return moment.isoformat()


def test_a_backdated_consumption_counts_on_the_day_it_happened(client: TestClient, shop: Shop) -> None:
    stock_in(client, shop, "10")
    before = datetime.now(UTC)
    used = post(
        client,
        shop.user,
        "/transactions",
        {
            "transaction_type": "consumption",
            "part_id": str(shop.part),
            "from_warehouse_id": str(shop.a),
            "quantity": "4",
            "transaction_date": stamp(before - timedelta(days=7)),
        },
    )
    assert used.status_code == 201, used.text
    after = datetime.now(UTC)
    # Stock was bought in just now, so "as it happened" a week ago there was none; the consumption is
    # dated a week ago, so by a moment between the two it has happened but the creation has not.
    assert as_of(client, shop, at=stamp(before - timedelta(days=1))) == ["-4.000"]
    assert as_of(client, shop, at=stamp(after)) == ["6.000"]
    assert as_of(client, shop, known_at=stamp(before)) == ["10.000"]  # what the ledger said then
    assert as_of(client, shop, at=stamp(after), known_at=stamp(before)) == ["10.000"]
    assert as_of(client, shop, at=stamp(before - timedelta(days=1)), known_at=stamp(before)) == []
    answer = client.get(
        "/inventory/as-of", params={"at": stamp(after), "known_at": stamp(before)}, headers=shop.user.headers
    ).json()
    assert answer["at"] is not None and answer["known_at"] is not None and answer["position"] is None


def test_too_far_back_is_refused_and_a_position_excludes_the_moments(client: TestClient, shop: Shop) -> None:
    refused = post(
        client,
        shop.admin,
        "/transactions",
        {
            "transaction_type": "creation",
            "part_id": str(shop.part),
            "to_warehouse_id": str(shop.a),
            "quantity": "1",
            "transaction_date": stamp(datetime.now(UTC) - timedelta(days=31)),
        },
    )
    assert refused.status_code == 422 and refused.json()["code"] == "backdated_too_far", refused.text
    head = stock_in(client, shop, "1")["position"]
    mixed = client.get(
        "/inventory/as-of",
        params={"position": head, "known_at": stamp(datetime.now(UTC))},
        headers=shop.admin.headers,
    )
    assert mixed.status_code == 422 and mixed.json()["code"] == "invalid_request"
