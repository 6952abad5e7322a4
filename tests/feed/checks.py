"""What the feed tests start and check: the publisher process, the log it follows, the stream it fills."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ledger.export import jsonl_line
from ledger.postgres.reader import follow
from ledger.recorded import RecordedEvent
from projections.engine.status import status
from projections.feed import FEED
from tests.faults.harness import Conn, Processes, Service, eventually, service_env
from tests.feed.broker import NatsServer
from tests.feed.stream import Received, read_stream

ORGANIZATION_KEYS = ("customer_organization_id", "oraseas_organization_id", "ordering_organization_id")
WAREHOUSE_KEYS = ("from_warehouse_id", "to_warehouse_id", "warehouse_id")


def start_publisher(processes: Processes, database_url: str, broker: NatsServer, **env: str) -> Service:
    """`abparts publish` against the test's database and broker, once it says it runs."""
    environment = service_env(database_url, ABPARTS_NATS_URL=broker.url, **env)
    service = processes.start("publish", ["publish"], environment)
    eventually(lambda: "projecting" in service.tail() or not service.alive(), 30, "publisher start")
    assert service.alive(), f"abparts publish exited:\n{service.tail()}"
    return service


def caught_up(conn: Conn) -> bool:
    """The feed's checkpoint is at the end of the log."""
    row = status(conn, (FEED,))[0]
    return row.updated_at is not None and row.lag_events == 0


def log_events(conn: Conn) -> list[RecordedEvent]:
    """The whole committed log, in commit-safe order."""
    return list(follow(conn, batch=10_000))


def organizations_concerned(conn: Conn, events: list[RecordedEvent]) -> dict[int, set[str]]:
    """Each event's organizations, worked out here in Python (the feed does it in SQL)."""
    owners = {str(w): str(o) for w, o in conn.execute("SELECT id, organization_id FROM warehouses")}
    heads = {e.stream_id: e.payload for e in events if e.stream_version == 1}
    result = {}
    for event in events:
        orgs: set[str] = set()
        for payload in (event.payload, heads[event.stream_id]):
            orgs |= {str(payload[k]) for k in ORGANIZATION_KEYS if payload.get(k)}
            orgs |= {owners[str(payload[k])] for k in WAREHOUSE_KEYS if payload.get(k)}
        result[event.position] = orgs
    return result


def check_stream_holds_log_once(conn: Conn, broker: NatsServer) -> list[Received]:
    """Every event, once per organization it concerns, in log order, with its export record as body."""
    events = log_events(conn)
    received = read_stream(broker.url)
    concerned = organizations_concerned(conn, events)
    by_position = {e.position: e for e in events}

    ids = Counter(m.message_id for m in received)
    assert [i for i, n in ids.items() if n > 1] == [], "a message is in the stream more than once"
    got = {(m.record["position"], m.organization) for m in received}
    expected = {(e.position, org) for e in events for org in concerned[e.position]}
    assert got == expected
    assert len(received) == len(expected)
    order = [m.record["position"] for m in received]
    assert _runs(order) == [e.position for e in events], "the stream is not in the log's order"
    for message in received:
        event = by_position[message.record["position"]]
        assert message.record == _exported(event)
        assert message.subject == f"abparts.{message.organization}.{event.event_type}"
        assert message.message_id == f"{event.position}:{message.organization}"
    return received


def _exported(event: RecordedEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(jsonl_line(event))
    return loaded


def _runs(positions: list[int]) -> list[int]:
    """Positions with each run of copies of one event collapsed into one."""
    return [p for i, p in enumerate(positions) if i == 0 or positions[i - 1] != p]
