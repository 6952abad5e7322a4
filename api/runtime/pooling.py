"""The API's connection pool, with every hold of a connection bounded in time.

A PostgreSQL that stops answering (a frozen server, a network partition) does
not refuse anything: a query sent to it waits for an answer that does not
come. Server-side timeouts cannot fire on a server that is not running, and
TCP timeouts do not fire while the peer's kernel still acknowledges packets
(a stopped server on loopback does). So a watchdog thread shuts down the
socket of a connection held past its deadline: the blocked call raises
OperationalError (answered 503 `database_unavailable`), and the pool discards
the broken connection and opens new ones, bounded by `connect_timeout`.

The bound is per hold (from taking a connection out of the pool to giving it
back), so it also covers the Idempotency-Key middleware, which takes its
connections from the same pool. A bounded wait that legitimately holds a
connection longer (a read with `min_position`) asks for more with
`allow_longer`.

`RequestConnection` is an HTTP request's hold, taken from the event loop only when the request
first needs one (`take`, `give_back`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from contextlib import AsyncExitStack
from typing import Any

import anyio
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from ledger.postgres.connection import Connection

log = logging.getLogger(__name__)


class WatchedConnection(Connection):
    """A pooled connection carrying its current holder's deadline (monotonic seconds; None in the pool)."""

    deadline: float | None = None


def allow_longer(conn: object, seconds: float) -> None:
    """Give the holder of `conn` `seconds` more before its connection is broken off (for a bounded wait)."""
    if isinstance(conn, WatchedConnection) and conn.deadline is not None:
        conn.deadline += seconds


# The service's statements are short (a batch's read and write, a page, a projection's batch), but
# some generic plans are estimated above jit_above_cost, and a server built with LLVM (Debian's
# PostgreSQL 15) then compiles them at every execution: POST /transactions at 1 connection on it,
# 2.08 -> 1.33 ms of PostgreSQL CPU a command with JIT off here (bench.http, 2026-12-06). Servers without
# LLVM (the embedded one) ignore it. Rebuilds, verify and the CLI's reads keep the server's setting.
JIT_OFF = "-c jit=off"


def api_conninfo(url: str, timeout: float) -> str:
    """`url` with the API connections' bounds; the projectors, rebuild and CLI use `url` as it is.

    Server side, a statement or an idle transaction is ended after `timeout`
    (a slow but running server cancels cleanly, and a frozen API process does
    not keep its row locks). TCP keepalives and `tcp_user_timeout` find a
    peer gone across a partition; `connect_timeout` bounds the pool's
    reconnections to a server that accepts but never answers. JIT compilation is
    off (JIT_OFF). Options already in `url` are kept.
    """
    ms = max(1, round(timeout * 1000))
    given = str(conninfo_to_dict(url).get("options") or "")
    ours = f"-c statement_timeout={ms} -c idle_in_transaction_session_timeout={ms} {JIT_OFF}"
    seconds = max(1, math.ceil(timeout))
    return make_conninfo(
        url,
        options=f"{given} {ours}".strip(),
        connect_timeout=max(2, seconds),  # libpq treats less than 2 s as 2 s
        keepalives=1,
        keepalives_idle=seconds,
        keepalives_interval=seconds,
        keepalives_count=3,
        tcp_user_timeout=ms,
    )


class Watchdog:
    """A thread that breaks the connections held past their deadline."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._held: set[WatchedConnection] = set()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._wake_at = math.inf  # when the thread next looks, unless notified

    def watch(self, conn: WatchedConnection, seconds: float) -> None:
        """Break `conn` if it is still held `seconds` from now (or later, if extended)."""
        with self._wake:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="database-watchdog", daemon=True)
                self._thread.start()
            conn.deadline = time.monotonic() + seconds
            self._held.add(conn)
            # Only a deadline before the thread's next look needs it woken: a hold's deadline is
            # mostly later than the others' (same timeout), so it rarely is (a wake-up per
            # checkout cost the event loop a GIL hand-off per request).
            if conn.deadline < self._wake_at:
                self._wake.notify()

    def release(self, conn: WatchedConnection) -> None:
        """Stop watching `conn`: once given back, it is never broken for its former holder."""
        with self._wake:  # under the lock, so the thread cannot break it after this returns
            self._held.discard(conn)
            conn.deadline = None

    def stop(self) -> None:
        """End the thread (connections still held are no longer watched)."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        with self._wake:
            while not self._stopped:
                now = time.monotonic()
                for conn in [c for c in self._held if c.deadline is not None and c.deadline <= now]:
                    self._held.discard(conn)
                    _break(conn)
                deadlines = [c.deadline for c in self._held if c.deadline is not None]
                # Extensions only move deadlines later: waking at the old one and looking again is enough.
                wait = max(min(deadlines) - now, 0.01) if deadlines else None
                self._wake_at = math.inf if wait is None else now + wait
                self._wake.wait(wait)


def _break(conn: WatchedConnection) -> None:
    """Shut the connection's socket down, so that a call blocked on it fails at once."""
    try:
        fd = conn.fileno()
    except psycopg.Error:
        return  # already closed
    log.warning("the database did not answer in time: breaking off a connection")
    try:
        # A duplicate of the descriptor: closing it leaves libpq's own, but shutdown acts on the socket.
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError as error:
        log.warning("could not break off the connection: %s", error)


# Typed as a pool of plain connections (what the middleware and the metrics take): they are Watched ones.
class WatchedPool(ConnectionPool[Connection]):
    """A connection pool whose every `connection()` hold is bounded by `hold_timeout` seconds."""

    def __init__(self, conninfo: str, *, hold_timeout: float, **kwargs: Any) -> None:
        super().__init__(conninfo, connection_class=WatchedConnection, **kwargs)
        self.hold_timeout = hold_timeout
        self.watchdog = Watchdog()
        self._waiters: anyio.CapacityLimiter | None = None

    def getconn(self, timeout: float | None = None) -> Connection:
        """A connection for at most `hold_timeout` seconds until `putconn`; past that it is broken.

        Watching from getconn to putconn covers every way a connection is held (`connection()`, and
        the middleware and dependency that take and give back one directly), commit or rollback included.
        """
        conn = super().getconn(timeout)
        assert isinstance(conn, WatchedConnection)  # the pool's connection_class
        self.watchdog.watch(conn, self.hold_timeout)
        return conn

    def waiters(self) -> anyio.CapacityLimiter:
        """The worker threads that wait for a connection (one per waiting request, up to 1000).

        Not the event loop's default threadpool: requests queued for a connection must never take
        the threads that the requests holding one need to finish. Made on first use, in the loop.
        """
        if self._waiters is None:
            self._waiters = anyio.CapacityLimiter(1000)
        return self._waiters

    def try_getconn(self) -> Connection | None:
        """An idle connection at once (watched as by `getconn`), or None when none is idle: never waits.

        For the event loop, which must not block: None sends the caller to `getconn` in a thread.
        It takes from the pool's own deque under the pool's lock (psycopg_pool keeps no public
        non-blocking get; `getconn(timeout=0)` always times out); the pool has no `check` callback
        to run, and `_nconns_min` is kept as `getconn` keeps it, for the pool's shrinking.
        """
        with self._lock:
            if not self._pool or self._closed:
                return None
            conn = self._pool.popleft()
            self._nconns_min = min(self._nconns_min, len(self._pool))
        self._stats[self._REQUESTS_NUM] += 1  # counted as getconn counts it (get_stats, /metrics)
        conn._pool = self
        assert isinstance(conn, WatchedConnection)  # the pool's connection_class
        self.watchdog.watch(conn, self.hold_timeout)
        return conn

    def putconn(self, conn: Connection) -> None:
        """Give `conn` back; it is no longer watched."""
        if isinstance(conn, WatchedConnection):
            self.watchdog.release(conn)
        super().putconn(conn)

    def close(self, timeout: float = 5.0) -> None:
        """Close the pool, then stop its watchdog."""
        super().close(timeout)
        self.watchdog.stop()


async def take(pool: ConnectionPool[Connection]) -> Connection:
    """A connection of `pool`, from the event loop: an idle one without a thread hop, else waited for."""
    ready = pool.try_getconn() if isinstance(pool, WatchedPool) else None
    if ready is None:
        # Waiting threads of their own: with the default limiter's 40 threads all waiting for a
        # connection, the requests that hold one could not get a thread to finish (and give it back).
        waiters = pool.waiters() if isinstance(pool, WatchedPool) else None
        ready = await anyio.to_thread.run_sync(pool.getconn, limiter=waiters)
    return ready


async def give_back(pool: ConnectionPool[Connection], conn: Connection) -> None:
    """Give `conn` back to `pool`: an idle connection without I/O; any other is reset in a thread.

    Shielded: a request being cancelled still gives its connection back.
    """
    if conn.info.transaction_status == TransactionStatus.IDLE:
        pool.putconn(conn)
    else:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(pool.putconn, conn)


class RequestConnection:
    """An HTTP request's one connection, taken from the pool when first needed, given back at its end.

    Most commands never need one (a cached caller, an access check without SQL, the group committer
    on its own connection), and holding one idle while the committer works made requests queue
    for the pool. Taking one pushes its give-back on `stack`, the request's exit stack, which is
    unwound after the answer, on errors and on cancellation alike: a request that takes none
    costs no cleanup at all (an async-generator dependency's context manager and cancel scope
    were a tenth of a command's event-loop time, py-spy). `held`, a connection the request
    already holds (the Idempotency-Key middleware's), is used instead and never given back here.
    `get` is awaited one caller at a time (FastAPI solves a request's dependencies in turn), so
    it takes at most one.
    """

    __slots__ = ("_held", "_pool", "_stack", "_taken")

    def __init__(
        self, pool: ConnectionPool[Connection], stack: AsyncExitStack, held: Connection | None = None
    ) -> None:
        self._pool = pool
        self._stack = stack
        self._held = held
        self._taken: Connection | None = None

    async def get(self) -> Connection:
        """The request's connection, taken (or waited for) on the first call."""
        if self._held is not None:
            return self._held
        if self._taken is None:
            self._taken = await take(self._pool)
            self._stack.push_async_callback(self.release)
        return self._taken

    @property
    def current(self) -> Connection:
        """The connection `get` returned; a RuntimeError before that (a route that forgot to take it)."""
        conn = self._held or self._taken
        if conn is None:
            raise RuntimeError("the request's connection was not taken: await get() first")
        return conn

    async def release(self) -> None:
        """Give a taken connection back (once); a held one stays with its holder."""
        conn, self._taken = self._taken, None
        if conn is not None:
            await give_back(self._pool, conn)
