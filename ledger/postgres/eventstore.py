"""The rows of ledger_events: load streams back, and number and hash-chain new events for an append.

A duplicate (stream_id, stream_version) is a concurrency conflict, caught by the
database's unique constraint when commit.py inserts: the loser gets
ConcurrencyConflict and may retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from ledger.events import MOVEMENT_TYPES, Event
from ledger.postgres.connection import Connection
from ledger.postgres.wire import Statement, execute, text_array
from ledger.recorded import (
    GENESIS,
    CommandMetadata,
    RecordedEvent,
    body_bytes,
    canonical_text,
    fixed_hash_fields,
)

STREAM_VERSION_CONSTRAINT = "ledger_events_stream_version_uc"

_SORTED = orjson.OPT_SORT_KEYS
_SORTED_Z = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z
_DIRECT = frozenset(MOVEMENT_TYPES)
_UTC = timedelta(0)

COLUMNS = """position, writer_xid::text::bigint, stream_id, stream_version, event_type,
    schema_version, payload, performed_by_user_id, request_id, idempotency_key, correlation_id,
    causation_id, recorded_at, previous_hash, hash"""


_STREAMS = Statement(
    "ledger_streams",
    f"SELECT {COLUMNS} FROM ledger_events WHERE stream_id = ANY(%(ids)s::text[]) "
    "ORDER BY stream_id, stream_version",
)


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
    rows = execute(conn, _STREAMS, {"ids": text_array(ids)}, read=True).fetchall()
    for row in rows:
        event = row_to_event(row)
        streams[event.stream_id].append(event)
    return streams


def payload_text(payload: object) -> str:
    """recorded.canonical_text(payload), by orjson: the same text at a fifth of the cost.

    The same text for what an event's JSON form holds (strings, null, true/false, lists, objects:
    no event has a float or an int field, which tests/ledger/test_payload_text.py checks with the
    bytes of many generated events): orjson escapes a string as the json module does without
    ensure_ascii, and sorts keys by code point. What orjson refuses (an int past 64 bits, a lone
    surrogate) goes to the json module, which gives the text (or the error) as before.
    """
    try:
        return orjson.dumps(payload, option=_SORTED).decode()
    except TypeError:
        return canonical_text(payload)


def movement_text(event: Event) -> str | None:
    """A movement's canonical payload text straight from its fields, without pydantic's JSON-mode
    dict (the dearest step left of a stocktake's chain): None for any other event, or a date not in
    UTC (orjson writes an offset of seconds otherwise). A movement holds ids, Decimals (their str,
    as pydantic writes them), text, booleans, a tuple of text and one UTC date (with OPT_UTC_Z
    written as pydantic writes it); tests/ledger/test_payload_text.py compares the bytes."""
    if type(event) not in _DIRECT or event.transaction_date.utcoffset() != _UTC:  # type: ignore[attr-defined]
        return None
    try:
        return orjson.dumps(event.__dict__, default=_decimal_text, option=_SORTED_Z).decode()
    except TypeError:  # a value of another type (or a lone surrogate): pydantic's path decides
        return None


def _decimal_text(value: object) -> str:
    if type(value) is Decimal:
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class NewEvent(NamedTuple):
    """An event ready to insert: its place in its stream, its payload as JSON text, its hashes.

    A named tuple: a stocktake makes hundreds, and a frozen dataclass sets each field in Python.
    """

    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload_json: str
    previous_hash: bytes
    hash: bytes


def chain(
    events: Sequence[tuple[str, Event]],
    heads: dict[str, tuple[int, bytes]],
    metadata: CommandMetadata,
    recorded_at: datetime,
) -> list[NewEvent]:
    """Number and hash `events` after the given stream heads (version, hash); new streams start at 1.

    Each payload is encoded once: the same canonical JSON text is hashed and stored.
    """
    heads = dict(heads)
    prepared: list[NewEvent] = []
    fixed = fixed_hash_fields(metadata, recorded_at)
    for stream_id, event in events:
        version, previous = heads.get(stream_id, (0, GENESIS))
        # model_dump(mode="json")'s own serializer, without its Python wrapper (same dict).
        payload_json = movement_text(event) or payload_text(
            event.__pydantic_serializer__.to_python(event, mode="json")
        )
        body = body_bytes(stream_id, version + 1, event.event_type, event.schema_version, payload_json, fixed)
        digest = hashlib.sha256(previous + body).digest()
        heads[stream_id] = (version + 1, digest)
        prepared.append(
            NewEvent(
                stream_id, version + 1, event.event_type, event.schema_version, payload_json, previous, digest
            )
        )
    return prepared
