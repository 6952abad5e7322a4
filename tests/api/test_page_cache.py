"""GET /inventory's page cache: changes made elsewhere are seen, scopes never share a page, off means off.

The reads go through a second app on the same database (another process's cache, as another
server worker would have): a rename written by SQL and a movement posted to the first app both
reach it only by the notifications its listener receives (alembic 0015's, the projector's).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.stock.page_cache import PageCache
from ledger.postgres.connection import Connection
from tests.fixtures.api import Caller, api_settings
from tests.fixtures.shop import Shop, stock_in

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def other(api_db_url: str) -> Iterator[TestClient]:
    """A second app on the API tests' database, its page cache on and its entries long-lived."""
    app: FastAPI = create_app(api_settings(), api_db_url)
    with TestClient(app) as client:
        cache: PageCache = app.state.page_cache
        cache.max_age = 600  # what a test sees changed is the notifications' doing, not age
        _until(lambda: cache.connected, "the other app's listener is connected")
        yield client


def _until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def _page(client: TestClient, caller: Caller, **params: Any) -> dict[str, Any]:
    answer = client.get("/inventory", params=params, headers=caller.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _cached(client: TestClient, caller: Caller) -> dict[str, Any]:
    """The page, read twice: the second read comes from the cache."""
    cache: PageCache = client.app.state.page_cache  # type: ignore[attr-defined]
    first = _page(client, caller)
    hits = cache.hits
    assert _page(client, caller) == first
    assert cache.hits == hits + 1, "the second read did not come from the cache"
    return first


def test_a_rename_is_seen_through_another_apps_cache(
    client: TestClient, other: TestClient, shop: Shop, db: Connection
) -> None:
    position = stock_in(client, shop, "3")["position"]
    _page(other, shop.admin, min_position=position)
    [item] = _cached(other, shop.admin)["items"]
    assert item["part_name"] == "filter"
    # Written without a notification, the table changes unseen: the page is the cache's.
    db.execute("UPDATE inventory SET unit_of_measure = 'unseen' WHERE part_id = %s", [shop.part])
    assert _page(other, shop.admin)["items"][0]["unit_of_measure"] != "unseen"
    for table, field, value, row in (
        ("parts", "part_name", 'filter "Ä"', shop.part),
        ("warehouses", "warehouse_name", "renamed warehouse", shop.a),
        ("organizations", "organization_name", f"renamed {shop.org}", shop.org),
    ):
        db.execute(f"UPDATE {table} SET name = %s WHERE id = %s", [value, row])

        def renamed(field: str = field, value: str = value) -> bool:
            return bool(_page(other, shop.admin)["items"][0][field] == value)

        _until(renamed, f"{table} renamed")


def test_a_movement_is_seen_through_another_apps_cache(
    client: TestClient, other: TestClient, shop: Shop
) -> None:
    position = stock_in(client, shop, "3")["position"]
    _page(other, shop.admin, min_position=position)
    assert _cached(other, shop.admin)["items"][0]["current_stock"] == "3.000"
    position = stock_in(client, shop, "2")["position"]
    # min_position is honoured: not the cached page, the one that includes the movement.
    assert _page(other, shop.admin, min_position=position)["items"][0]["current_stock"] == "5.000"
    _until(lambda: _page(other, shop.admin)["items"][0]["current_stock"] == "5.000", "the movement")


def test_callers_of_different_organizations_never_share_a_page(
    client: TestClient, other: TestClient, shop: Shop, tenants: Any, db: Connection
) -> None:
    neighbour = Shop(tenants, db)
    for owner in (shop, neighbour):
        position = stock_in(client, owner, "1")["position"]
        _page(other, owner.admin, min_position=position)
    for _ in range(2):
        for owner in (shop, neighbour):
            page = _cached(other, owner.admin)
            assert {i["organization_id"] for i in page["items"]} == {str(owner.org)}


def test_the_cache_is_off_until_its_listener_is_connected_and_after_it_stops(api_db_url: str) -> None:
    off = PageCache(None)
    off.start()
    assert off.token() is None
    off.put("key", b"page", off.token(), time.monotonic())
    assert off.get("key") is None
    cache = PageCache(api_db_url)
    assert cache.token() is None
    cache.start()
    try:
        _until(lambda: cache.connected, "connected")
        token = cache.token()
        cache.put("key", b"page", token, time.monotonic())
        assert cache.get("key") == b"page"
    finally:
        cache.stop()
    assert cache.token() is None and cache.get("key") is None


def test_a_page_read_across_a_change_is_not_kept(api_db_url: str, db: Connection) -> None:
    cache = PageCache(api_db_url)
    cache.start()
    try:
        _until(lambda: cache.connected, "connected")
        token, read_at = cache.token(), time.monotonic()
        db.execute("NOTIFY reference_data, 'parts'")  # a rename committed while the page was read
        _until(lambda: cache.generation != token, "the notification")
        cache.put("key", b"old page", token, read_at)
        assert cache.get("key") is None
        token = cache.token()
        cache.put("key", b"page", token, time.monotonic())
        db.execute("NOTIFY projection_checkpoints, 'transactions'")  # not a table the pages read
        db.execute("NOTIFY projection_checkpoints, 'inventory'")
        _until(lambda: cache.get("key") is None, "the inventory's advance")
        assert cache.generation == token + 1  # type: ignore[operator]
    finally:
        cache.stop()


def test_misses_of_one_page_together_share_one_read_and_a_caller_leaving_stops_it_for_none(
    api_db_url: str,
) -> None:
    cache = PageCache(api_db_url)
    cache.start()
    reads: list[str] = []

    def reader(key: str, fail: bool = False) -> Callable[[], Any]:
        async def read() -> bytes:
            reads.append(key)
            await asyncio.sleep(0.05)
            if fail:
                raise RuntimeError("the database went away")
            return f"page {key}".encode()

        return read

    async def scenario() -> None:
        many = [asyncio.ensure_future(cache.read_through("a", reader("a"))) for _ in range(20)]
        other = asyncio.ensure_future(cache.read_through("b", reader("b")))
        await asyncio.sleep(0.01)
        many[0].cancel()  # its client went away: the others still get the page
        assert await asyncio.gather(*many[1:]) == [b"page a"] * 19
        assert await other == b"page b"
        assert sorted(reads) == ["a", "b"]
        assert await cache.read_through("a", reader("a")) == b"page a"  # kept: no read
        assert sorted(reads) == ["a", "b"]
        failing = [asyncio.ensure_future(cache.read_through("c", reader("c", fail=True))) for _ in range(3)]
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        assert [str(o) for o in outcomes] == ["the database went away"] * 3
        assert reads.count("c") == 1
        assert await cache.read_through("c", reader("c")) == b"page c"  # a failure is not kept

    try:
        _until(lambda: cache.connected, "connected")
        asyncio.run(scenario())
    finally:
        cache.stop()
