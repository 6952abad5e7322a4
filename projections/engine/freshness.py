"""Read-your-writes: wait until the projections have applied everything up to a log position.

An append returns its position. Projected "up to position P" means each
projection's checkpoint has passed P's place in the commit-safe order; since a
checkpoint only passes transactions older than every one still running,
everything that committed before P's transaction is applied too.

A wait on a primary LISTENs on the channel each checkpoint's advance notifies
(runner.CHECKPOINTS), so it ends as soon as the batch that passes P commits,
not at the next poll; a wait on a standby, where LISTEN is refused, polls. A
lost notification costs at most `interval` (the notified wait still looks
again that often).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from psycopg import sql
from psycopg.pq import TransactionStatus

from ledger.postgres.connection import Connection
from ledger.recorded import LogCheckpoint
from projections.engine.runner import CHECKPOINTS, announced, checkpoint

PLACE = "SELECT writer_xid::text::bigint FROM ledger_events WHERE position = %s"
LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHECKPOINTS))
UNLISTEN = sql.SQL("UNLISTEN {}").format(sql.Identifier(CHECKPOINTS))
# Looks between notifications, just in case: polled waits double up to it, notified ones use it as is.
LONGEST_LOOK = 0.05


def is_projected(conn: Connection, names: Iterable[str], position: int) -> bool:
    """Whether every named projection has applied the event at `position` (and all before it)."""
    row = conn.execute(PLACE, [position]).fetchone()
    if row is None:
        return False  # not committed (yet), or no such position
    place = LogCheckpoint(row[0], position)
    return all(checkpoint(conn, name) >= place for name in names)


def wait_until_projected(
    conn: Connection,
    names: Iterable[str],
    position: int,
    timeout: float,
    interval: float = 0.005,
    *,
    notified: bool = False,
) -> bool:
    """Wait up to `timeout` seconds for `is_projected`; return whether it came true.

    `notified` (an autocommit connection to the primary) waits for the checkpoints' notifications
    between looks; else it sleeps `interval`, doubling to LONGEST_LOOK.
    """
    names = tuple(names)
    if is_projected(conn, names, position):
        return True
    if timeout <= 0:
        return False
    if not notified or conn.info.transaction_status != TransactionStatus.IDLE:  # LISTEN waits for COMMIT
        return _polled(conn, names, position, time.monotonic() + timeout, interval)
    conn.execute(LISTEN)
    try:
        return _notified(conn, names, position, time.monotonic() + timeout)
    finally:
        if not conn.broken:  # else the error that broke it is the one to see
            conn.execute(UNLISTEN)
            for _ in conn.notifies(timeout=0):  # forget what came in meanwhile: the connection goes back
                pass


def _polled(
    conn: Connection, names: tuple[str, ...], position: int, deadline: float, interval: float
) -> bool:
    while True:
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 2, LONGEST_LOOK)
        if is_projected(conn, names, position):
            return True


def _notified(conn: Connection, names: tuple[str, ...], position: int, deadline: float) -> bool:
    # Listening before this look: a checkpoint that passes the position after it is announced to us.
    while not is_projected(conn, names, position):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        look = min(remaining, LONGEST_LOOK)
        for notify in conn.notifies(timeout=look):
            if not set(names).isdisjoint(announced(notify.payload)):
                break
    return True
