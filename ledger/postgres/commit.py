"""The end of every command: one statement appends its events, updates the stock levels, counts its
movements and stores its result under its idempotency key; then the result is described.

Positions come from the insert; the stored idempotency result is built from the
same rows in SQL (the command's fields from Python, the positions and xid from
the inserted rows), so it is what the caller gets back.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg.rows import TupleRow

from ledger.errors import ConcurrencyConflict
from ledger.fold import StockKey, reservation_changes, stock_changes
from ledger.postgres.connection import Connection
from ledger.postgres.context import number_array, text_array, uuid_array
from ledger.postgres.eventstore import STREAM_VERSION_CONSTRAINT, NewEvent, chain
from ledger.recorded import CommandMetadata, RecordedEvent
from ledger.results import AppendedEvent, CommandResult
from ledger.rules import Decision

# Per-event values travel as array literals, payloads as one JSON array of canonical texts and
# hashes as one bytea of 32-byte slices; WITH ORDINALITY and ORDER BY keep the decision's order,
# so positions grow in that order.
WRITE = """
WITH appended AS (
    INSERT INTO ledger_events (stream_id, stream_version, event_type, schema_version, payload,
        performed_by_user_id, request_id, idempotency_key, correlation_id, causation_id,
        recorded_at, previous_hash, hash)
    SELECT e.stream_id, e.version, e.event_type, e.schema_version, e.payload,
        %(user)s::uuid, %(request)s::text, %(key)s::text, %(correlation)s::uuid, %(causation)s::uuid,
        %(at)s::timestamptz,
        substring(%(previous)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32),
        substring(%(hashes)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32)
    FROM ROWS FROM (
        unnest(%(streams)s::text[]), unnest(%(versions)s::int[]), unnest(%(types)s::text[]),
        unnest(%(schemas)s::smallint[]), jsonb_array_elements(%(payloads)s::jsonb)
    ) WITH ORDINALITY AS e(stream_id, version, event_type, schema_version, payload, n)
    ORDER BY e.n
    RETURNING position, writer_xid::text::bigint AS xid, stream_id, stream_version, event_type
), levels AS (
    UPDATE ledger_stock_levels AS l SET on_hand = l.on_hand + d.delta, reserved = l.reserved + d.held
    FROM unnest(%(level_w)s::uuid[], %(level_p)s::uuid[], %(deltas)s::numeric[], %(held)s::numeric[])
        AS d(w, p, delta, held)
    WHERE l.warehouse_id = d.w AND l.part_id = d.p
), counted AS (
    INSERT INTO ledger_movement_counts AS c (year, shard, movements)
    SELECT %(year)s::int, pg_backend_pid() %% 16, %(movements)s::bigint WHERE %(movements)s::bigint > 0
    ON CONFLICT (year, shard) DO UPDATE SET movements = c.movements + EXCLUDED.movements
), remembered AS (
    INSERT INTO ledger_idempotency (key, request_hash, result)
    SELECT %(key)s::text, %(digest)s::bytea, %(result)s::jsonb || jsonb_build_object(
        'position', max(position),
        'log_transaction_id', min(xid),
        'events', coalesce(jsonb_agg(jsonb_build_object('position', position, 'stream_id', stream_id,
            'stream_version', stream_version, 'event_type', event_type) ORDER BY position), '[]'))
    FROM appended HAVING %(key)s::text IS NOT NULL
)
SELECT position, xid, stream_id, stream_version FROM appended
"""


def commit(
    conn: Connection,
    decision: Decision,
    streams: dict[str, list[RecordedEvent]],
    metadata: CommandMetadata,
    now: datetime,
    request_hash: bytes = b"",
) -> CommandResult:
    """Append a decision after the heads of the streams it read, update the stock levels, describe it.

    With an idempotency key in `metadata`, the result is stored under it with `request_hash`.
    Raises ConcurrencyConflict when another writer appended to one of the streams first.
    """
    heads = {s: (events[-1].stream_version, events[-1].hash) for s, events in streams.items() if events}
    new = chain(decision.events, heads, metadata, now)
    described = CommandResult(
        position=None,
        log_transaction_id=None,
        events=(),
        transaction_ids=decision.transaction_ids,
        warnings=decision.warnings,
        order_id=decision.order_id,
    )
    if not new and metadata.idempotency_key is None:
        return described
    params = _parameters(decision, new, metadata, now)
    params.update(digest=request_hash, result=json.dumps(described.model_dump(mode="json")))
    try:
        rows = conn.execute(WRITE, params).fetchall()
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name == STREAM_VERSION_CONSTRAINT:
            raise ConcurrencyConflict("another writer appended to the same stream first") from error
        raise
    return _placed(described, new, rows)


def _parameters(
    decision: Decision, new: list[NewEvent], metadata: CommandMetadata, now: datetime
) -> dict[str, object]:
    """WRITE's parameters for the events and level changes (the caller adds the idempotency ones)."""
    changes = [(k, delta) for k, delta in _net_changes(decision).items() if any(delta)]
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
        "movements": decision.new_movements,
    }


def _placed(described: CommandResult, new: list[NewEvent], rows: list[TupleRow]) -> CommandResult:
    """The result with the positions and xid the inserted rows got."""
    positions = {(r[2], r[3]): int(r[0]) for r in rows}
    return described.model_copy(
        update={
            "position": max(positions.values(), default=None),
            "log_transaction_id": int(rows[0][1]) if rows else None,
            "events": tuple(
                AppendedEvent(
                    position=positions[(e.stream_id, e.stream_version)],
                    stream_id=e.stream_id,
                    stream_version=e.stream_version,
                    event_type=e.event_type,
                )
                for e in new
            ),
        }
    )


def _net_changes(decision: Decision) -> dict[StockKey, tuple[Decimal, Decimal]]:
    """Per level the decision changes: (change of on hand, change of reserved)."""
    net: dict[StockKey, tuple[Decimal, Decimal]] = {}
    zero = (Decimal(0), Decimal(0))
    for _, event in decision.events:
        for key, delta in stock_changes(event):
            net[key] = (net.get(key, zero)[0] + delta, net.get(key, zero)[1])
        for key, held in reservation_changes(event):
            net[key] = (net.get(key, zero)[0], net.get(key, zero)[1] + held)
    return net
