"""The change feed against a real nats-server: every event once, in order, through crashes of either side."""

from __future__ import annotations

import psycopg
import pytest

from bench import dataset
from projections.engine.runner import checkpoint
from projections.feed import FEED
from tests.faults.harness import Conn, Processes, eventually
from tests.feed.broker import NatsServer
from tests.feed.checks import caught_up, check_stream_holds_log_once, start_publisher
from tests.feed.stream import last_position, read_stream

pytestmark = [pytest.mark.db]


def test_every_event_arrives_once_in_log_order(
    processes: Processes, feed_db: str, broker: NatsServer
) -> None:
    with psycopg.connect(feed_db, autocommit=True) as conn:
        dataset.create_reference(conn)
        dataset.generate(conn, 3000, per_transaction=700)
        publisher = start_publisher(processes, feed_db, broker, ABPARTS_FEED_BATCH_SIZE="400")
        eventually(lambda: caught_up(conn), 60, "feed caught up")
        received = check_stream_holds_log_once(conn, broker)
        assert publisher.alive()
    # A transfer between two customers reaches both: more messages than events.
    assert len(received) > len({m.record["position"] for m in received})
    # One organization's subscription holds exactly that organization's copies.
    organization = received[0].organization
    mine = read_stream(broker.url, f"abparts.{organization}.>")
    assert [m.message_id for m in mine] == [m.message_id for m in received if m.organization == organization]


def test_kill_9_of_the_publisher_mid_stream_leaves_each_event_once(
    processes: Processes, feed_db: str, broker: NatsServer
) -> None:
    with psycopg.connect(feed_db, autocommit=True) as conn:
        dataset.create_reference(conn)
        dataset.generate(conn, 12_000, per_transaction=2000)
        killed_ahead = 0
        for _ in range(3):  # until one kill lands after a publish and before its checkpoint
            publisher = start_publisher(processes, feed_db, broker, ABPARTS_FEED_BATCH_SIZE="1000")
            eventually(lambda: checkpoint(conn, FEED.name).position > 0 or caught_up(conn), 30, "a batch")
            eventually(lambda: _stream_ahead(conn, broker) or caught_up(conn), 30, "a batch in flight")
            publisher.kill9()
            if _stream_ahead(conn, broker):
                killed_ahead += 1
                break
        assert killed_ahead, "no kill landed between a publish and its checkpoint"
        assert not caught_up(conn)
        start_publisher(processes, feed_db, broker, ABPARTS_FEED_BATCH_SIZE="1000")
        eventually(lambda: caught_up(conn), 60, "feed caught up after the restart")
        check_stream_holds_log_once(conn, broker)


def _stream_ahead(conn: Conn, broker: NatsServer) -> bool:
    """The stream holds an event the feed's checkpoint does not yet cover (a batch not checkpointed)."""
    return last_position(broker.url) > checkpoint(conn, FEED.name).position
