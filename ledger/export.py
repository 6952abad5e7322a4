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

from ledger.recorded import CommandMetadata, RecordedEvent, canonical
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


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def from_record(fields: dict[str, Any]) -> RecordedEvent:
    """The event back from one exported record (a JSON Lines line or a change feed message's body).

    The inverse of record(): `from_record(r).computed_hash()` recomputes the hash from the record's
    content alone, which is how a consumer checks what it received. KeyError or ValueError if the
    record lacks a field or holds a malformed one.
    """
    return RecordedEvent(
        position=int(fields["position"]),
        transaction_id=int(fields["transaction_id"]),
        stream_id=str(fields["stream_id"]),
        stream_version=int(fields["stream_version"]),
        event_type=str(fields["event_type"]),
        schema_version=int(fields["schema_version"]),
        payload=dict(fields["payload"]),
        metadata=CommandMetadata(
            performed_by_user_id=UUID(fields["performed_by_user_id"]),
            request_id=fields["request_id"],
            idempotency_key=fields["idempotency_key"],
            correlation_id=_uuid(fields["correlation_id"]),
            causation_id=_uuid(fields["causation_id"]),
        ),
        recorded_at=datetime.fromisoformat(fields["recorded_at"]),
        previous_hash=bytes.fromhex(fields["previous_hash"]),
        hash=bytes.fromhex(fields["hash"]),
    )


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def jsonl_line(event: RecordedEvent) -> str:
    """The event as one line of JSON (ASCII-only, so any terminal or file encoding keeps it intact)."""
    return json.dumps(record(event), separators=(",", ":")) + "\n"


def csv_row(event: RecordedEvent) -> list[str]:
    """The event as CSV cells in FIELDS order: payload as canonical JSON text, null as empty."""
    cells = record(event)
    cells["payload"] = canonical(event.payload).decode()
    return ["" if cells[name] is None else str(cells[name]) for name in FIELDS]
