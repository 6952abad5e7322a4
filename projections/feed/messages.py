"""What the feed publishes for a batch of events: subject, body and message id of each message.

An event goes to every organization it concerns, one message each, on the subject
`abparts.<organization id>.<event type>`, so a consumer subscribes to what its
organization may see (`abparts.<its id>.>`):

- a movement (and its approval, rejection, reversal, date correction): the owners of its
  warehouses, from and to (a transfer between two organizations reaches both);
- a customer order's events: the customer and Oraseas EE;
- a supplier order's events: the ordering organization (Oraseas EE).

The organizations are read from the event's payload and from its stream's first event (a
decision carries only the movement's id), joined to `warehouses` for the owners.

The body is the event exactly as `abparts export` writes a JSON Lines record (hash and
previous hash included), so a consumer can verify the chain. The message id
(`Nats-Msg-Id`) is `<position>:<organization id>`: the log position, made unique per copy,
because two copies of one event under one id would de-duplicate each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.export import jsonl_line
from ledger.postgres.connection import Connection
from ledger.recorded import RecordedEvent

PREFIX = "abparts"
# An event no organization can be found for still reaches the stream (never dropped), here.
UNOWNED = "unowned"

ORGANIZATIONS = """
WITH batch AS (
    SELECT e.position, e.payload, h.payload AS head
    FROM ledger_events e
    LEFT JOIN ledger_events h ON h.stream_id = e.stream_id AND h.stream_version = 1
    WHERE e.position = ANY(%(positions)s::bigint[])
),
payloads AS (
    SELECT b.position, p.body FROM batch b CROSS JOIN LATERAL (VALUES (b.payload), (b.head)) AS p(body)
    WHERE p.body IS NOT NULL
),
concerned AS (
    SELECT p.position, (p.body->>k.key)::uuid AS organization_id
    FROM payloads p
    CROSS JOIN unnest(ARRAY['customer_organization_id', 'oraseas_organization_id',
                            'ordering_organization_id']) AS k(key)
    WHERE p.body->>k.key IS NOT NULL
    UNION
    SELECT p.position, w.organization_id
    FROM payloads p
    CROSS JOIN unnest(ARRAY['from_warehouse_id', 'to_warehouse_id', 'warehouse_id']) AS k(key)
    JOIN warehouses w ON w.id = (p.body->>k.key)::uuid
)
SELECT position, array_agg(DISTINCT organization_id::text ORDER BY organization_id::text)
FROM concerned GROUP BY position
"""


@dataclass(frozen=True)
class FeedMessage:
    """One message of the feed."""

    subject: str
    body: bytes
    message_id: str
    position: int


def organizations(conn: Connection, positions: list[int]) -> dict[int, list[str]]:
    """The organizations each event at `positions` concerns (sorted; an event with none is absent)."""
    rows = conn.execute(ORGANIZATIONS, {"positions": positions}).fetchall()
    return {int(position): list(orgs) for position, orgs in rows}


def messages(conn: Connection, events: list[RecordedEvent]) -> list[FeedMessage]:
    """The messages for `events`, in their order (an event's copies in organization order)."""
    concerned = organizations(conn, [e.position for e in events])
    result = []
    for event in events:
        body = jsonl_line(event).rstrip("\n").encode()
        for organization in concerned.get(event.position, [UNOWNED]):
            result.append(
                FeedMessage(
                    subject=f"{PREFIX}.{organization}.{event.event_type}",
                    body=body,
                    message_id=f"{event.position}:{organization}",
                    position=event.position,
                )
            )
    return result
