"""Idempotency keys: the same key with the same command returns the first result, appending nothing.

The key's row is read by context.load_and_lock with the command's other reads
and written by commit.write with its append, in the command's transaction:
a racing twin fails on the key's primary key and, retried, finds the result.
Within a batch, a key an earlier command of the batch took is answered from
that command's result (batch.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from ledger.commands import Command
from ledger.errors import IdempotencyConflict
from ledger.postgres.connection import Connection
from ledger.recorded import CommandMetadata, canonical
from ledger.results import CommandResult

KEY_CONSTRAINT = "ledger_idempotency_pkey"
FORGET = "DELETE FROM ledger_idempotency WHERE created_at < now() - %s"


def request_hash(command: Command, metadata: CommandMetadata) -> bytes:
    """What makes two requests 'the same': the command type, its fields and the acting user."""
    body = [type(command).__name__, command.model_dump(mode="json"), str(metadata.performed_by_user_id)]
    return hashlib.sha256(canonical(body)).digest()


def recall(key: str, digest: bytes, earlier: tuple[bytes, str] | None) -> CommandResult | None:
    """The result stored for `key` (its row `earlier`) or None; IdempotencyConflict if another command's."""
    if earlier is None:
        return None
    stored_hash, result = earlier
    same_request(key, digest, stored_hash)
    return CommandResult.model_validate_json(result).model_copy(update={"replayed": True})


def same_request(key: str, digest: bytes, stored_hash: bytes) -> None:
    """Refuse with IdempotencyConflict a request whose hash is not the one stored for `key`."""
    if stored_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different command", idempotency_key=key
        )


def forget_older_than(conn: Connection, retention: timedelta) -> int:
    """Delete the keys stored more than `retention` ago (their commands may then run again); how many."""
    return conn.execute(FORGET, [retention]).rowcount
