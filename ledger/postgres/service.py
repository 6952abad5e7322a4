"""Execute stock and order commands against PostgreSQL: load, decide, append, all in one transaction.

A conflict with a concurrent writer (a stream appended first, a deadlock, a
serialization failure) rolls the transaction back and the command is decided
again from fresh state, a bounded number of times: safe, because nothing of a
failed attempt was kept and deciding is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from ledger.commands import StockCommand
from ledger.decide import decide, handler_for
from ledger.errors import ConcurrencyConflict
from ledger.needs import Found
from ledger.orders.commands import OrderCommand
from ledger.policy import Policy
from ledger.postgres import context as load
from ledger.postgres import idempotency
from ledger.postgres.commit import commit
from ledger.postgres.connection import Connection
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
        """The one path of every command: read streams, load and lock, recall, decide, commit.

        Two statements for most commands (three when it reads a stream): read and lock, write.
        """
        now = self.clock()
        handler = handler_for(command)
        # Streams first: reading them must come before this transaction gets its xid.
        streams, found = load.load_streams_of(conn, handler.streams(command))
        needs = handler.needs(command, found)
        loaded = load.load_and_lock(
            conn,
            user_id=metadata.performed_by_user_id,
            year=now.year,
            part_ids=needs.part_ids,
            warehouse_ids=needs.warehouse_ids,
            machine_ids=needs.machine_ids,
            organization_ids=needs.organization_ids,
            lock=needs.lock,
            idempotency_key=metadata.idempotency_key,
        )
        if metadata.idempotency_key:
            earlier = idempotency.recall(metadata.idempotency_key, digest, loaded.earlier)
            if earlier is not None:
                return earlier
        decision = decide(command, self._context(now, loaded, found), self.policy)
        return commit(conn, decision, streams, metadata, now, request_hash=digest)

    def _context(self, now: datetime, loaded: load.Loaded, found: Found) -> DecisionContext:
        organizations = loaded.organizations
        return DecisionContext(
            now=now,
            actor=loaded.actor,
            parts=loaded.parts,
            warehouses=loaded.warehouses,
            machines=loaded.machines,
            movements=found.movements,
            stock=loaded.levels,
            reserved=loaded.reserved,
            movements_this_year=loaded.movements_this_year,
            new_id=self.new_id,
            organizations=organizations,
            orders=found.orders,
            oraseas_id=next(
                (o.id for o in organizations.values() if o.organization_type == "oraseas_ee"), None
            ),
        )


def command_pins_version(command: StockCommand | OrderCommand) -> bool:
    """A command that names the version it expects must fail, not retry, when that moved on."""
    return getattr(command, "expected_version", None) is not None


def _as_conflict(error: Exception) -> ConcurrencyConflict:
    if isinstance(error, ConcurrencyConflict):
        return error
    return ConcurrencyConflict("a concurrent writer got in the way; try again")


def forget_idempotency_keys(conn: Connection, retention: timedelta) -> int:
    """Forget the ledger's idempotency keys stored more than `retention` ago; how many.

    A command sent again with a forgotten key is a new command: prune only keys older than any
    client still retries (ABPARTS_IDEMPOTENCY_RETENTION).
    """
    return idempotency.forget_older_than(conn, retention)
