"""Concurrent writers: no global lock, nothing missed by a follower, no oversell under `reject`."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest

from ledger import errors
from ledger.commands import ConsumeStock, CountedItem, CountStock, CreateStock, TransferStock
from ledger.fold import fold_stock
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.connection import Connection
from ledger.postgres.context import MANY_LEVELS
from ledger.postgres.reader import read_events
from ledger.postgres.service import PostgresLedger
from ledger.recorded import START, CommandMetadata, RecordedEvent
from tests.fixtures.ledger import Site, make_site
from tests.fixtures.world import World

pytestmark = [pytest.mark.db, pytest.mark.slow]
D = Decimal
WRITERS = 16


def in_parallel(url: str, workers: int, job: Callable[[Connection, int], None]) -> None:
    barrier = threading.Barrier(workers)

    def one(n: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            barrier.wait()
            job(conn, n)

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(one, n) for n in range(workers)]:
            future.result()


def test_sixteen_writers_and_a_follower_that_misses_nothing(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as setup:
        site = make_site(World(setup))
    ledger = PostgresLedger(Policy())
    acknowledged: list[int] = []
    lock = threading.Lock()
    followed: list[RecordedEvent] = []
    done = threading.Event()

    def follower() -> None:
        checkpoint = START
        deadline = time.monotonic() + 120
        with psycopg.connect(fresh_db_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                finished = done.is_set()
                batch = read_events(conn, checkpoint, limit=50)
                followed.extend(batch)
                if batch:
                    checkpoint = batch[-1].checkpoint
                elif finished and len(followed) >= len(acknowledged):
                    return
                else:
                    time.sleep(0.005)

    def writer(conn: Connection, n: int) -> None:
        rng = random.Random(n)
        for _ in range(12):
            a, b = (site.a, site.b) if rng.random() < 0.5 else (site.b, site.a)
            command = rng.choice(
                [
                    CreateStock(part_id=site.part, to_warehouse_id=a, quantity=D(rng.randint(1, 9))),
                    TransferStock(part_id=site.part, from_warehouse_id=a, to_warehouse_id=b, quantity=D(1)),
                    ConsumeStock(part_id=site.part, from_warehouse_id=a, quantity=D(1)),
                ]
            )
            assert isinstance(command, CreateStock | TransferStock | ConsumeStock)
            result = ledger.execute(conn, command, CommandMetadata(performed_by_user_id=site.user))
            assert result.position is not None
            with lock:
                acknowledged.append(result.position)

    watcher = threading.Thread(target=follower)
    watcher.start()
    try:
        in_parallel(fresh_db_url, WRITERS, writer)
    finally:
        done.set()
        watcher.join(timeout=60)
    positions = [e.position for e in followed]
    assert len(positions) == len(set(positions)) == WRITERS * 12
    assert set(positions) == set(acknowledged)
    assert [e.checkpoint for e in followed] == sorted(e.checkpoint for e in followed)
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute("SELECT warehouse_id, part_id, on_hand FROM ledger_stock_levels").fetchall()
    stored = {(r[0], r[1]): r[2] for r in rows if r[2] != 0}
    assert fold_stock(e.event() for e in followed) == stored


def test_concurrent_consumers_never_oversell_under_reject(fresh_db_url: str) -> None:
    policy = Policy(negative_stock=NegativeStockPolicy.REJECT)
    ledger = PostgresLedger(policy)
    with psycopg.connect(fresh_db_url, autocommit=True) as setup:
        site: Site = make_site(World(setup))
        metadata = CommandMetadata(performed_by_user_id=site.user)
        ledger.execute(
            setup, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), metadata
        )
    outcomes: list[str] = []
    lock = threading.Lock()

    def consumer(conn: Connection, n: int) -> None:
        for _ in range(3):
            try:
                ledger.execute(
                    conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1)), metadata
                )
                outcome = "sold"
            except errors.InsufficientStock:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)

    in_parallel(fresh_db_url, WRITERS, consumer)
    assert outcomes.count("sold") == 10
    assert outcomes.count("refused") == WRITERS * 3 - 10
    with psycopg.connect(fresh_db_url) as conn:
        row = conn.execute(
            "SELECT on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s",
            [site.a, site.part],
        ).fetchone()
    assert row == (D(0),)


def test_a_level_another_writer_creates_meanwhile_is_read_again_not_taken_as_zero(fresh_db_url: str) -> None:
    # b's read-and-lock neither finds the level a creates (not in its snapshot) nor creates it
    # (a's row wins the insert): it must run again and count against a's committed 2, not 0.
    with (
        psycopg.connect(fresh_db_url, autocommit=True) as a,
        psycopg.connect(fresh_db_url, autocommit=True) as b,
    ):
        site = make_site(World(a))
        ledger = PostgresLedger(Policy())
        metadata = CommandMetadata(performed_by_user_id=site.user)
        create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2))
        others = [World(a).part("consumable") for _ in range(MANY_LEVELS)]  # the many-levels lock
        items = [CountedItem(part_id=p, counted_quantity=D(0)) for p in others]
        count = CountStock(
            warehouse_id=site.a, items=(CountedItem(part_id=site.part, counted_quantity=D(5)), *items)
        )
        with ThreadPoolExecutor(1) as pool:
            with a.transaction():
                ledger.execute(a, create, metadata)  # the level row exists, uncommitted
                counted = pool.submit(ledger.execute, b, count, metadata)
                time.sleep(0.5)  # b waits on a's uncommitted row
                assert not counted.done()
            [adjusted] = [e for e in counted.result(timeout=30).events if e.event_type == "StockAdjusted"]
        [(_, payload)] = a.execute(
            "SELECT position, payload FROM ledger_events WHERE position = %s", [adjusted.position]
        ).fetchall()
        assert (payload["to_warehouse_id"], D(payload["quantity"])) == (str(site.a), D(3))
        row = a.execute(
            "SELECT on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s",
            [site.a, site.part],
        ).fetchone()
        assert row == (D(5),)
