"""Wake-ups: a process skips its own NOTIFY, and appends within a worker's interval share one batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import CreateStock
from projections.engine.freshness import is_projected
from projections.engine.wakeup import CHANNEL, Listener
from projections.engine.worker import ProjectionWorker
from projections.read_models.inventory import PROJECTION as INVENTORY
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own, with a site in it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


def create(conn: Conn, site: Site) -> int:
    result = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site)
    assert result.position is not None
    return result.position


def wait_for(event: threading.Event, timeout: float = 10.0) -> None:
    assert event.wait(timeout), "not woken in time"


def test_a_listener_skips_its_own_origin_and_wakes_for_others(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, _ = own
    woken = threading.Event()
    stop = threading.Event()
    listener = Listener(fresh_db_url, woken.set, stop, ignore="me")
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        wait_for(woken)  # the wake-up on (re)connecting: anything appended meanwhile
        time.sleep(0.2)  # LISTEN is in place before that first wake-up; let it settle anyway
        woken.clear()
        conn.execute("SELECT pg_notify(%s, 'me')", [CHANNEL])
        assert not woken.wait(1.0), "woken by its own process's NOTIFY"
        conn.execute("SELECT pg_notify(%s, 'another process')", [CHANNEL])
        wait_for(woken)
        woken.clear()
        conn.execute(f"NOTIFY {CHANNEL}")  # an older notifier, with no origin
        wait_for(woken)
    finally:
        stop.set()
        thread.join(5)


def test_appends_within_the_interval_share_one_batch(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    stop = threading.Event()
    worker = ProjectionWorker(fresh_db_url, INVENTORY, stop, poll_interval=60, min_interval=1.5)
    batches: list[int] = []
    worker.after_applied = lambda: batches.append(1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.active.wait(10)
        time.sleep(1.6)  # a quiet spell longer than the interval
        first = create(conn, site)
        worker.wake.set()
        t0 = time.monotonic()
        while not is_projected(conn, ["inventory"], first):
            assert time.monotonic() - t0 < 1.0, "the first append after a quiet spell waited"
            time.sleep(0.01)
        positions = []
        for _ in range(3):
            positions.append(create(conn, site))
            worker.wake.set()
        assert not is_projected(conn, ["inventory"], positions[-1])
        deadline = time.monotonic() + 10
        while not is_projected(conn, ["inventory"], positions[-1]):
            assert time.monotonic() < deadline, "not projected in time"
            time.sleep(0.02)
        assert len(batches) == 2  # the first append, then the three others together
    finally:
        stop.set()
        worker.wake.set()
        thread.join(10)
