"""Events as the log holds them: with position, stream version, metadata and hash chain.

Pure: the hashing rules live here so auditors can check the log with nothing but this module.
Each event's hash is SHA-256 over its stream's previous hash and a canonical JSON
body; seals roll a digest over the commit-safe order of the whole log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from ledger.events import Event, event_from_stored
from ledger.types import utc

GENESIS = bytes(32)


@dataclass(frozen=True)
class CommandMetadata:
    """Who asked for a command and how it is correlated with others."""

    performed_by_user_id: UUID
    request_id: str | None = None
    idempotency_key: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None


@dataclass(frozen=True, order=True)
class LogCheckpoint:
    """A place in the commit-safe order: (writing transaction's xid8, position)."""

    transaction_id: int = 0
    position: int = 0


START = LogCheckpoint()


@dataclass(frozen=True)
class RecordedEvent:
    """One row of ledger_events."""

    position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: CommandMetadata
    recorded_at: datetime
    previous_hash: bytes
    hash: bytes

    @property
    def checkpoint(self) -> LogCheckpoint:
        """The reader's checkpoint just after this event."""
        return LogCheckpoint(self.transaction_id, self.position)

    def event(self) -> Event:
        """The current domain event, upcast from the stored payload (UnreadableEvent if it cannot be).

        The hash stays over the stored payload: upcasting changes only what is decoded.
        """
        return event_from_stored(self.event_type, self.payload, self.schema_version)

    def computed_hash(self) -> bytes:
        """The hash this row should carry, recomputed from its content."""
        return event_hash(
            self.previous_hash,
            hash_body(
                self.stream_id,
                self.stream_version,
                self.event_type,
                self.schema_version,
                self.payload,
                self.metadata,
                self.recorded_at,
            ),
        )


def canonical(value: object) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_body(
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    metadata: CommandMetadata,
    recorded_at: datetime,
) -> dict[str, Any]:
    """Everything an event's hash covers."""
    return {
        "stream_id": stream_id,
        "stream_version": stream_version,
        "event_type": event_type,
        "schema_version": schema_version,
        "payload": payload,
        "recorded_at": utc(recorded_at).isoformat(),
        "performed_by_user_id": _text(metadata.performed_by_user_id),
        "request_id": metadata.request_id,
        "idempotency_key": metadata.idempotency_key,
        "correlation_id": _text(metadata.correlation_id),
        "causation_id": _text(metadata.causation_id),
    }


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def event_hash(previous_hash: bytes, body: dict[str, Any]) -> bytes:
    """SHA-256 over the stream's previous hash and the canonical body."""
    return hashlib.sha256(previous_hash + canonical(body)).digest()


# The writer's fast path to the same bytes as canonical(hash_body(...)): each payload is encoded
# once (that text is also what is stored), the command's fields once per command.

# One encoder for every canonical text: json.dumps would build a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_STRING: Callable[[str], str] = json.encoder.encode_basestring


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder JSONEncoder.encode builds anew on every call (a quarter of encoding an event's
# payload), built once: the same options as _CANONICAL. No circular-reference markers: a payload is
# a tree (a cycle would end in RecursionError instead of ValueError). None without the C module.
_MAKE_C_ENCODER: Callable[..., Callable[[object, int], list[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_C_CANONICAL = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(None, _not_json, _STRING, None, ":", ",", True, False, True)
)


def canonical_text(value: object) -> str:
    """canonical(value) as text."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(value)
    return "".join(_C_CANONICAL(value, 0))


def fixed_hash_fields(metadata: CommandMetadata, recorded_at: datetime) -> dict[str, str]:
    """The hash body's fields shared by every event of one append, each as canonical JSON text.

    Written out rather than encoded from hash_body(): each value is a string, a UUID (whose text
    needs no escaping) or None, and this runs once per command (tests check it against canonical()).
    """
    return {
        "recorded_at": _moment_json(recorded_at),
        "performed_by_user_id": _uuid_json(metadata.performed_by_user_id),
        "request_id": "null" if metadata.request_id is None else _STRING(metadata.request_id),
        "idempotency_key": "null" if metadata.idempotency_key is None else _STRING(metadata.idempotency_key),
        "correlation_id": _uuid_json(metadata.correlation_id),
        "causation_id": _uuid_json(metadata.causation_id),
    }


@lru_cache(maxsize=8)
def _moment_json(recorded_at: datetime) -> str:
    """A moment's canonical JSON text: every command of a batch is recorded at the same one."""
    return _STRING(utc(recorded_at).isoformat())


def _uuid_json(value: UUID | None) -> str:
    return "null" if value is None else f'"{value}"'


def body_bytes(
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload_json: str,
    fixed: dict[str, str],
) -> bytes:
    """canonical(hash_body(...)) built from the payload's canonical text and fixed_hash_fields().

    The eleven names in sorted order, written out (tests check the bytes against canonical()).
    """
    return (
        f'{{"causation_id":{fixed["causation_id"]},"correlation_id":{fixed["correlation_id"]},'
        f'"event_type":{_STRING(event_type)},"idempotency_key":{fixed["idempotency_key"]},'
        f'"payload":{payload_json},"performed_by_user_id":{fixed["performed_by_user_id"]},'
        f'"recorded_at":{fixed["recorded_at"]},"request_id":{fixed["request_id"]},'
        f'"schema_version":{int(schema_version)},"stream_id":{_STRING(stream_id)},'
        f'"stream_version":{int(stream_version)}}}'
    ).encode()


def seal_digest(previous_digest: bytes, event: RecordedEvent) -> bytes:
    """Roll the whole-log digest over one more event in commit-safe order."""
    link = [event.position, event.transaction_id, event.stream_id, event.stream_version, event.hash.hex()]
    return hashlib.sha256(previous_digest + canonical(link)).digest()
