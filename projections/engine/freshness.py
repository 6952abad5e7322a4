"""Read-your-writes: wait until the projections have applied everything up to a log position.

An append returns its position. Projected "up to position P" means each
projection's checkpoint has passed P's place in the commit-safe order; since a
checkpoint only passes transactions older than every one still running,
everything that committed before P's transaction is applied too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ledger.postgres.connection import Connection
from ledger.recorded import LogCheckpoint
from projections.engine.runner import checkpoint

PLACE = "SELECT writer_xid::text::bigint FROM ledger_events WHERE position = %s"


def is_projected(conn: Connection, names: Iterable[str], position: int) -> bool:
    """Whether every named projection has applied the event at `position` (and all before it)."""
    row = conn.execute(PLACE, [position]).fetchone()
    if row is None:
        return False  # not committed (yet), or no such position
    place = LogCheckpoint(row[0], position)
    return all(checkpoint(conn, name) >= place for name in names)


def wait_until_projected(
    conn: Connection, names: Iterable[str], position: int, timeout: float, interval: float = 0.005
) -> bool:
    """Wait up to `timeout` seconds for `is_projected`; return whether it came true."""
    names = tuple(names)
    deadline = time.monotonic() + timeout
    while True:
        if is_projected(conn, names, position):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 2, 0.05)
