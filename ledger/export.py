"""An event in the form auditors receive it: every column, as its hash covers it.

`abparts export` writes these records (JSON Lines or CSV) and `GET /ledger/events`
answers them: payload as stored, recorded_at in UTC ISO 8601, hashes in hex, so
an auditor can recompute every stream's chain from the records alone.

Beside the record, and never inside what the hash covers, the export may add
what the payload's ids stand for, looked up when the export ran: a `names`
object in JSON Lines, the NAME_FIELDS columns after FIELDS in CSV. Rebuild an
event from FIELDS only; names follow the reference tables (a part renamed
since shows its new name) and are there for the people reading the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


# CSV columns after FIELDS: not hashed, looked up at export time.
NAME_FIELDS = ("part_names", "warehouse_names", "organization_names")
# A payload key ending so names an id of this kind (customer_organization_id, from_warehouse_id, ...).
NAMED_KEYS = (("part_id", "parts"), ("warehouse_id", "warehouses"), ("organization_id", "organizations"))
KINDS = tuple(kind for _, kind in NAMED_KEYS)
# kind -> id (as text) -> the reference fields: parts have part_number, part_name, unit_of_measure;
# warehouses warehouse_name, organization_id; organizations organization_name.
Directory = Mapping[str, Mapping[str, Mapping[str, Any]]]


def named_ids(payload: object) -> dict[str, list[str]]:
    """The ids a payload names, by kind, in the order its canonical JSON shows them (nested lines too)."""
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}

    def walk(value: object) -> None:
        if isinstance(value, list):
            for inner in value:
                walk(inner)
        if not isinstance(value, dict):
            return
        for key, inner in sorted(value.items()):  # canonical key order, as the CSV's payload cell shows
            kind = next((k for suffix, k in NAMED_KEYS if str(key).endswith(suffix)), None)
            if kind is not None and isinstance(inner, str):
                if inner not in found[kind]:
                    found[kind].append(inner)
            else:
                walk(inner)

    walk(payload)
    return found


def names(event: RecordedEvent, directory: Directory) -> dict[str, dict[str, Any]]:
    """What the event's ids stand for, by kind and id; ids the directory lacks are left out."""
    return {
        kind: {i: dict(directory[kind][i]) for i in ids if i in directory.get(kind, {})}
        for kind, ids in named_ids(event.payload).items()
    }


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


def jsonl_line(event: RecordedEvent, directory: Directory | None = None) -> str:
    """The event as one line of JSON (ASCII-only, so any terminal or file encoding keeps it intact).

    With a directory, a `names` key follows the hashed fields.
    """
    line = record(event)
    if directory is not None:
        line["names"] = names(event, directory)
    return json.dumps(line, separators=(",", ":")) + "\n"


def csv_row(event: RecordedEvent, directory: Directory | None = None) -> list[str]:
    """The event as CSV cells in FIELDS order: payload as canonical JSON text, null as empty.

    With a directory, NAME_FIELDS cells follow: each named thing once, joined by "; ", a part as
    "number name (unit)".
    """
    cells = record(event)
    cells["payload"] = canonical(event.payload).decode()
    row = ["" if cells[name] is None else str(cells[name]) for name in FIELDS]
    if directory is None:
        return row
    named = names(event, directory)
    parts = [f"{p['part_number']} {p['part_name']} ({p['unit_of_measure']})" for p in named["parts"].values()]
    warehouses = [w["warehouse_name"] for w in named["warehouses"].values()]
    organizations = [o["organization_name"] for o in named["organizations"].values()]
    return [*row, "; ".join(parts), "; ".join(warehouses), "; ".join(organizations)]
