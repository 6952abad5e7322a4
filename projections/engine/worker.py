"""Projector workers: one thread per projection, at most one active per projection across processes.

A worker holds a session advisory lock for its projection while it is active;
another worker (in this process or another) waits on standby and takes over
when the lock is released, for instance because its process died. Each batch
is its own transaction (see runner). A lost database connection is retried
with backoff (tenacity) until the database is back; the checkpoint makes the
restart exact.

Wake-ups are coalesced: a worker steps at most once per `min_interval` while
the log keeps growing (unless a batch came back full, i.e. it is catching up),
so under load each step folds the appends of the whole interval instead of
every append waking every worker; the first append after a quiet spell (no
step that applied events within `min_interval`) is applied at once. A worker that applied events wakes
the projections that depend on it, whose batches are bounded by its checkpoint. Finished events held
back behind an older transaction (whose end nothing announces) are looked for again after 2 ms,
doubling to 100 ms while that lasts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable

import psycopg
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection
from projections.engine.runner import SWAP_LOCK, Batch, apply_next, ensure_checkpoints, lock_key
from projections.tools import snapshots

log = logging.getLogger(__name__)

# Seconds before another look when finished events wait behind an older transaction, doubling to the last.
HELD_FIRST = 0.002
HELD_LAST = 0.1
# synchronous_commit for the workers' sessions (see _session).
BATCH_COMMIT = "off"


class ProjectionWorker:
    """Keeps one projection up to date with the log until stopped."""

    def __init__(
        self,
        url: str,
        projection: Projection,
        stop: threading.Event,
        *,
        batch_size: int = 50_000,
        poll_interval: float = 1.0,
        min_interval: float = 0.0,
    ) -> None:
        self.url = url
        self.projection = projection
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.min_interval = min_interval
        self.wake = threading.Event()
        self.active = threading.Event()
        self.after_step: Callable[[Connection], object] | None = None  # runs while this worker is active
        self.after_applied: Callable[[], object] | None = None  # runs after a step that applied events
        self._stop = stop

    def run(self) -> None:
        """Work until the stop event is set, reconnecting whenever the database goes away."""
        retrying = Retrying(
            retry=retry_if_exception_type(psycopg.OperationalError),
            wait=wait_exponential(multiplier=0.1, max=5),
            stop=lambda _: self._stop.is_set(),
            sleep=self._pause,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            retrying(self._session)
        except psycopg.OperationalError:
            if not self._stop.is_set():
                raise

    def _session(self) -> None:
        self.active.clear()
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            # A batch's commit need not wait for its WAL flush: read rows and checkpoint are one
            # transaction, so a server crash can only lose the last batches whole, and they are
            # applied again from the durable checkpoint (the log's own commits stay synchronous).
            conn.execute("SELECT set_config('synchronous_commit', %s, false)", [BATCH_COMMIT])
            ensure_checkpoints(conn, (self.projection,))
            if not self._take_lock(conn):
                return
            self.active.set()
            log.info("projection %s: active", self.projection.name)
            held, last = HELD_FIRST, -math.inf  # `last`: when the latest step that applied events began
            while not self._stop.is_set():
                # Coalesce: appends until `min_interval` after the latest step that applied events join
                # this one. A step that found nothing does not count, so the first append after a quiet
                # spell is applied at once.
                rest = last + self.min_interval - time.monotonic()
                if rest > 0:
                    self._stop.wait(rest)
                started = time.monotonic()
                self.wake.clear()  # a wake-up from now on may announce events this step misses
                batch = self.step(conn)
                if self.after_step is not None:
                    self.after_step(conn)
                if batch.events and self.after_applied is not None:
                    self.after_applied()
                last = started if batch.events else last
                if batch.events >= self.batch_size:
                    last = -math.inf  # catching up: no pause
                elif batch.events == 0 and batch.held_back:
                    # Finished events wait behind an older transaction (a command, another projection's
                    # batch) whose end nothing announces: look again soon, less often while it lasts.
                    self._stop.wait(held)
                    held = min(held * 2, HELD_LAST)
                    continue
                elif batch.events == 0:
                    self.wake.wait(self.poll_interval)
                held = HELD_FIRST
        self.active.clear()

    def _take_lock(self, conn: Connection) -> bool:
        key = lock_key(self.projection.name)
        while not self._stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            if row is not None and row[0]:
                return True
            self._stop.wait(self.poll_interval)  # standby: another worker is active
        return False

    def step(self, conn: Connection) -> Batch:
        """Apply one batch in its own transaction; return what it applied.

        Three round trips: BEGIN, the lock and the plan; the writes; COMMIT.
        """
        with conn.pipeline(), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWAP_LOCK])
            return apply_next(conn, self.projection, self.batch_size)

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("projection %s: database unavailable (%s); retrying", self.projection.name, error)


class ProjectorHub:
    """Runs a worker thread per projection and wakes them when the log grows."""

    def __init__(
        self,
        url: str,
        projections: Iterable[Projection],
        *,
        batch_size: int = 50_000,
        poll_interval: float = 1.0,
        min_interval: float = 0.0,
        snapshot_interval: int = 10_000,
    ) -> None:
        self.stop_event = threading.Event()
        self.workers = [
            ProjectionWorker(
                url,
                p,
                self.stop_event,
                batch_size=batch_size,
                poll_interval=poll_interval,
                min_interval=min_interval,
            )
            for p in projections
        ]
        for worker in self.workers:
            dependents = [w for w in self.workers if worker.projection.name in w.projection.depends_on]
            if dependents:
                worker.after_applied = _waker(dependents)
            if worker.projection.name == "inventory":  # its active worker also keeps the balance snapshots
                worker.after_step = _every_second(lambda conn: snapshots.advance(conn, snapshot_interval))
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start every worker in a daemon thread."""
        for worker in self.workers:
            thread = threading.Thread(
                target=worker.run, name=f"projector-{worker.projection.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell every worker that there may be new events."""
        for worker in self.workers:
            worker.wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers and wait for them to finish their current batch."""
        self.stop_event.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)


def _waker(workers: list[ProjectionWorker]) -> Callable[[], None]:
    """Wake `workers` (the dependents of a projection that just advanced)."""

    def wake() -> None:
        for worker in workers:
            worker.wake.set()

    return wake


def _every_second(action: Callable[[Connection], object]) -> Callable[[Connection], None]:
    """`action`, run at most once a second however often it is called (a worker loops fast under load)."""
    last = 0.0

    def throttled(conn: Connection) -> None:
        nonlocal last
        if time.monotonic() - last >= 1.0:
            last = time.monotonic()
            action(conn)

    return throttled
