"""Idempotency keys: the same key with the same command gets the first outcome again, appending nothing.

The key's row is read by context.load_and_lock with the command's other reads
and written by commit.write with its append, in the command's transaction:
a racing twin fails on the key's primary key and, retried, finds the outcome.
Within a batch, a key an earlier command of the batch took is answered from
that command's outcome (batch.py).

The outcome kept is the command's result, or its refusal: a LedgerError a rule raised while
deciding it (insufficient stock, a version conflict, ...), kept so that a retry is refused the same
way even after the state changed. A refusal is kept as a versioned record, JSON
`{"version": 1, "code", "message", "details": [[name, value], ...], "request_id"}` (the details
as pairs: their order is the answer's), from which `refused_again` rebuilds the same error, marked
`replayed`, with the first request's id; new members may be added, the version changes only when
one changes meaning. Neither the key's own IdempotencyConflict nor a fault is kept; nor is a
conflict found by the write (another writer appended first): the transaction is rolled back, and
the retry decides again (a command pinned to a version is then refused by the rules, and kept).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ledger.commands import Command
from ledger.errors import IdempotencyConflict, LedgerError
from ledger.postgres.connection import Connection
from ledger.recorded import CommandMetadata, canonical_text
from ledger.results import CommandResult

KEY_CONSTRAINT = "ledger_idempotency_pkey"
REFUSAL_VERSION = 1
FORGET = "DELETE FROM ledger_idempotency WHERE created_at < now() - %s"


@dataclass(frozen=True)
class Replay:
    """A command whose key an earlier command of the batch took for the same request: that answer."""

    of: int  # the earlier command's index in the batch


@dataclass(frozen=True)
class Refused:
    """A keyed command a rule refused while it was decided: its error, to keep under its key."""

    error: LedgerError
    key: str
    request_hash: bytes
    record: str  # refusal_record(error, the request's id)

    @classmethod
    def of(cls, error: LedgerError, key: str, request_hash: bytes, request_id: str | None) -> Refused:
        """The refusal `error` of the request `request_id`, to keep under `key`."""
        return cls(error, key, request_hash, refusal_record(error, request_id))

    def again(self) -> LedgerError:
        """The refusal as a retry gets it (a twin of the same batch too): see `refused_again`."""
        return refused_again(json.loads(self.record))


def request_hash(command: Command, metadata: CommandMetadata) -> bytes:
    """What makes two requests 'the same': the command type, its fields and the acting user."""
    body = [type(command).__name__, command.model_dump(mode="json"), str(metadata.performed_by_user_id)]
    # canonical()'s bytes (hashes stored by earlier versions must still match), from the one encoder
    # built once: json.dumps with arguments builds an encoder a call (10 -> 7 us a hash).
    return hashlib.sha256(canonical_text(body).encode()).digest()


def recall(key: str, digest: bytes, earlier: tuple[bytes, str, bool] | None) -> CommandResult | None:
    """The result stored for `key` (its row `earlier`: request hash, JSON, whether a refusal) or None.

    Raises the refusal kept for `key` again (see `refused_again`), IdempotencyConflict if the row
    is another command's.
    """
    if earlier is None:
        return None
    stored_hash, kept, refused = earlier
    same_request(key, digest, stored_hash)
    if refused:
        raise refused_again(json.loads(kept))
    return CommandResult.model_validate_json(kept).model_copy(update={"replayed": True})


def refusal_record(error: LedgerError, request_id: str | None) -> str:
    """The record of a refusal kept under a key (JSON text; see the module docstring)."""
    record = {
        "version": REFUSAL_VERSION,
        "code": error.code,
        "message": error.message,
        "details": [[name, value] for name, value in error.details.items()],
        "request_id": request_id,
    }
    # The rules give details as text (and a version as a number): anything else is kept as its text.
    return json.dumps(record, default=str)


def refused_again(record: dict[str, Any]) -> LedgerError:
    """The refusal a record keeps, as the error first raised: same type, code, message and details.

    A code this version does not know (kept by a newer one) comes back as a LedgerError with it.
    """
    code = str(record["code"])
    kind = _error_types().get(code, LedgerError)
    error = kind(str(record["message"]), **{str(name): value for name, value in record["details"]})
    if kind.code != code:
        error.code = code
    error.replayed = True
    error.first_request_id = record.get("request_id")
    return error


def _error_types() -> dict[str, type[LedgerError]]:
    """Every LedgerError type by its code."""
    found: dict[str, type[LedgerError]] = {}
    todo: list[type[LedgerError]] = [LedgerError]
    while todo:
        kind = todo.pop()
        found.setdefault(kind.code, kind)
        todo.extend(kind.__subclasses__())
    return found


def same_request(key: str, digest: bytes, stored_hash: bytes) -> None:
    """Refuse with IdempotencyConflict a request whose hash is not the one stored for `key`."""
    if stored_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different command", idempotency_key=key
        )


def forget_older_than(conn: Connection, retention: timedelta) -> int:
    """Delete the keys stored more than `retention` ago (their commands may then run again); how many."""
    return conn.execute(FORGET, [retention]).rowcount
