"""An event in the form auditors receive it: every column, as its hash covers it.

`abparts export` writes these records (JSON Lines or CSV) and `GET /ledger/events`
answers them: payload as stored, recorded_at in UTC ISO 8601, hashes in hex, so
an auditor can recompute every stream's chain from the records alone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.recorded import CommandMetadata, LogCheckpoint, RecordedEvent, canonical
from ledger.types import utc

FIELDS = (
    "position",
    "transaction_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "payload",
    "performed_by_user_id",
    "request_id",
    "idempotency_key",
    "correlation_id",
    "causation_id",
    "recorded_at",
    "previous_hash",
    "hash",
)


def record(event: RecordedEvent) -> dict[str, Any]:
    """One exported record: every column, JSON-ready, in the form the event's hash covers."""
    meta = event.metadata
    return {
        "position": event.position,
        "transaction_id": event.transaction_id,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "payload": event.payload,
        "performed_by_user_id": _text(meta.performed_by_user_id),
        "request_id": meta.request_id,
        "idempotency_key": meta.idempotency_key,
        "correlation_id": _text(meta.correlation_id),
        "causation_id": _text(meta.causation_id),
        "recorded_at": utc(event.recorded_at).isoformat(),
        "previous_hash": event.previous_hash.hex(),
        "hash": event.hash.hex(),
    }


def event_from_record(record: dict[str, Any]) -> RecordedEvent:
    """The event rebuilt from its exported record alone (KeyError, TypeError or ValueError if malformed)."""
    return RecordedEvent(
        position=int(record["position"]),
        transaction_id=int(record["transaction_id"]),
        stream_id=str(record["stream_id"]),
        stream_version=int(record["stream_version"]),
        event_type=str(record["event_type"]),
        schema_version=int(record["schema_version"]),
        payload=dict(record["payload"]),
        metadata=CommandMetadata(
            performed_by_user_id=UUID(record["performed_by_user_id"]),
            request_id=record["request_id"],
            idempotency_key=record["idempotency_key"],
            correlation_id=_uuid(record["correlation_id"]),
            causation_id=_uuid(record["causation_id"]),
        ),
        recorded_at=datetime.fromisoformat(record["recorded_at"]),
        previous_hash=bytes.fromhex(record["previous_hash"]),
        hash=bytes.fromhex(record["hash"]),
    )


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


SEAL_RECORD = "seal"


def seal_line(
    number: int,
    after: LogCheckpoint,
    through: LogCheckpoint,
    event_count: int,
    previous: bytes,
    digest: bytes,
) -> str:
    """A seal as one JSON line of an export: the events it covers are those after `after` through `through`.

    Its `record` key tells it from an event record (which has none).
    """
    document = {
        "record": SEAL_RECORD,
        "seal_number": number,
        "after_transaction_id": after.transaction_id,
        "after_position": after.position,
        "through_transaction_id": through.transaction_id,
        "through_position": through.position,
        "event_count": event_count,
        "previous_digest": previous.hex(),
        "digest": digest.hex(),
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def jsonl_line(event: RecordedEvent) -> str:
    """The event as one line of JSON (ASCII-only, so any terminal or file encoding keeps it intact)."""
    return json.dumps(record(event), separators=(",", ":")) + "\n"


def csv_row(event: RecordedEvent) -> list[str]:
    """The event as CSV cells in FIELDS order: payload as canonical JSON text, null as empty."""
    cells = record(event)
    cells["payload"] = canonical(event.payload).decode()
    return ["" if cells[name] is None else str(cells[name]) for name in FIELDS]
