"""Lag: checkpoint advances wake `min_position` waits; events held back by an older transaction are re-read.

Each test can fail: with the 5-50 ms poll (a 30 s look here) the wait would time out; with the
next look only at the poll interval (60 s here) the held-back event would not be projected in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import CreateStock
from projections.engine import freshness
from projections.engine.freshness import is_projected, wait_until_projected
from projections.engine.projection import BATCH, Projection
from projections.engine.runner import SWAP_LOCK, apply_batch, apply_next, checkpoint
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


def create(conn: Conn, site: Site, quantity: int = 1) -> int:
    result = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(quantity)), site)
    assert result.position is not None
    return result.position


def apply_later(url: str, delay: float) -> threading.Thread:
    """A thread that applies the inventory's next batch after `delay` seconds, as a worker would."""

    def apply() -> None:
        time.sleep(delay)
        with psycopg.connect(url, autocommit=True) as worker, worker.transaction():
            worker.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWAP_LOCK])
            assert apply_batch(worker, INVENTORY, 1000) == 1

    thread = threading.Thread(target=apply, daemon=True)
    thread.start()
    return thread


def test_a_notified_wait_ends_when_the_checkpoint_passes(
    own: tuple[Conn, Site], fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn, site = own
    monkeypatch.setattr(freshness, "LONGEST_LOOK", 30.0)  # no look but the notified ones
    position = create(conn, site)
    thread = apply_later(fresh_db_url, 0.3)
    t0 = time.monotonic()
    assert wait_until_projected(conn, ["inventory"], position, timeout=20, notified=True)
    assert time.monotonic() - t0 < 10, "woken by the timeout, not by the checkpoint's NOTIFY"
    thread.join(10)
    # The pooled connection goes back as it came: listening to nothing, no notification left over.
    assert conn.execute("SELECT count(*) FROM pg_listening_channels()").fetchone() == (0,)
    assert list(conn.notifies(timeout=0.2)) == []


def test_a_wait_inside_a_transaction_polls(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    position = create(conn, site)
    thread = apply_later(fresh_db_url, 0.2)
    with conn.transaction():  # LISTEN would only start at COMMIT: the wait must not count on it
        assert wait_until_projected(conn, ["inventory"], position, timeout=20, notified=True)
    thread.join(10)


def test_a_notified_wait_times_out(own: tuple[Conn, Site]) -> None:
    conn, site = own
    position = create(conn, site)
    t0 = time.monotonic()
    assert not wait_until_projected(conn, ["inventory"], position, timeout=0.3, notified=True)
    assert 0.3 <= time.monotonic() - t0 < 5


def test_a_batch_behind_an_older_transaction_says_it_is_held_back(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = own
    with psycopg.connect(fresh_db_url, autocommit=True) as older:
        with older.transaction():
            older.execute("SELECT pg_current_xact_id()")  # an xid older than the append's
            position = create(conn, site)
            with conn.transaction():
                batch = apply_next(conn, INVENTORY, 1000)
            assert (batch.events, batch.held_back) == (0, True)
        with conn.transaction():
            batch = apply_next(conn, INVENTORY, 1000)
        assert (batch.events, batch.held_back) == (1, False)
    assert is_projected(conn, ["inventory"], position)


def test_a_worker_looks_again_soon_when_held_back(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    stop = threading.Event()
    worker = ProjectionWorker(fresh_db_url, INVENTORY, stop, poll_interval=60)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.active.wait(10)
        with psycopg.connect(fresh_db_url, autocommit=True) as older, older.transaction():
            older.execute("SELECT pg_current_xact_id()")
            position = create(conn, site)
            worker.wake.set()  # as the API does after a command
            time.sleep(0.3)
            assert not is_projected(conn, ["inventory"], position)
            # Leaving the block ends the older transaction, and nothing announces that.
        assert wait_until_projected(conn, ["inventory"], position, timeout=10), "waited for the poll"
    finally:
        stop.set()
        worker.wake.set()
        thread.join(10)


# Fails whenever it runs: a count is a row even over an empty batch.
FAILS_IF_RUN = f"WITH {BATCH} SELECT count(*) / 0 FROM batch WHERE event_type = 'SupplierOrderPlaced'"


def test_a_batch_of_events_a_projection_does_not_read_only_moves_its_checkpoint(
    own: tuple[Conn, Site],
) -> None:
    conn, site = own
    position = create(conn, site)
    picky = Projection("picky", (), (FAILS_IF_RUN,))
    assert picky.event_types == frozenset({"SupplierOrderPlaced"})
    with conn.transaction():
        assert apply_next(conn, picky, 1000).events == 1
    assert checkpoint(conn, "picky").position == position
    reads_all = Projection("reads_all", (), (FAILS_IF_RUN.rsplit(" WHERE ", 1)[0],))
    assert reads_all.event_types is None
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        apply_next(conn, reads_all, 1000)


def test_an_empty_step_does_not_hold_the_next_append_back(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    stop = threading.Event()
    # Polling every 50 ms: empty steps all the time. Only a step that applied events may open the
    # coalescing window; counting the empty ones held this append back by up to 1.5 s.
    worker = ProjectionWorker(fresh_db_url, INVENTORY, stop, poll_interval=0.05, min_interval=1.5)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.active.wait(10)
        time.sleep(1.8)  # a quiet spell longer than the interval, full of empty steps
        position = create(conn, site)
        worker.wake.set()
        t0 = time.monotonic()
        assert wait_until_projected(conn, ["inventory"], position, timeout=10, notified=True)
        assert time.monotonic() - t0 < 1.0, "held back by the interval of an empty step"
    finally:
        stop.set()
        worker.wake.set()
        thread.join(10)
