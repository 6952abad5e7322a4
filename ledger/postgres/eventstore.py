"""Append events to ledger_events and load streams back, with per-stream optimistic concurrency.

A duplicate (stream_id, stream_version) is a concurrency conflict, caught by the
database's unique constraint: the loser gets ConcurrencyConflict and may retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ledger.errors import ConcurrencyConflict
from ledger.events import Event
from ledger.recorded import GENESIS, CommandMetadata, RecordedEvent, event_hash, hash_body

Connection = psycopg.Connection[TupleRow]

STREAM_VERSION_CONSTRAINT = "ledger_events_stream_version_uc"

COLUMNS = """position, transaction_id::text::bigint, stream_id, stream_version, event_type,
    schema_version, payload, performed_by_user_id, request_id, idempotency_key, correlation_id,
    causation_id, recorded_at, previous_hash, hash"""

INSERT = """
INSERT INTO ledger_events (stream_id, stream_version, event_type, schema_version, payload,
    performed_by_user_id, request_id, idempotency_key, correlation_id, causation_id,
    recorded_at, previous_hash, hash)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING position, transaction_id::text::bigint
"""


def row_to_event(row: Sequence[Any]) -> RecordedEvent:
    """Map a row selected with COLUMNS to a RecordedEvent."""
    return RecordedEvent(
        position=row[0],
        transaction_id=row[1],
        stream_id=row[2],
        stream_version=row[3],
        event_type=row[4],
        schema_version=row[5],
        payload=row[6],
        metadata=CommandMetadata(
            performed_by_user_id=row[7],
            request_id=row[8],
            idempotency_key=row[9],
            correlation_id=row[10],
            causation_id=row[11],
        ),
        recorded_at=row[12],
        previous_hash=bytes(row[13]),
        hash=bytes(row[14]),
    )


def load_streams(conn: Connection, stream_ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
    """Every event of the given streams, in version order."""
    ids = sorted(set(stream_ids))
    streams: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in ids}
    if not ids:
        return streams
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM ledger_events WHERE stream_id = ANY(%s) ORDER BY stream_id, stream_version",
        [ids],
    ).fetchall()
    for row in rows:
        event = row_to_event(row)
        streams[event.stream_id].append(event)
    return streams


def append(
    conn: Connection,
    events: Sequence[tuple[str, Event]],
    heads: dict[str, tuple[int, bytes]],
    metadata: CommandMetadata,
    recorded_at: datetime,
) -> list[RecordedEvent]:
    """Insert `events` after the given stream heads (version, hash); new streams start at 1.

    Raises ConcurrencyConflict when another writer appended to one of the streams first.
    """
    recorded: list[RecordedEvent] = []
    params: list[tuple[object, ...]] = []
    heads = dict(heads)
    for stream_id, event in events:
        version, previous = heads.get(stream_id, (0, GENESIS))
        payload = event.model_dump(mode="json")
        body = hash_body(
            stream_id, version + 1, event.event_type, event.schema_version, payload, metadata, recorded_at
        )
        digest = event_hash(previous, body)
        heads[stream_id] = (version + 1, digest)
        params.append(
            (
                stream_id,
                version + 1,
                event.event_type,
                event.schema_version,
                Jsonb(payload),
                metadata.performed_by_user_id,
                metadata.request_id,
                metadata.idempotency_key,
                metadata.correlation_id,
                metadata.causation_id,
                recorded_at,
                previous,
                digest,
            )
        )
        recorded.append(
            RecordedEvent(
                position=0,
                transaction_id=0,
                stream_id=stream_id,
                stream_version=version + 1,
                event_type=event.event_type,
                schema_version=event.schema_version,
                payload=payload,
                metadata=metadata,
                recorded_at=recorded_at,
                previous_hash=previous,
                hash=digest,
            )
        )
    if not params:
        return []
    with conn.cursor() as cur:
        try:
            cur.executemany(INSERT, params, returning=True)
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name == STREAM_VERSION_CONSTRAINT:
                raise ConcurrencyConflict("another writer appended to the same stream first") from error
            raise
        positions = []
        while True:
            row = cur.fetchone()
            assert row is not None
            positions.append((int(row[0]), int(row[1])))
            if not cur.nextset():
                break
    return [
        _with_position(event, position, xid)
        for event, (position, xid) in zip(recorded, positions, strict=True)
    ]


def _with_position(event: RecordedEvent, position: int, transaction_id: int) -> RecordedEvent:
    from dataclasses import replace

    return replace(event, position=position, transaction_id=transaction_id)
