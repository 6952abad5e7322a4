"""Execute stock commands against PostgreSQL: load, decide, append, all in one transaction.

A conflict with a concurrent writer (a stream appended first, a deadlock, a
serialization failure) rolls the transaction back and the command is decided
again from fresh state, a bounded number of times: safe, because nothing of a
failed attempt was kept and deciding is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import psycopg

from ledger import decide as rules
from ledger.commands import StockCommand
from ledger.errors import ConcurrencyConflict
from ledger.orders.commands import OrderCommand
from ledger.policy import Policy
from ledger.postgres import context as load
from ledger.postgres import idempotency
from ledger.postgres.commit import commit
from ledger.postgres.eventstore import Connection
from ledger.postgres.orders import ORDER_COMMANDS, record_order
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
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

    def execute(
        self, conn: Connection, command: StockCommand | OrderCommand, metadata: CommandMetadata
    ) -> CommandResult:
        """Decide and record `command` atomically; raise a LedgerError if a rule refuses it.

        `conn` must not be inside a transaction: each attempt runs in its own.
        """
        key = metadata.idempotency_key
        digest = idempotency.request_hash(command, metadata) if key else b""
        for attempt in range(1, self.max_attempts + 1):
            try:
                with conn.transaction():
                    return self._record(conn, command, metadata, digest)
            except psycopg.errors.UniqueViolation as error:
                # A twin request with the same key committed first: the next attempt returns its result.
                if error.diag.constraint_name != idempotency.KEY_CONSTRAINT or attempt == self.max_attempts:
                    raise
            except RETRYABLE as error:
                if command_pins_version(command) or attempt == self.max_attempts:
                    raise _as_conflict(error) from error
        raise AssertionError("unreachable")

    def _record(
        self,
        conn: Connection,
        command: StockCommand | OrderCommand,
        metadata: CommandMetadata,
        digest: bytes,
    ) -> CommandResult:
        """Two statements for most commands (three when it acts on a movement): read and lock, write."""
        now = self.clock()
        if isinstance(command, ORDER_COMMANDS):
            return record_order(conn, command, metadata, now, self.policy, self.new_id, digest)
        needs = rules.needs(command)
        # Streams first: reading them must come before this transaction gets its xid.
        movements, streams = load.load_movements(conn, needs)
        # Approving or reversing a movement checks its warehouses and part too.
        referred = [state.movement for state in movements.values()]
        loaded = load.load_and_lock(
            conn,
            user_id=metadata.performed_by_user_id,
            year=now.year,
            part_ids=needs.part_ids | {m.part_id for m in referred},
            warehouse_ids=needs.warehouse_ids
            | {w for m in referred for w in (m.from_warehouse_id, m.to_warehouse_id) if w is not None},
            machine_ids=needs.machine_ids,
            lock=rules.stock_keys(command, movements),
            idempotency_key=metadata.idempotency_key,
        )
        if metadata.idempotency_key:
            earlier = idempotency.recall(metadata.idempotency_key, digest, loaded.earlier)
            if earlier is not None:
                return earlier
        context = DecisionContext(
            now=now,
            actor=loaded.actor,
            parts=loaded.parts,
            warehouses=loaded.warehouses,
            machines=loaded.machines,
            movements=movements,
            stock=loaded.levels,
            movements_this_year=loaded.movements_this_year,
            new_id=self.new_id,
        )
        decision = rules.decide(command, context, self.policy)
        transaction_ids = tuple(dict.fromkeys(_transaction_id(e) for _, e in decision.events))
        return commit(conn, decision, streams, metadata, now, transaction_ids, request_hash=digest)


def _transaction_id(event: object) -> UUID:
    value = getattr(event, "transaction_id", None)
    assert isinstance(value, UUID)
    return value


def command_pins_version(command: StockCommand | OrderCommand) -> bool:
    """A command that names the version it expects must fail, not retry, when that moved on."""
    return getattr(command, "expected_version", None) is not None


def _as_conflict(error: Exception) -> ConcurrencyConflict:
    if isinstance(error, ConcurrencyConflict):
        return error
    return ConcurrencyConflict("a concurrent writer got in the way; try again")
