"""A batch's transaction in as few network round trips as its statements, with no BEGIN or COMMIT.

psycopg's `conn.transaction()` on an autocommit connection sends BEGIN and waits for its answer,
then each statement, then COMMIT: four round trips for a batch's read-and-lock and write. In
pipeline mode the statements sent before a Sync message run in one implicit transaction, which
the Sync commits: the client sends each read and waits for its rows (a flush, no Sync), then sends
the write and the Sync together and waits once for both the rows and the commit (the WAL flush).
Two round trips for a command that reads no stream, and no BEGIN or COMMIT statement to send,
parse and run (each was about 7% of the committer thread's CPU, pipelined).

A statement's error surfaces when its results are read (a read) or when the block's Sync is
answered (the write): PostgreSQL has then rolled the implicit transaction back. A block that
ends in a Python exception, or that keeps nothing, sends ROLLBACK before the Sync, so that nothing
of it is committed. A stream version taken first by another writer is a ConcurrencyConflict.
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
    """The open transaction of a `pipelined` block: the block's end commits it unless `rollback`."""

    def __init__(self, conn: Connection, *, pipelined: bool) -> None:
        self.rolled_back = False
        self._conn = conn if pipelined else None

    def rollback(self) -> None:
        """Keep nothing of the transaction."""
        if not self.rolled_back and self._conn is not None:
            # BEGIN makes the implicit transaction, with what it did, an explicit one: ROLLBACK
            # then ends it without PostgreSQL's WARNING that no transaction was in progress.
            cursor = self._conn.cursor()
            cursor.execute(b"BEGIN")
            cursor.execute(b"ROLLBACK")
        self.rolled_back = True


@contextmanager
def pipelined(conn: Connection) -> Iterator[Transaction]:
    """A transaction whose statements are pipelined; committed when the block ends, unless rolled back.

    Results of statements sent last are read after the block (a cursor keeps its rows). On a
    connection already in a transaction (a test's, or one that is not autocommit) it is psycopg's
    `conn.transaction()` (a savepoint), without the pipeline.
    """
    if not conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        with conn.transaction() as outer:
            nested = Transaction(conn, pipelined=False)
            yield nested
            if nested.rolled_back:
                raise psycopg.Rollback(outer)
        return
    try:
        with conn.pipeline():
            transaction = Transaction(conn, pipelined=True)
            try:
                yield transaction
            except BaseException:
                transaction.rollback()  # skipped by the server when a statement failed: no matter
                raise
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
