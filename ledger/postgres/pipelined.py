"""A batch's transaction in as few network round trips as its statements, with no BEGIN or COMMIT.

psycopg's `conn.transaction()` on an autocommit connection sends BEGIN and waits for its answer,
then each statement, then COMMIT: four round trips for a batch's read-and-lock and write. In
pipeline mode the statements sent before a Sync message run in one implicit transaction, which
the Sync commits: the client sends each read and waits for its rows (a flush, no Sync), then sends
the write and the Sync together and waits once for both the rows and the commit (the WAL flush).
Two round trips for a command that reads no stream, and no BEGIN or COMMIT statement to send,
parse and run (each was about 7% of the committer thread's CPU, pipelined). The block runs on
libpq's pipeline itself (wire.py: each statement prepared once per connection, a read sent with
its flush request, the write with the Sync, one send each), not psycopg's; statements reach it
through `wire.execute`, which inside a test's transaction is psycopg's own `conn.execute`.

A statement's error surfaces when its results are read (a read) or when the block's Sync is
answered (the write): PostgreSQL has then rolled the implicit transaction back. A block that
ends in a Python exception, or that keeps nothing, sends ROLLBACK before the Sync, so that nothing
of it is committed. A stream version taken first by another writer is a ConcurrencyConflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import pq
from psycopg.pq import TransactionStatus

from ledger.errors import ConcurrencyConflict
from ledger.postgres import wire
from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import STREAM_VERSION_CONSTRAINT
from ledger.postgres.wire import Block


class Transaction:
    """The open transaction of a `pipelined` block: the block's end commits it unless `rollback`."""

    def __init__(self, conn: Connection, block: Block | None) -> None:
        self.rolled_back = False
        self.block = block

    def rollback(self) -> None:
        """Keep nothing of the transaction."""
        if not self.rolled_back and self.block is not None:
            # BEGIN makes the implicit transaction, with what it did, an explicit one: ROLLBACK
            # then ends it without PostgreSQL's WARNING that no transaction was in progress.
            self.block.send_plain(b"BEGIN")
            self.block.send_plain(b"ROLLBACK")
        self.rolled_back = True


@contextmanager
def pipelined(conn: Connection) -> Iterator[Transaction]:
    """A transaction whose statements are pipelined; committed when the block ends, unless rolled back.

    Results of statements sent last are read after the block (their rows are kept). On a
    connection already in a transaction (a test's, or one that is not autocommit) it is psycopg's
    `conn.transaction()` (a savepoint), without the pipeline.
    """
    # The libpq connection's status, not conn.info's: that builds a ConnectionInfo on every call.
    if not conn.autocommit or conn.pgconn.transaction_status != TransactionStatus.IDLE:
        with conn.transaction() as outer:
            nested = Transaction(conn, None)
            yield nested
            if nested.rolled_back:
                raise psycopg.Rollback(outer)
        return
    try:
        with _wire_block(conn) as transaction:
            yield transaction
    except psycopg.errors.UniqueViolation as error:
        _roll_back(conn)
        if error.diag.constraint_name == STREAM_VERSION_CONSTRAINT:
            raise ConcurrencyConflict("another writer appended to the same stream first") from error
        raise
    except psycopg.errors.InvalidSqlStatementName:
        wire.forget_prepared(conn)  # someone deallocated them: the next block prepares them again
        _roll_back(conn)
        raise
    except BaseException:
        _roll_back(conn)
        raise


@contextmanager
def _wire_block(conn: Connection) -> Iterator[Transaction]:
    """The block on libpq's pipeline: its Sync sent at the end, and its first error raised then."""
    block = Block(conn)
    wire.OPEN[id(conn)] = block
    try:
        transaction = Transaction(conn, block)
        try:
            yield transaction
        except BaseException:
            _end(conn, transaction, block)
            raise
        try:
            error = block.finish()
        except BaseException:
            _abandon(conn)
            raise
        if error is not None:
            raise error
    finally:
        del wire.OPEN[id(conn)]


def _end(conn: Connection, transaction: Transaction, block: Block) -> None:
    """End a block a Python exception left: ROLLBACK, the Sync and every result read; nothing raised."""
    try:
        transaction.rollback()  # skipped by the server when a statement failed: no matter
        block.finish()
    except BaseException:  # the connection broke, or an interrupt: the caller's error is raised
        _abandon(conn)


def _abandon(conn: Connection) -> None:
    """Close a connection a block left part-way through the protocol (still in pipeline mode)."""
    if not conn.closed and conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        conn.close()


def _roll_back(conn: Connection) -> None:
    """End a transaction a failed statement (or a fault) left open; a broken connection stays so."""
    if not conn.closed and conn.info.transaction_status in (
        TransactionStatus.INTRANS,
        TransactionStatus.INERROR,
    ):
        conn.execute("ROLLBACK")
