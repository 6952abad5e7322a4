"""A batch's statements on libpq's own pipeline, each prepared once per connection.

psycopg's pipeline (its queues, generators and waits around every statement, a cursor each, and a
send of its own for each statement, each flush request and the Sync) cost about 60 us of the
committer's CPU a batch beyond what libpq's calls cost (bench: a read and a write, 75 against
20 us). Here a statement is sent with its flush request (a read) or with the Sync (the write) in
one send; its rows are turned into Python values by psycopg's own loaders (a Transformer of the
connection), so they are the values a cursor gives.

Parameters travel as text (bytes as binary: bytea), their types inferred by PostgreSQL from the
statement's casts when it is prepared (`Statement`). A statement is prepared in the first block
that runs it on a connection, and counts as prepared once PostgreSQL said so: a Parse skipped
because an earlier statement failed is sent again next time. Errors are psycopg's own classes
(UniqueViolation, DeadlockDetected, ...), raised when the statement's rows are asked for, or when
the block ends (the write's).
"""

from __future__ import annotations

import re
import select
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID
from weakref import WeakKeyDictionary

import psycopg
from psycopg import pq
from psycopg.adapt import Transformer

from ledger.postgres.connection import Connection

_PARAMETER = re.compile(r"%\((\w+)\)s|%%")
_STATUS = pq.ExecStatus
_WANTED = (_STATUS.TUPLES_OK, _STATUS.COMMAND_OK)
_PREPARED: WeakKeyDictionary[Connection, set[bytes]] = WeakKeyDictionary()  # by PostgreSQL's word


class Statement:
    """A statement with named parameters (`%(name)s`, psycopg's style), and its prepared form."""

    def __init__(self, name: str, text: str) -> None:
        self.text = text
        self.name = name.encode()
        names: list[str] = []

        def numbered(found: re.Match[str]) -> str:
            if found.group(0) == "%%":
                return "%"
            if found.group(1) not in names:
                names.append(found.group(1))
            return f"${names.index(found.group(1)) + 1}"

        self.prepared_text = _PARAMETER.sub(numbered, text).encode()
        self.names = tuple(names)


def _value(value: object, encoding: str) -> tuple[bytes | None, int]:
    """A parameter's bytes and format (0 text, 1 binary): exact types first (the common case)."""
    if value is None:
        return None, 0
    kind = type(value)
    if kind is str:
        return value.encode(encoding), 0  # type: ignore[attr-defined]
    if kind is bytes:
        return value, 1  # type: ignore[return-value]
    if kind is bool:
        return (b"t" if value else b"f"), 0
    if kind is int or kind is UUID:
        return str(value).encode(), 0
    if isinstance(value, datetime):
        return value.isoformat().encode(), 0
    if isinstance(value, str):  # a subclass (an enum's value, say): its text
        return str.__str__(value).encode(encoding), 0
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), 1
    if isinstance(value, bool):
        return (b"t" if value else b"f"), 0
    if isinstance(value, int | UUID):
        return str(int(value) if isinstance(value, int) else value).encode(), 0
    raise TypeError(f"no wire form for a {kind.__name__} parameter")


def text_array(values: Iterable[str | None]) -> str:
    """A PostgreSQL array literal of strings, each quoted (None is NULL)."""
    return "{" + ",".join(_quoted(v) for v in values) + "}"


def _quoted(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Rows:
    """The rows a statement sent in a Block returns: there once its result is back."""

    def __init__(self, block: Block) -> None:
        self._block = block
        self.result: pq.abc.PGresult | None = None
        self.error: psycopg.Error | None = None
        self.rows: list[tuple[Any, ...]] | None = None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows (waiting for them if need be); the statement's error if it failed."""
        if self.result is None and self.error is None:
            self._block.receive(self)
        if self.error is not None:
            raise self.error
        if self.rows is None:
            assert self.result is not None
            transformer = self._block.transformer
            transformer.set_pgresult(self.result)
            self.rows = transformer.load_rows(0, self.result.ntuples, tuple)
        return self.rows


class Block:
    """One implicit transaction on a connection in libpq's pipeline mode (pipelined.py runs it)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.transformer = Transformer(conn)
        self.encoding = conn.info.encoding
        self.prepared = _PREPARED.setdefault(conn, set())
        self._preparing: set[bytes] = set()
        self._waiting: deque[tuple[Rows | None, bytes | None]] = deque()  # a result set each
        self._poll = select.poll()
        self._poll.register(self.pgconn.socket, select.POLLIN)
        self.pgconn.enter_pipeline_mode()

    def send(self, statement: Statement, params: dict[str, object], *, flush: bool) -> Rows:
        """Queue the statement (prepared first on this connection's first use); a read is flushed."""
        if statement.name not in self.prepared and statement.name not in self._preparing:
            self.pgconn.send_prepare(statement.name, statement.prepared_text)
            self._preparing.add(statement.name)
            self._waiting.append((None, statement.name))
        encoding = self.encoding
        values, formats = zip(*(_value(params[n], encoding) for n in statement.names), strict=True)
        self.pgconn.send_query_prepared(statement.name, values, formats)
        rows = Rows(self)
        self._waiting.append((rows, None))
        if flush:
            self.pgconn.send_flush_request()
            self._flush()
        return rows

    def send_plain(self, query: bytes) -> None:
        """Queue a statement without parameters (BEGIN, ROLLBACK)."""
        self.pgconn.send_query_params(query, None)
        self._waiting.append((Rows(self), None))

    def receive(self, until: Rows | None = None) -> None:
        """Read result sets in order until `until`'s is in (None: every one queued)."""
        while self._waiting:
            rows, prepared = self._waiting.popleft()
            results = self._result_set()
            error = next((r for r in results if r.status not in _WANTED), None)
            if prepared is not None:
                self._preparing.discard(prepared)
                if error is None:
                    self.prepared.add(prepared)
            elif rows is not None:
                if error is None:
                    rows.result = results[-1] if results else None
                else:
                    rows.error = self._error(error)
                if rows is until:
                    return

    def finish(self) -> psycopg.Error | None:
        """Send the Sync (committing what did not fail), read every result; the first error, if any."""
        self.pgconn.pipeline_sync()
        self._flush()
        pending = [rows for rows, _ in self._waiting if rows is not None]
        self.receive()
        while True:  # the Sync's own result
            result = self._next()
            if result is not None and result.status == _STATUS.PIPELINE_SYNC:
                break
        self.pgconn.exit_pipeline_mode()
        return next((rows.error for rows in pending if rows.error is not None), None)

    def _error(self, result: pq.abc.PGresult) -> psycopg.Error:
        if result.status == _STATUS.PIPELINE_ABORTED:
            return psycopg.errors.PipelineAborted("pipeline aborted")
        return psycopg.errors.error_from_result(result, encoding=self.encoding)

    def _result_set(self) -> list[pq.abc.PGresult]:
        results = []
        while (result := self._next()) is not None:
            results.append(result)
        return results

    def _next(self) -> pq.abc.PGresult | None:
        while self.pgconn.is_busy():
            self._poll.poll()
            self.pgconn.consume_input()
        return self.pgconn.get_result()

    def _flush(self) -> None:
        while self.pgconn.flush() == 1:
            self._poll.modify(self.pgconn.socket, select.POLLIN | select.POLLOUT)
            self._poll.poll()
            self.pgconn.consume_input()
        self._poll.modify(self.pgconn.socket, select.POLLIN)


def forget_prepared(conn: Connection) -> None:
    """Prepare every statement again on `conn` (PostgreSQL no longer knows one)."""
    _PREPARED.pop(conn, None)


class Fetchable(Protocol):
    """A statement's rows, fetched once: a psycopg cursor's, or a block's (Rows)."""

    def fetchall(self) -> list[tuple[Any, ...]]: ...


# The open block of each connection running one (by id: the connection lives while it runs), set
# and cleared by pipelined.py.
OPEN: dict[int, Block] = {}


def execute(conn: Connection, statement: Statement, params: dict[str, object], *, read: bool) -> Fetchable:
    """Run `statement` on `conn`: in its open block (a read flushed to get its rows at once, a write
    sent with the block's Sync), else through psycopg (inside a test's transaction, say)."""
    block = OPEN.get(id(conn))
    if block is None:
        return conn.execute(statement.text, params)
    return block.send(statement, params, flush=read)
