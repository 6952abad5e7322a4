"""A batch's transaction in as few network round trips as its statements: BEGIN and COMMIT ride along.

psycopg's `conn.transaction()` on an autocommit connection sends BEGIN and waits for its answer,
then each statement, then COMMIT: four round trips for a batch's read-and-lock and write. In
pipeline mode BEGIN goes out with the first read (its answer is not waited for) and COMMIT right
behind the write, so the batch pays one round trip per read and one for the write and its commit
(the WAL flush): two for a command that reads no stream.

A statement's error surfaces when its results are read (a read) or when the pipeline syncs at the
end of the block (the write, its COMMIT skipped by the server): the transaction is rolled back and
the error raised, as `conn.transaction()` would. A stream version taken first by another writer
is a ConcurrencyConflict wherever it surfaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.pq import TransactionStatus

from ledger.errors import ConcurrencyConflict
from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import STREAM_VERSION_CONSTRAINT


class Transaction:
    """The open transaction of a `pipelined` block: end it with `commit` (after the write) or `rollback`."""

    def __init__(self, conn: Connection, *, pipelined: bool) -> None:
        self.ended: bytes | None = None
        self._cursor = conn.cursor() if pipelined else None
        if self._cursor is not None:
            self._cursor.execute(b"BEGIN")  # sent, its answer not waited for: it precedes the first read

    def commit(self) -> None:
        """Queue COMMIT after what was sent: it travels with the write, when the block ends."""
        self._end(b"COMMIT")

    def rollback(self) -> None:
        """Queue ROLLBACK: nothing of the transaction is kept."""
        self._end(b"ROLLBACK")

    def _end(self, command: bytes) -> None:
        if self.ended is not None:
            raise psycopg.ProgrammingError("the transaction has already ended")
        self.ended = command
        if self._cursor is not None:
            self._cursor.execute(command)


@contextmanager
def pipelined(conn: Connection) -> Iterator[Transaction]:
    """A transaction whose statements are pipelined; the block ends it (commit, else rolled back).

    Results of statements sent before `commit` are read after the block (a cursor keeps its
    rows). On a connection already in a transaction (a test's, or one that is not autocommit)
    it is psycopg's `conn.transaction()` (a savepoint), without the pipeline.
    """
    if not conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        with conn.transaction() as outer:
            nested = Transaction(conn, pipelined=False)
            yield nested
            if nested.ended != b"COMMIT":
                raise psycopg.Rollback(outer)
        return
    try:
        with conn.pipeline():
            transaction = Transaction(conn, pipelined=True)
            yield transaction
            if transaction.ended is None:
                transaction.rollback()
    except psycopg.errors.UniqueViolation as error:
        _roll_back(conn)
        if error.diag.constraint_name == STREAM_VERSION_CONSTRAINT:
            raise ConcurrencyConflict("another writer appended to the same stream first") from error
        raise
    except BaseException:
        _roll_back(conn)
        raise


def _roll_back(conn: Connection) -> None:
    """End a transaction a failed statement (or a fault) left open; a broken connection stays so."""
    if not conn.closed and conn.info.transaction_status in (
        TransactionStatus.INTRANS,
        TransactionStatus.INERROR,
    ):
        conn.execute("ROLLBACK")
