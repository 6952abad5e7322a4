"""Real commands while the broker dies and comes back: the publisher resumes by itself, and a consumer
replaying from where it stopped recomputes every hash and links every chain from the messages alone."""

from __future__ import annotations

import threading
import time
from decimal import Decimal as D

import psycopg
import pytest

from ledger.commands import ConsumeStock, CreateStock, TransferStock
from ledger.export import event_from_record
from ledger.recorded import GENESIS
from tests.faults.harness import Processes, eventually
from tests.feed.broker import NatsServer
from tests.feed.checks import caught_up, check_stream_holds_log_once, start_publisher
from tests.feed.stream import read_stream
from tests.fixtures.ledger import Site, make_site, run
from tests.fixtures.world import World

pytestmark = [pytest.mark.db]


def _load(url: str, site: Site, commands: int, stop: threading.Event | None = None) -> int:
    """Creations, transfers and consumptions, one command at a time; how many ran (`stop` ends it early)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(commands):
            if stop is not None and stop.is_set():
                return i
            if i % 3 == 0:
                run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3)), site)
            elif i % 3 == 1:
                transfer = TransferStock(
                    part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(1)
                )
                run(conn, transfer, site)
            else:
                run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.b, quantity=D(1)), site)
    return commands


def test_a_broker_restart_under_load_is_survived_without_help(
    processes: Processes, feed_db: str, broker: NatsServer
) -> None:
    with psycopg.connect(feed_db, autocommit=True) as conn:
        site = make_site(World(conn))
        publisher = start_publisher(processes, feed_db, broker, ABPARTS_FEED_BATCH_SIZE="10")
        stop = threading.Event()
        ran: list[int] = []
        load = threading.Thread(target=lambda: ran.append(_load(feed_db, site, 600, stop)), daemon=True)
        load.start()
        try:
            eventually(lambda: len(read_stream(broker.url)) >= 50, 30, "the feed under way")
            broker.kill()
            time.sleep(1.0)  # commands keep committing while the broker is away
            broker.start()  # same port, same store
            load.join(120)
        finally:
            stop.set()  # never leave the load running into the database's teardown
            load.join(30)
        assert ran == [600], "the load did not finish"
        eventually(lambda: caught_up(conn), 60, "feed caught up after the broker came back")
        assert publisher.alive(), f"the publisher gave up:\n{publisher.tail()}"
        assert "unavailable" in publisher.tail(200), "the broker's absence went unnoticed"
        check_stream_holds_log_once(conn, broker)


def test_a_consumer_replays_from_its_place_and_verifies_every_hash(
    processes: Processes, feed_db: str, broker: NatsServer
) -> None:
    with psycopg.connect(feed_db, autocommit=True) as conn:
        site = make_site(World(conn))
        _load(feed_db, site, 30)
        start_publisher(processes, feed_db, broker)
        eventually(lambda: caught_up(conn), 30, "feed caught up")
    subject = f"abparts.{site.org}.>"
    first = read_stream(broker.url, subject)
    place = first[len(first) // 2].sequence  # the consumer stopped here and remembers each stream's hash
    last_hash = {}
    for message in first:
        if message.sequence <= place:
            last_hash[message.record["stream_id"]] = message.record["hash"]

    replayed = read_stream(broker.url, subject, start=place + 1)
    assert [m.sequence for m in replayed] == [m.sequence for m in first if m.sequence > place]
    for message in replayed:
        event = event_from_record(message.record)
        assert event.computed_hash() == event.hash, f"hash of position {event.position}"
        expected_previous = last_hash.get(event.stream_id, GENESIS.hex())
        assert event.previous_hash.hex() == expected_previous, f"chain at position {event.position}"
        last_hash[event.stream_id] = message.record["hash"]
    # The check can fail: one changed quantity, and the recomputed hash no longer matches.
    tampered = dict(replayed[0].record, payload={**replayed[0].record["payload"], "quantity": "999"})
    assert event_from_record(tampered).computed_hash() != event_from_record(tampered).hash
