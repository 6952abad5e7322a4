"""A PostgreSQL that stops answering (SIGSTOP): bounded 503s with Retry-After, then recovery by itself.

Unlike a restart, a frozen server refuses nothing: without the API's own
deadline a request waits as long as the freeze lasts. The fast test runs the
app in-process on a server of its own; the slow one (`make faults`) freezes it
under a load of commands from several threads and checks that nothing is
lost or doubled once it thaws.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as NoAnswer

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.database import migrate
from tests.faults.harness import (
    Load,
    Processes,
    bootstrap,
    check_applied_once,
    check_exactly_once,
    connection,
    eventually,
    make_site,
    sign_in,
    subprocess_url,
    verify,
    wait_until_caught_up,
    warm_up,
)
from tests.faults.own_server import FreezablePostgres, freezable_postgres
from tests.fixtures.api import api_settings

pytestmark = [pytest.mark.faults, pytest.mark.db]
DATABASE_TIMEOUT = 1.0
POOL_TIMEOUT = 1.0
# A request waits for a pooled connection (at most the pool timeout), then holds it (at most the database
# timeout); a second for the rest (the event loop, the threadpool, the problem response).
BOUND = POOL_TIMEOUT + DATABASE_TIMEOUT + 1.0
# Under load the bound is longer: a sign-in hashes the password inside its transaction, and on two busy
# cores that alone may take a second. The freeze lasts longer than any bounded answer.
LOADED_TIMEOUT = 2.0
LOADED_BOUND = POOL_TIMEOUT + LOADED_TIMEOUT + 1.0
FREEZE = LOADED_BOUND + 2.0


@pytest.fixture
def frozen_server() -> Iterator[FreezablePostgres]:
    with freezable_postgres() as own:
        yield own


def test_requests_to_a_frozen_database_answer_503_in_time_and_recover(
    frozen_server: FreezablePostgres,
) -> None:
    url = frozen_server.create_database("abparts_frozen")
    migrate(url)
    settings = api_settings(database_timeout=DATABASE_TIMEOUT, pool_timeout=POOL_TIMEOUT)
    app = create_app(settings, url)
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=1) as asker:
        requests: list[tuple[str, Callable[[], httpx.Response]]] = [
            ("GET /ready", lambda: client.get("/ready")),
            ("POST /token", lambda: client.post("/token", data={"username": "nobody", "password": "x"})),
            # The Idempotency-Key middleware claims the key before anything else: its hold is bounded too.
            ("POST with a key", lambda: client.post("/parts", json={}, headers={"Idempotency-Key": "k1"})),
        ]
        assert client.get("/ready").status_code == 200
        frozen_server.freeze()
        try:
            # Twice round: first the pool's idle connections are broken off, then none is left to take.
            for what, request in requests * 2:
                started = time.monotonic()
                try:
                    response = asker.submit(request).result(timeout=BOUND)
                except NoAnswer:
                    raise AssertionError(f"{what}: no answer in {BOUND} s from a frozen database") from None
                took = time.monotonic() - started
                assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
                assert response.json()["code"] == "database_unavailable", what
                assert response.headers.get("retry-after"), what
                assert took < BOUND, f"{what} took {took:.1f} s"
        finally:
            frozen_server.thaw()
        assert app.state.pool.get_stats().get("returns_bad", 0) >= 1, "no broken connection was discarded"
        # The same process recovers by itself: the pool opens new connections once the server is back.
        eventually(lambda: client.get("/ready").status_code == 200, 20, "ready again after the thaw", 0.2)
        response = client.post("/parts", json={}, headers={"Idempotency-Key": "k2"})
        assert response.status_code == 401, response.text


@pytest.fixture
def frozen_service(processes: Processes) -> Iterator[tuple[FreezablePostgres, str]]:
    """A migrated database on a server of the test's own, with its admin; processes stop before it does."""
    with freezable_postgres() as own:
        try:
            url = subprocess_url(own.create_database("abparts_faults"))
            bootstrap(processes, url, migrate=True)
            yield own, url
        finally:
            own.thaw()
            processes.stop_all()


@pytest.mark.slow
def test_postgres_frozen_under_load(
    processes: Processes, frozen_service: tuple[FreezablePostgres, str]
) -> None:
    own, url = frozen_service
    api = processes.api(
        url, ABPARTS_DATABASE_TIMEOUT=str(LOADED_TIMEOUT), ABPARTS_POOL_TIMEOUT=str(POOL_TIMEOUT)
    )
    assert api.base_url is not None
    base_url = api.base_url
    with connection(url) as conn:
        site = make_site(conn)
        headers = sign_in(base_url)
        others = warm_up(conn, base_url, headers, site)
    # A client timeout well beyond the bound: an attempt that takes longer shows as slow, not as no answer.
    load = Load(lambda: [base_url], headers, site, commands=300, threads=4, client_timeout=LOADED_BOUND + 10)
    load.deadline_seconds = 120
    load.start()
    eventually(lambda: load.acked >= 60, 30, "first commands acknowledged")
    frozen_at = time.monotonic()
    own.freeze()
    try:
        time.sleep(FREEZE)
    finally:
        own.thaw()
    thawed_at = time.monotonic()
    load.join()
    slowest = max(load.attempts, key=lambda a: a.seconds)
    print(f"database frozen {thawed_at - frozen_at:.1f} s; slowest {slowest.seconds:.2f} s; {load.summary()}")

    # Nothing lost or doubled: every command once in the log, the in-process workers caught up.
    assert api.alive(), f"the API process died:\n{api.tail()}"
    with connection(url) as conn:
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
    verify(processes, url)

    # While it was frozen: 503 with Retry-After within the bound, nothing else and no hang.
    during = [a for a in load.attempts if a.ended > frozen_at]
    assert any(a.status == 503 for a in during), "no 503 while the database was frozen"
    unexpected = Counter(f"{a.status} {a.code or a.error}" for a in during if a.status not in (201, 503, 409))
    assert not unexpected, f"answers other than 201, 503 or 409 (or none): {dict(unexpected)}"
    assert all(a.retry_after for a in during if a.status == 503), "a 503 without Retry-After"
    assert slowest.seconds < LOADED_BOUND, f"an attempt took {slowest.seconds:.1f} s (bound {LOADED_BOUND} s)"
