"""Idempotency keys: the same key with the same command returns the first result, appending nothing."""

from __future__ import annotations

import hashlib

from psycopg.types.json import Jsonb

from ledger.commands import Command
from ledger.errors import IdempotencyConflict
from ledger.postgres.eventstore import Connection
from ledger.recorded import CommandMetadata, canonical
from ledger.results import CommandResult

KEY_CONSTRAINT = "ledger_idempotency_pkey"


def request_hash(command: Command, metadata: CommandMetadata) -> bytes:
    """What makes two requests 'the same': the command type, its fields and the acting user."""
    body = [type(command).__name__, command.model_dump(mode="json"), str(metadata.performed_by_user_id)]
    return hashlib.sha256(canonical(body)).digest()


def recall(conn: Connection, key: str, digest: bytes) -> CommandResult | None:
    """The stored result for `key`, or None; IdempotencyConflict if it was used for another command."""
    row = conn.execute("SELECT request_hash, result FROM ledger_idempotency WHERE key = %s", [key]).fetchone()
    if row is None:
        return None
    if bytes(row[0]) != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different command", idempotency_key=key
        )
    return CommandResult.model_validate(row[1]).model_copy(update={"replayed": True})


def remember(conn: Connection, key: str, digest: bytes, result: CommandResult) -> None:
    """Store the result under `key` in the command's own transaction (a racing twin fails on the key)."""
    conn.execute(
        "INSERT INTO ledger_idempotency (key, request_hash, result) VALUES (%s, %s, %s)",
        [key, digest, Jsonb(result.model_dump(mode="json"))],
    )
