"""Execute stock and order commands against PostgreSQL: load, decide, append, all in one transaction.

Commands run in batches (a single command is a batch of one): one statement reads the streams the
batch's commands read, one reads their reference rows and locks their stock levels, and one
appends every accepted command's events; each command is decided against the state the earlier
ones leave (batch.py) and gets its own result or its own error. The transaction is pipelined
(pipelined.py): an implicit one, committed by the Sync sent with the write, so the client waits
for PostgreSQL once per statement and sends no BEGIN or COMMIT.

A conflict with a concurrent writer (a stream appended first, a deadlock, a
serialization failure) rolls the transaction back. A single command is then decided
again from fresh state, a bounded number of times: safe, because nothing of a
failed attempt was kept and deciding is pure. A batch that fails so runs its
commands again one by one, each through that single path, so no command fails another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from ledger.commands import StockCommand
from ledger.decide import handler_for
from ledger.errors import ConcurrencyConflict
from ledger.orders.commands import OrderCommand
from ledger.policy import Policy
from ledger.postgres import collection, idempotency
from ledger.postgres import context as load
from ledger.postgres.batch import BatchDecider, Item, Outcome, Plan, Step, answers, stream_ids
from ledger.postgres.commit import Decided, write
from ledger.postgres.connection import Connection
from ledger.postgres.idempotency import Refused
from ledger.postgres.pipelined import pipelined
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult

__all__ = ["Item", "Outcome", "PostgresLedger", "forget_idempotency_keys"]

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
        for attempt in range(1, self.max_attempts + 1):
            try:
                [outcome] = self._attempt(conn, [(command, metadata)])
            except psycopg.errors.UniqueViolation as error:
                # A twin request with the same key committed first: the next attempt returns its result.
                if error.diag.constraint_name != idempotency.KEY_CONSTRAINT or attempt == self.max_attempts:
                    raise
            except psycopg.errors.InvalidSqlStatementName:
                # The connection's prepared statements were deallocated (DEALLOCATE ALL, DISCARD
                # ALL): nothing was written, and the next attempt prepares them again (wire.py).
                if attempt == self.max_attempts:
                    raise
            except RETRYABLE as error:
                if command_pins_version(command) or attempt == self.max_attempts:
                    raise _as_conflict(error) from error
            else:
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
        raise AssertionError("unreachable")

    def execute_batch(self, conn: Connection, items: Sequence[Item]) -> list[Outcome]:
        """Decide and record `items` (command, metadata) in order, together; each one's outcome.

        An outcome is the command's CommandResult, or the exception that refused it (a LedgerError;
        anything else is a fault of that command alone). Commands are decided in order, each
        against the state the earlier ones leave, and appended in one transaction; when it fails
        (a conflict, a deadlock, a key a twin took first, any database error) they run again one
        by one. `conn` must not be inside a transaction.
        """
        outcomes: list[Outcome] = []
        rest = list(items)
        while len(rest) > 1:
            try:
                done = self._attempt(conn, rest)
            except (psycopg.Error, ConcurrencyConflict):
                # Raised by a statement, so before the batch committed (a COMMIT that fails has
                # rolled back, or the connection is gone and the retries fail at once): run again
                # alone, no command can be recorded twice. Anything else is a fault and is raised.
                done = [self._alone(conn, command, metadata) for command, metadata in rest]
            outcomes.extend(done)
            rest = rest[len(done) :]
        outcomes.extend(self._alone(conn, command, metadata) for command, metadata in rest)
        return outcomes

    def _alone(
        self, conn: Connection, command: StockCommand | OrderCommand, metadata: CommandMetadata
    ) -> Outcome:
        try:
            return self.execute(conn, command, metadata)
        except Exception as error:  # the outcome of this command, not of its batch
            return error

    def _attempt(self, conn: Connection, items: Sequence[Item]) -> list[Outcome]:
        """The one path of every command, for a leading run of `items`: how many it decided, in order.

        Three statements at most, whatever the batch's size: read the streams (when any command
        reads one), read and lock, write. A command whose needs grew with an earlier command of
        the batch (it reads a stream that command extended) ends the run: it leads the next one.
        """
        now = self.clock()
        big = collection.lines([command for command, _ in items]) >= collection.BIG
        with collection.held_off(big):
            with pipelined(conn) as transaction:
                plan = Plan.of(conn, items)
                loaded = load.load_and_lock(conn, plan.wanted, now.year)
                decider = BatchDecider(self.policy, now, loaded, plan.streams, self.new_id)
                decided: list[Step | Exception] = []
                for index, (command, metadata) in enumerate(items):
                    step = plan.steps[index]
                    try:
                        touched = plan.streams.touched
                        if touched and not isinstance(step, Exception) and touched & stream_ids(step[0]):
                            needs = handler_for(command).needs(command, plan.streams.found(step[0]))
                            if not plan.wanted.covers(needs):
                                break
                            step = (step[0], needs)
                    except Exception as error:  # refused (or failed) alone
                        step = error
                    try:
                        decided.append(decider.decide(index, command, metadata, step))
                    except Exception as error:  # refused (or failed) alone
                        decided.append(error)
                to_write = [d for d in decided if isinstance(d, Decided)]
                refused = [d for d in decided if isinstance(d, Refused)]
                written = write(conn, to_write, now, refused)
                if not written.sent:
                    transaction.rollback()  # nothing to keep, not even a level row at zero
            return answers(decided, iter(written.results()))


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
