"""The end of every batch of commands: one statement appends their events, updates the stock levels,
counts their movements and stores each keyed command's result (or refusal) under its idempotency
key; then each result is described.

Positions come from the insert, in decision order (the batch's commands one after the other, each
command's events in its decision's order), so only the positions are read back, and put in order;
the stored idempotency results are built from the same rows in SQL (each command's fields from
Python, its positions and the xid from the inserted rows), so each is what its caller gets back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from ledger.errors import ConcurrencyConflict
from ledger.fold import StockKey, reservation_changes, stock_changes
from ledger.postgres.connection import Connection
from ledger.postgres.context import number_array, text_array, uuid_array
from ledger.postgres.eventstore import STREAM_VERSION_CONSTRAINT, NewEvent, chain
from ledger.postgres.idempotency import Refused
from ledger.postgres.wire import Fetchable, Statement, execute
from ledger.postgres.write_sql import REFUSALS, WRITE, WRITE_ONE, WRITE_REFUSING, WRITE_UNKEYED
from ledger.recorded import CommandMetadata, RecordedEvent
from ledger.results import AppendedEvent, CommandResult, ResultingMovement, trusted
from ledger.rules import Decision

_WRITE = Statement("ledger_write", WRITE)
_WRITE_ONE = Statement("ledger_write_one", WRITE_ONE)
_WRITE_UNKEYED = Statement("ledger_write_unkeyed", WRITE_UNKEYED)
_WRITE_REFUSING = Statement("ledger_write_refusing", WRITE_REFUSING)
_REFUSALS = Statement("ledger_refusals", REFUSALS)


@dataclass(frozen=True)
class Decided:
    """One accepted command of a batch, ready to write: its chained events and its answer so far.

    `request_hash` is stored under the metadata's idempotency key when `remember` is set.
    """

    decision: Decision
    new: list[NewEvent]
    metadata: CommandMetadata
    described: CommandResult
    request_hash: bytes = b""
    remember: bool = False


def described(decision: Decision, movements: tuple[ResultingMovement, ...] | None = None) -> CommandResult:
    """The answer to a decision before its events have positions (with its movements, when known)."""
    return trusted(
        CommandResult,
        {
            "position": None,
            "log_transaction_id": None,
            "events": (),
            "transaction_ids": decision.transaction_ids,
            "warnings": decision.warnings,
            "replayed": False,
            "order_id": decision.order_id,
            "movements": movements,
        },
    )


class Written:
    """A write sent: its results once its rows are back (in a pipeline: after the commit was sent)."""

    def __init__(self, batch: Sequence[Decided], cursor: Fetchable | None, *, sent: bool = False) -> None:
        self.batch = batch
        self.cursor = cursor
        self.sent = sent or cursor is not None  # False: nothing to append, no key to remember

    def results(self) -> list[CommandResult]:
        """Each decided command's result, with the positions and xid its rows got."""
        if self.cursor is None:
            return [d.described for d in self.batch]
        rows = self.cursor.fetchall()
        xid = int(rows[0][1]) if rows else None
        # The rows were inserted in decision order and each drew its position then: in position
        # order they are the batch's new events in order (no stream ids back, nor a map of them).
        positions = iter(sorted(int(r[0]) for r in rows))
        return [_placed(d.described, d.new, positions, xid) for d in self.batch]


def write(
    conn: Connection, batch: Sequence[Decided], now: datetime, refused: Sequence[Refused] = ()
) -> Written:
    """Append every decided command's events, update levels and counts, remember keys: send it.

    The `refused` keyed commands' refusals are kept under their keys by the same statement.
    Raises ConcurrencyConflict when another writer appended to one of the streams first (or two
    commands of the batch started the same stream); the whole statement is then undone. In a
    pipeline that error surfaces when the pipeline syncs (pipelined.py says so too).
    """
    if refused and not batch:
        execute(conn, _REFUSALS, _refusals(refused), read=False)
        return Written(batch, None, sent=True)
    if not refused and not any(d.new or d.remember for d in batch):
        return Written(batch, None)
    try:
        if refused:
            cursor = execute(conn, _WRITE_REFUSING, _parameters(batch, now) | _refusals(refused), read=False)
        elif len(batch) == 1:
            cursor = execute(conn, _WRITE_ONE, _parameters_one(batch[0], now), read=False)
        else:
            form = _WRITE if any(d.remember for d in batch) else _WRITE_UNKEYED
            cursor = execute(conn, form, _parameters(batch, now), read=False)
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name == STREAM_VERSION_CONSTRAINT:
            raise ConcurrencyConflict("another writer appended to the same stream first") from error
        raise
    return Written(batch, cursor)


def commit(
    conn: Connection,
    decision: Decision,
    streams: dict[str, list[RecordedEvent]],
    metadata: CommandMetadata,
    now: datetime,
    request_hash: bytes = b"",
) -> CommandResult:
    """Append one decision after the heads of the streams it read: a batch of one (see write)."""
    heads = {s: (events[-1].stream_version, events[-1].hash) for s, events in streams.items() if events}
    new = chain(decision.events, heads, metadata, now)
    keyed = metadata.idempotency_key is not None
    decided = Decided(decision, new, metadata, described(decision), request_hash, keyed)
    [result] = write(conn, [decided], now).results()
    return result


def _parameters(batch: Sequence[Decided], now: datetime) -> dict[str, object]:
    """WRITE's parameters for the batch's events, level changes, metadata and keys.

    The events' columns in one pass over them, not one per column (a batch of 8 has 23 parameters).
    """
    changes = [(k, delta) for k, delta in _net_changes(batch) if any(delta)]
    previous, hashes, streams, versions, types, schemas, payloads, commands = ([] for _ in range(8))
    movements = 0
    for c, d in enumerate(batch, start=1):
        movements += d.decision.new_movements
        for e in d.new:
            previous.append(e.previous_hash)
            hashes.append(e.hash)
            streams.append(e.stream_id)
            versions.append(e.stream_version)
            types.append(e.event_type)
            schemas.append(e.schema_version)
            payloads.append(e.payload_json)
            commands.append(c)
    remembered = [(c, d) for c, d in enumerate(batch, start=1) if d.remember]
    metadata = [d.metadata for d in batch]
    return {
        "at": now,
        "previous": b"".join(previous),
        "hashes": b"".join(hashes),
        "streams": text_array(streams),
        "versions": number_array(versions),
        "types": text_array(types),
        "schemas": number_array(schemas),
        "payloads": "[" + ",".join(payloads) + "]",
        "commands": number_array(commands),
        "users": uuid_array(m.performed_by_user_id for m in metadata),
        "requests": text_array(m.request_id for m in metadata),
        "keys": text_array(m.idempotency_key for m in metadata),
        "correlations": uuid_array(m.correlation_id for m in metadata),
        "causations": uuid_array(m.causation_id for m in metadata),
        "level_w": uuid_array(k[0] for k, _ in changes),
        "level_p": uuid_array(k[1] for k, _ in changes),
        "deltas": number_array(delta for _, (delta, _held) in changes),
        "held": number_array(held for _, (_delta, held) in changes),
        "year": now.year,
        "movements": movements,
        "remember": number_array(c for c, _ in remembered),
        "digests": b"".join(d.request_hash for _, d in remembered),
        "results": "[" + ",".join(d.described.model_dump_json() for _, d in remembered) + "]",
    }


def _refusals(refused: Sequence[Refused]) -> dict[str, object]:
    """The parameters of the refusals kept (REFUSALS)."""
    return {
        "refused_keys": text_array(r.key for r in refused),
        "refused_digests": b"".join(r.request_hash for r in refused),
        "refusals": "[" + ",".join(r.record for r in refused) + "]",
    }


def _parameters_one(decided: Decided, now: datetime) -> dict[str, object]:
    """WRITE_ONE's parameters."""
    new, metadata = decided.new, decided.metadata
    changes = [(k, delta) for k, delta in _net_changes([decided]) if any(delta)]
    return {
        "user": metadata.performed_by_user_id,
        "request": metadata.request_id,
        "key": metadata.idempotency_key,
        "correlation": metadata.correlation_id,
        "causation": metadata.causation_id,
        "at": now,
        "previous": b"".join(e.previous_hash for e in new),
        "hashes": b"".join(e.hash for e in new),
        "streams": text_array(e.stream_id for e in new),
        "versions": number_array(e.stream_version for e in new),
        "types": text_array(e.event_type for e in new),
        "schemas": number_array(e.schema_version for e in new),
        "payloads": "[" + ",".join(e.payload_json for e in new) + "]",
        "level_w": uuid_array(k[0] for k, _ in changes),
        "level_p": uuid_array(k[1] for k, _ in changes),
        "deltas": number_array(delta for _, (delta, _held) in changes),
        "held": number_array(held for _, (_delta, held) in changes),
        "year": now.year,
        "movements": decided.decision.new_movements,
        "digest": decided.request_hash,
        # Only a keyed command's result is stored: a big stocktake's answer is not encoded for nothing.
        "result": decided.described.model_dump_json() if decided.remember else None,
    }


def _placed(
    described: CommandResult, new: list[NewEvent], positions: Iterator[int], xid: int | None
) -> CommandResult:
    """The result with the positions and xid its inserted rows got: the next of `positions`, each."""
    if not new:
        return described
    events = tuple(
        trusted(
            AppendedEvent,
            {
                "position": next(positions),
                "stream_id": e.stream_id,
                "stream_version": e.stream_version,
                "event_type": e.event_type,
            },
        )
        for e in new
    )
    placed = {"position": max(e.position for e in events), "log_transaction_id": xid, "events": events}
    return trusted(CommandResult, described.__dict__ | placed)


def _net_changes(batch: Sequence[Decided]) -> list[tuple[StockKey, tuple[Decimal, Decimal]]]:
    """The batch's net change per level: (change of on hand, change of reserved). Keyed by the ids'
    integers while summing: a UUID's hash and equality are Python code, an int's are not, and a
    stocktake sums hundreds of keys."""
    net: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
    keys: dict[tuple[int, int], StockKey] = {}
    zero = (Decimal(0), Decimal(0))
    for decided in batch:
        for _, event in decided.decision.events:
            for key, delta in stock_changes(event):
                fast = (key[0].int, key[1].int)
                on_hand, held = net.get(fast, zero)
                net[fast], keys[fast] = (on_hand + delta, held), key
            for key, change in reservation_changes(event):
                fast = (key[0].int, key[1].int)
                on_hand, held = net.get(fast, zero)
                net[fast], keys[fast] = (on_hand, held + change), key
    return [(keys[fast], delta) for fast, delta in net.items()]
