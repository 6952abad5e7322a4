"""Execute stock commands against PostgreSQL: load, decide, append, all in one transaction.

A conflict with a concurrent writer (a stream appended first, a deadlock, a
serialization failure) rolls the transaction back and the command is decided
again from fresh state, a bounded number of times: safe, because nothing of a
failed attempt was kept and deciding is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import psycopg

from ledger import decide as rules
from ledger.commands import StockCommand
from ledger.errors import ConcurrencyConflict
from ledger.fold import StockKey, stock_changes
from ledger.policy import Policy
from ledger.postgres import context as load
from ledger.postgres import idempotency
from ledger.postgres.eventstore import Connection, append
from ledger.recorded import CommandMetadata
from ledger.results import AppendedEvent, CommandResult
from ledger.state import DecisionContext

RETRYABLE = (ConcurrencyConflict, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)


class PostgresLedger:
    """The ledger's command side over one PostgreSQL database."""

    def __init__(
        self,
        policy: Policy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], UUID] | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.new_id = new_id
        self.max_attempts = max_attempts

    def execute(self, conn: Connection, command: StockCommand, metadata: CommandMetadata) -> CommandResult:
        """Decide and record `command` atomically; raise a LedgerError if a rule refuses it.

        `conn` must not be inside a transaction: each attempt runs in its own.
        """
        key = metadata.idempotency_key
        digest = idempotency.request_hash(command, metadata) if key else b""
        for attempt in range(1, self.max_attempts + 1):
            try:
                with conn.transaction():
                    if key:
                        earlier = idempotency.recall(conn, key, digest)
                        if earlier is not None:
                            return earlier
                    result = self._record(conn, command, metadata)
                    if key:
                        idempotency.remember(conn, key, digest, result)
                    return result
            except psycopg.errors.UniqueViolation as error:
                # A twin request with the same key committed first: the next attempt returns its result.
                if error.diag.constraint_name != idempotency.KEY_CONSTRAINT or attempt == self.max_attempts:
                    raise
            except RETRYABLE as error:
                if command_pins_version(command) or attempt == self.max_attempts:
                    raise _as_conflict(error) from error
        raise AssertionError("unreachable")

    def _record(self, conn: Connection, command: StockCommand, metadata: CommandMetadata) -> CommandResult:
        now = self.clock()
        needs = rules.needs(command)
        movements, streams = load.load_movements(conn, needs)
        # Approving or reversing a movement checks its warehouses and part too.
        referred = [state.movement for state in movements.values()]
        warehouse_ids = needs.warehouse_ids | {
            w for m in referred for w in (m.from_warehouse_id, m.to_warehouse_id) if w is not None
        }
        context = DecisionContext(
            now=now,
            actor=load.load_actor(conn, metadata.performed_by_user_id),
            parts=load.load_parts(conn, needs.part_ids | {m.part_id for m in referred}),
            warehouses=load.load_warehouses(conn, warehouse_ids),
            machines=load.load_machines(conn, needs.machine_ids),
            movements=movements,
            movements_this_year=load.movements_this_year(conn, now.year),
            new_id=self.new_id,
        )
        # Locking writes, and so gives this transaction its xid: only after every stream read.
        levels = load.lock_levels(conn, rules.stock_keys(command, movements))
        decision = rules.decide(command, _with_stock(context, levels), self.policy)
        heads = {s: (events[-1].stream_version, events[-1].hash) for s, events in streams.items() if events}
        recorded = append(conn, decision.events, heads, metadata, now)
        load.add_to_levels(conn, _net_changes(decision))
        load.count_movements(conn, now, decision.new_movements)
        return CommandResult(
            position=max((e.position for e in recorded), default=None),
            log_transaction_id=recorded[0].transaction_id if recorded else None,
            events=tuple(
                AppendedEvent(
                    position=e.position,
                    stream_id=e.stream_id,
                    stream_version=e.stream_version,
                    event_type=e.event_type,
                )
                for e in recorded
            ),
            transaction_ids=tuple(dict.fromkeys(_transaction_id(e) for _, e in decision.events)),
            warnings=decision.warnings,
        )


def _with_stock(context: DecisionContext, levels: dict[StockKey, Decimal]) -> DecisionContext:
    return replace(context, stock=levels)


def _net_changes(decision: rules.Decision) -> dict[StockKey, Decimal]:
    net: dict[StockKey, Decimal] = {}
    for _, event in decision.events:
        for key, delta in stock_changes(event):
            net[key] = net.get(key, Decimal(0)) + delta
    return net


def _transaction_id(event: object) -> UUID:
    value = getattr(event, "transaction_id", None)
    assert isinstance(value, UUID)
    return value


def command_pins_version(command: StockCommand) -> bool:
    """A command that names the version it expects must fail, not retry, when that moved on."""
    return getattr(command, "expected_version", None) is not None


def _as_conflict(error: Exception) -> ConcurrencyConflict:
    if isinstance(error, ConcurrencyConflict):
        return error
    return ConcurrencyConflict("a concurrent writer got in the way; try again")
