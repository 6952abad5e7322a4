"""Rendered GET /inventory pages kept per process while nothing they show can have changed.

A page is what `inventory_page` reads: the `inventory` table (written only by its projection,
whose every checkpoint advance, rebuild included, NOTIFYs `projection_checkpoints` with the
projection's name) and the names of parts, warehouses and organizations (a NOTIFY on
`reference_data` after each statement writing them, alembic 0015). A thread LISTENs on both;
each notification that concerns the pages bumps the cache's generation, and an entry is served
only while the generation it was read under is current. A read takes the generation before its
statement and puts its page under it, so a page read across a change is never served.

Correct by construction, with these bounds:
- Keyed by the caller's scope (their organizations, or everything) and the normalized query
  (typed filters, cursor key and page size): two callers of different scopes never share one.
- Off while the listener is not connected (a page is neither served nor kept), and dropped on
  each (re)connection: a notification cannot be missed unseen.
- `min_position` reads skip it (they wait, then read the tables), as does a process that reads
  from a replica (a notification from the primary can arrive before the replica replays it).
- Concurrent misses of one key under one generation share one read (`read_through`): when a
  change clears the cache under load, 32 clients asking for the same page cost one statement.
- Staleness: after a commit that changes a page, this process may serve the old one until the
  commit's notification reaches its listener (the delivery of a NOTIFY on a connection already
  waiting for it: milliseconds), and at most `max_age` seconds in any case.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Hashable

import psycopg
from psycopg import sql

from projections.engine.runner import CHECKPOINTS, announced

log = logging.getLogger(__name__)

REFERENCE_DATA = "reference_data"  # alembic 0015's channel; payload: the table written
SHOWN = frozenset({"parts", "warehouses", "organizations"})
MAX_ENTRIES = 2_000


class PageCache:
    """Pages (JSON bytes) by key, each valid while the generation it was read under is current."""

    def __init__(self, url: str | None, *, max_age: float = 5.0, projection: str = "inventory") -> None:
        self.url = url  # None: the cache stays off
        self.max_age = max_age
        self.projection = projection
        self.generation = 0
        self.hits = 0
        self.connected = False
        self._pages: dict[Hashable, tuple[int, float, bytes]] = {}
        self._flights: dict[tuple[Hashable, int], asyncio.Future[bytes]] = {}  # the event loop's only
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def token(self) -> int | None:
        """The generation to read a page under, or None while the cache is off."""
        return self.generation if self.connected else None

    def get(self, key: Hashable) -> bytes | None:
        """The page kept under `key`, if read under the current generation less than `max_age` ago."""
        entry = self._pages.get(key)
        if entry is None or not self.connected:
            return None
        generation, read_at, body = entry
        if generation != self.generation or time.monotonic() - read_at > self.max_age:
            return None
        self.hits += 1
        return body

    def put(self, key: Hashable, body: bytes, token: int | None, read_at: float) -> None:
        """Keep `body`, read from `read_at` (monotonic) under `token`, unless a change came since."""
        if token is None or token != self.generation:
            return
        if len(self._pages) >= MAX_ENTRIES:
            self._pages.clear()
        # Tagged with its generation: a change between the check above and this is caught by `get`.
        self._pages[key] = (token, read_at, body)

    async def read_through(self, key: Hashable, read: Callable[[], Awaitable[bytes]]) -> bytes:
        """The page under `key`: the kept one, else `read`, once for all who miss it together.

        The read is a task of its own: a caller who goes away does not cancel it for the others.
        A read that fails fails for each of them; none is kept.
        """
        body = self.get(key)
        if body is not None:
            return body
        token, read_at = self.token(), time.monotonic()
        if token is None:
            return await read()
        flight = self._flights.get((key, token))
        if flight is None:
            flight = self._flights[key, token] = asyncio.ensure_future(read())
            flight.add_done_callback(lambda done: self._landed(key, token, read_at, done))
        return await asyncio.shield(flight)

    def _landed(self, key: Hashable, token: int, read_at: float, flight: asyncio.Future[bytes]) -> None:
        del self._flights[key, token]
        if not flight.cancelled() and flight.exception() is None:  # exception(): seen, not logged
            self.put(key, flight.result(), token, read_at)

    def changed(self) -> None:
        """Something a page shows may have changed: no page read before now is served again."""
        self.generation += 1  # only the listener's thread writes it
        self._pages = {}

    def start(self) -> None:
        """Start listening (once); the cache is on from the first LISTEN on."""
        if self.url is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="inventory-page-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; the cache is off."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._off()

    def _off(self) -> None:
        self.connected = False
        self.changed()

    def _run(self) -> None:
        pause = 0.1
        while not self._stop.is_set():
            try:
                self._listen()
                pause = 0.1
            except psycopg.Error as error:
                log.warning("inventory page cache off: %s", error)
            self._off()
            self._stop.wait(pause)
            pause = min(pause * 2, 5.0)

    def _listen(self) -> None:
        assert self.url is not None
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            for channel in (CHECKPOINTS, REFERENCE_DATA):
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.changed()  # whatever happened while nothing listened
            self.connected = True
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=0.5):
                    if self._concerns(notify.channel, notify.payload):
                        self.changed()

    def _concerns(self, channel: str, payload: str) -> bool:
        if channel == CHECKPOINTS:
            return self.projection in announced(payload)
        return payload in SHOWN
