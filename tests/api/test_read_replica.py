"""Reads from a real hot standby (ABPARTS_READ_DATABASE_URL): fresh with min_position, may lag without.

The standby is a `pg_basebackup -R` of a primary of the module's own; pausing its WAL replay makes
the lag deterministic. Writes, sign-in and the projectors stay on the primary throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.http.app import create_app
from api.runtime.database import migrate
from api.runtime.seed import bootstrap
from api.runtime.settings import Settings
from ledger.postgres.connection import Connection
from projections.engine.freshness import wait_until_projected
from tests.faults.standby import Standby, primary_and_standby
from tests.fixtures.api import PASSWORD, Caller, Tenants, api_settings
from tests.fixtures.shop import Shop, stock_in

DATABASE = "abparts_replicated"


@dataclass
class Replicated:
    """An app whose reads go to the standby, and a shop on the primary."""

    client: TestClient
    standby: Standby
    replica: Connection  # to the standby's copy of the app's database
    shop: Shop
    root: Caller


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    with primary_and_standby() as (primary, standby):
        url = primary.create_database(DATABASE)
        migrate(url)
        standby.catch_up(url)  # the app's reads must find the database and its tables there
        settings = api_settings(
            read_database_url=standby.url(DATABASE), read_wait_timeout=3.0, pool_timeout=3.0
        )
        with (
            psycopg.connect(url, autocommit=True) as db,
            TestClient(create_app(settings, url)) as client,
        ):
            done = bootstrap(db, "root", "root@example.com", PASSWORD)
            signer = Tenants.__new__(Tenants)
            signer.client = client
            root = signer.sign_in("root", done.admin_id, done.oraseas_id)
            shop = Shop(Tenants(client, db, root), db)
            with psycopg.connect(standby.url(DATABASE), autocommit=True) as replica:
                yield Replicated(client, standby, replica, shop, root)


def _inventory(r: Replicated, **params: Any) -> Any:
    filters = {"warehouse_id": str(r.shop.a), "part_id": str(r.shop.part)}
    return r.client.get("/inventory", params=filters | params, headers=r.shop.admin.headers)


def _stock(response: Any) -> Decimal | None:
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return Decimal(items[0]["current_stock"]) if items else None


def _primary_has_projected(r: Replicated, position: int) -> None:
    assert wait_until_projected(r.shop.db, ("inventory",), position, 10), "the primary never projected it"


@pytest.mark.db
def test_a_read_with_min_position_on_the_replica_includes_that_position(replicated: Replicated) -> None:
    before = _stock(_inventory(replicated)) or Decimal(0)
    replicated.replica.execute("SELECT pg_wal_replay_pause()")
    # The replica lags until replay resumes, half a second into the read's wait.
    resume = threading.Timer(0.5, lambda: replicated.replica.execute("SELECT pg_wal_replay_resume()"))
    try:
        position = stock_in(replicated.client, replicated.shop, "3")["position"]
        _primary_has_projected(replicated, position)
        resume.start()
        assert _stock(_inventory(replicated, min_position=position)) == before + 3
    finally:
        resume.join()
        replicated.replica.execute("SELECT pg_wal_replay_resume()")


@pytest.mark.db
def test_a_plain_read_may_lag_and_min_position_waits_for_the_replica(replicated: Replicated) -> None:
    shown = _stock(
        _inventory(replicated, min_position=stock_in(replicated.client, replicated.shop, "1")["position"])
    )
    assert shown is not None
    replicated.replica.execute("SELECT pg_wal_replay_pause()")
    try:
        # More appends than a sequence logs ahead (32): the replica's own head is then behind too.
        positions = [stock_in(replicated.client, replicated.shop, "1")["position"] for _ in range(40)]
        _primary_has_projected(replicated, positions[-1])
        assert _stock(_inventory(replicated)) == shown, "a plain read is the replica's (older) state"
        waited = _inventory(replicated, min_position=positions[-1])
        assert waited.status_code == 503, waited.text
        assert waited.json()["code"] == "stale_read"
        assert waited.headers["Retry-After"]
    finally:
        replicated.replica.execute("SELECT pg_wal_replay_resume()")
    assert _stock(_inventory(replicated, min_position=positions[-1])) == shown + 40


@pytest.mark.db
def test_what_the_replica_has_not_replayed_is_asked_of_the_primary(replicated: Replicated) -> None:
    r = replicated
    r.replica.execute("SELECT pg_wal_replay_pause()")
    try:
        order = {"items": [{"part_id": str(r.shop.part), "quantity": "2"}]}
        placed = r.client.post("/customer-orders", json=order, headers=r.shop.user.headers)
        assert placed.status_code == 201, placed.text
        oid, position = placed.json()["id"], placed.json()["position"]
        # Neither its projection nor its stream is on the replica yet: the order comes from the primary's log.
        one = r.client.get(f"/customer-orders/{oid}", headers=r.shop.user.headers)
        assert (one.status_code, one.json()["status"]) == (200, "requested"), one.text
        # A position the replica has not replayed is still a known one to page the raw log after.
        raw = r.client.get("/ledger/events", params={"after": position}, headers=r.root.headers)
        assert (raw.status_code, raw.json()["items"]) == (200, []), raw.text
    finally:
        r.replica.execute("SELECT pg_wal_replay_resume()")


@pytest.mark.db
def test_the_replica_gone_reads_answer_503_and_writes_go_on(replicated: Replicated) -> None:
    replicated.standby.stop()
    try:
        gone = _inventory(replicated)
        assert gone.status_code == 503, gone.text
        assert gone.json()["code"] == "database_unavailable"
        assert gone.headers["Retry-After"]
        written = stock_in(replicated.client, replicated.shop, "2")
        assert written["position"] > 0
    finally:
        replicated.standby.start()
    # Each pooled connection to the old standby fails once (503) and is replaced: the client retries.
    deadline = time.monotonic() + 20
    while (back := _inventory(replicated, min_position=written["position"])).status_code == 503:
        assert time.monotonic() < deadline, back.text
        time.sleep(0.1)
    assert _stock(back) is not None


def test_the_replica_url_is_checked_like_the_primarys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABPARTS_READ_DATABASE_URL", "postgresql://reader@replica/abparts")
    assert Settings().read_database_url == "postgresql://reader@replica/abparts"
    monkeypatch.setenv("ABPARTS_READ_DATABASE_URL", "mysql://replica/abparts")
    with pytest.raises(ValidationError, match="read_database_url"):
        Settings()
