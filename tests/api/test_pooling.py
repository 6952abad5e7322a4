"""The API pool's bound on holding a connection: broken off past it, never after it is given back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.conninfo import make_conninfo

from api.http import problems
from api.http.app import create_app
from api.runtime.pooling import WatchedPool, api_conninfo
from api.runtime.seed import bootstrap
from tests.fixtures.api import PASSWORD, Caller, api_settings
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db


@pytest.fixture
def small_pool(db_url: str) -> Iterator[WatchedPool]:
    """One connection, held at most half a second, and no server-side timeout: only the watchdog acts."""
    pool = WatchedPool(
        db_url, hold_timeout=0.5, min_size=1, max_size=1, kwargs={"autocommit": True}, timeout=10, open=False
    )
    pool.open(wait=True, timeout=30)
    try:
        yield pool
    finally:
        pool.close()


def test_a_connection_held_past_the_bound_is_broken_off_and_replaced(small_pool: WatchedPool) -> None:
    with small_pool.connection() as conn:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2, "the blocked statement outlived the bound"
    with small_pool.connection() as conn:  # the pool opened a new one in place of the broken
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert small_pool.get_stats().get("returns_bad", 0) >= 1


def test_a_connection_given_back_in_time_is_not_broken_later(small_pool: WatchedPool) -> None:
    with small_pool.connection() as conn:
        first = conn.execute("SELECT pg_backend_pid()").fetchone()
    time.sleep(1.0)  # past the first holder's deadline
    with small_pool.connection() as conn:
        assert conn.execute("SELECT pg_backend_pid()").fetchone() == first, "the connection was replaced"
        time.sleep(0.2)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_api_connections_carry_server_side_timeouts_and_keep_given_options(db_url: str) -> None:
    url = make_conninfo(db_url, options="-c work_mem=5MB")
    with psycopg.connect(api_conninfo(url, 1.5)) as conn:
        settings = [
            conn.execute(f"SHOW {name}").fetchone()
            for name in ("statement_timeout", "idle_in_transaction_session_timeout", "jit", "work_mem")
        ]
        tcp_user_timeout = conn.info.get_parameters().get("tcp_user_timeout")
    assert settings == [("1500ms",), ("1500ms",), ("off",), ("5MB",)]
    assert tcp_user_timeout is None or tcp_user_timeout == "1500"


def test_a_read_waiting_for_min_position_longer_than_the_bound_is_a_stale_read(fresh_db_url: str) -> None:
    # Arranged through an app with the default bound: a sign-in hashes inside its transaction, which on
    # a busy machine may take longer than the short bound below.
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        done = bootstrap(conn, "patient", "patient@example.com", PASSWORD)
    with TestClient(create_app(api_settings(run_projectors=False), fresh_db_url)) as client:
        token = client.post("/token", data={"username": "patient", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        root = Caller(done.admin_id, done.oraseas_id, "patient", headers)
        warehouse = post(client, root, "/warehouses", {"name": "depot"}).json()["id"]
        part = post(client, root, "/parts", {"part_number": "P1", "name": "pin"}).json()["id"]
        creation = {"transaction_type": "creation", "to_warehouse_id": warehouse, "quantity": "2"}
        created = post(client, root, "/transactions", creation | {"part_id": part})
        assert created.status_code == 201, created.text
    # Nothing projects: the read waits its whole read_wait_timeout, three times the database bound.
    settings = api_settings(run_projectors=False, database_timeout=0.5, read_wait_timeout=1.5)
    with TestClient(create_app(settings, fresh_db_url)) as client:
        started = time.monotonic()
        read = client.get("/inventory", params={"min_position": created.json()["position"]}, headers=headers)
        waited = time.monotonic() - started
    assert read.status_code == 503, read.text
    assert read.json()["code"] == "stale_read"
    assert waited >= 1.4


def test_a_transaction_ended_by_the_server_for_idling_is_a_503() -> None:
    # The API's connections carry idle_in_transaction_session_timeout; its error is not an OperationalError.
    app = FastAPI()
    problems.install(app)

    @app.get("/idle")
    def idle() -> None:
        raise psycopg.errors.IdleInTransactionSessionTimeout("terminating connection")

    response = TestClient(app).get("/idle")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"]


def test_more_requests_than_worker_threads_waiting_for_a_small_pool_all_finish(
    api_db_url: str, shop: Shop
) -> None:
    # 64 requests at once on 4 connections: 60 wait for one. Were they waiting on the default
    # threadpool (40 threads), the 4 that hold a connection would find no thread to finish on, and
    # every request would wait out the pool timeout (503).
    small = create_app(api_settings(pool_size=4, pool_timeout=4.0, run_projectors=False), api_db_url)
    body = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a)}
    statuses: list[int] = []
    lock = threading.Lock()
    with TestClient(small) as c:

        def caller() -> None:
            response = c.post("/transactions", json=body | {"quantity": "1"}, headers=shop.admin.headers)
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=caller) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [201] * 64


def test_try_getconn_takes_an_idle_connection_or_none_and_never_waits(api_db_url: str) -> None:
    pool = WatchedPool(api_conninfo(api_db_url, 5.0), hold_timeout=5.0, min_size=1, max_size=1, open=False)
    pool.open(wait=True, timeout=30)
    try:
        conn = pool.try_getconn()
        assert conn is not None and conn.execute("SELECT 1").fetchone() == (1,)
        started = time.monotonic()
        assert pool.try_getconn() is None  # the only one is taken: None at once, not a wait
        assert time.monotonic() - started < 0.5
        assert pool.get_stats()["requests_num"] == 1
        pool.putconn(conn)
        again = pool.try_getconn()
        assert again is conn
        pool.putconn(again)
    finally:
        pool.close()
    assert pool.try_getconn() is None  # closed: the caller's getconn then says why
