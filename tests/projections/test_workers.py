"""Workers: exactly once whatever fails, one active worker per projection, late commits, read-your-writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from ledger.commands import CreateStock
from ledger.recorded import START
from projections.engine.freshness import is_projected, wait_until_projected
from projections.engine.runner import apply_batch, checkpoint
from projections.engine.worker import ProjectionWorker, ProjectorHub
from projections.read_models.inventory import PROJECTION as INVENTORY
from projections.registry import ALL
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World
from tests.projections.conftest import catch_up, inventory, log_fold

pytestmark = pytest.mark.db
D = Decimal


class Boom(Exception):
    """A failure injected between writing the read rows and committing."""


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own, with a site in it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


def create(conn: Conn, site: Site, quantity: int, part: UUID | None = None) -> int:
    result = run(
        conn, CreateStock(part_id=part or site.part, to_warehouse_id=site.a, quantity=D(quantity)), site
    )
    assert result.position is not None
    return result.position


def events_in_log(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def applied(conn: Conn, name: str) -> int:
    row = conn.execute("SELECT events_applied FROM projection_checkpoints WHERE name = %s", [name]).fetchone()
    return int(row[0]) if row else 0


def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_failure_before_commit_applies_nothing(own: tuple[Conn, Site]) -> None:
    conn, site = own
    for n in (1, 2, 3):
        create(conn, site, n)
    with pytest.raises(Boom), conn.transaction():
        assert apply_batch(conn, INVENTORY, 1000) == 3
        raise Boom
    assert checkpoint(conn, "inventory") == START
    assert inventory(conn) == {}
    catch_up(conn)
    assert inventory(conn) == log_fold(conn) == {(site.a, site.part): D(6)}
    assert applied(conn, "inventory") == events_in_log(conn)


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = own
    for n in range(1, 6):
        create(conn, site, n)
    with (
        psycopg.connect(fresh_db_url, autocommit=True) as doomed,
        pytest.raises(psycopg.OperationalError),
        doomed.transaction(),
    ):
        apply_batch(doomed, INVENTORY, 2)  # the rows are written, not committed
        conn.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
        doomed.execute("SELECT 1")
    assert inventory(conn) == {}
    catch_up(conn, batch=2)
    assert inventory(conn) == log_fold(conn)
    assert applied(conn, "inventory") == events_in_log(conn)


def test_a_running_worker_survives_losing_its_connection(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    stop = threading.Event()
    worker = ProjectionWorker(fresh_db_url, INVENTORY, stop, batch_size=2, poll_interval=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        eventually(worker.active.is_set)
        create(conn, site, 1)
        killed = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchone()
        assert killed == (1,)  # the worker's connection
        create(conn, site, 2)
        eventually(lambda: inventory(conn) == log_fold(conn) == {(site.a, site.part): D(3)})
        assert applied(conn, "inventory") == events_in_log(conn)
    finally:
        stop.set()
        thread.join(10)


def test_two_workers_on_one_projection_one_applies_the_other_takes_over(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = own
    stops = [threading.Event(), threading.Event()]
    workers = [ProjectionWorker(fresh_db_url, INVENTORY, s, batch_size=1, poll_interval=0.05) for s in stops]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        for n in range(1, 11):
            create(conn, site, n)
        eventually(lambda: applied(conn, "inventory") == events_in_log(conn))
        assert [w.active.is_set() for w in workers].count(True) == 1
        assert inventory(conn) == log_fold(conn) == {(site.a, site.part): D(55)}

        first = next(i for i, w in enumerate(workers) if w.active.is_set())
        stops[first].set()
        threads[first].join(10)
        other = workers[1 - first]
        eventually(other.active.is_set)
        create(conn, site, 45)
        eventually(lambda: inventory(conn) == {(site.a, site.part): D(100)})
        assert applied(conn, "inventory") == events_in_log(conn)
    finally:
        for s in stops:
            s.set()
        for t in threads:
            t.join(10)


def test_an_event_committing_late_is_still_projected(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    with (
        psycopg.connect(fresh_db_url, autocommit=True) as early,
        psycopg.connect(fresh_db_url, autocommit=True) as late,
    ):
        with early.transaction():
            held = create(early, site, 1)  # takes its position first, commits last
            later = create(late, site, 2, site.bulk)
            assert later > held
            catch_up(conn)
            assert not is_projected(conn, ["inventory"], later)  # waits behind the open transaction
        catch_up(conn)
    assert inventory(conn) == log_fold(conn) == {(site.a, site.part): D(1), (site.a, site.bulk): D(2)}
    assert is_projected(conn, [p.name for p in ALL], held) and is_projected(conn, ["inventory"], later)


def test_reads_can_wait_for_their_own_writes(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    position = create(conn, site, 4)
    assert not wait_until_projected(conn, ["inventory"], position, timeout=0.05)
    hub = ProjectorHub(fresh_db_url, ALL, poll_interval=0.05)
    hub.start()
    try:
        position = create(conn, site, 5)
        hub.wake()
        assert wait_until_projected(conn, [p.name for p in ALL], position, timeout=20)
        assert inventory(conn) == {(site.a, site.part): D(9)}
    finally:
        hub.stop()


def test_the_inventory_is_projected_while_a_snapshot_waits(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    """Snapshots are taken beside the inventory's worker, not in its loop: one that waits stops no batch."""
    conn, site = own
    hub = ProjectorHub(fresh_db_url, ALL, poll_interval=0.05, snapshot_interval=1)
    try:
        with psycopg.connect(fresh_db_url, autocommit=True) as blocker, blocker.transaction():
            # Every snapshot waits to mark the head (a SHARE lock takes no transaction id: it holds
            # back no batch itself, as an ACCESS EXCLUSIVE one, logged for standbys, would).
            blocker.execute("LOCK TABLE stock_snapshot_marks IN SHARE MODE")
            hub.start()
            create(conn, site, 1)
            time.sleep(1.5)  # the snapshots' first look (a second after the start) waits by now
            position = create(conn, site, 2)
            hub.wake()
            assert wait_until_projected(conn, ["inventory"], position, timeout=5)
        snapshots = "SELECT count(*) FROM stock_snapshots"
        eventually(lambda: conn.execute(snapshots).fetchone() != (0,))  # once the lock is gone
    finally:
        hub.stop()
