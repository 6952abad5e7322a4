"""Projector workers: a thread steps a group of projections; at most one is active per projection anywhere.

A worker holds a session advisory lock for each projection it keeps up to date;
another worker (in this process or another) waits on standby and takes over a
projection when its lock is released, for instance because its process died (a
worker looks again for the locks it lacks every poll interval). Each step is one
transaction for all the projections it holds, in three round trips whatever
their number (see together.apply_together): a projection steps with the ones it
depends on, in the same transaction. A lost
database connection is retried with backoff (tenacity) until the database is
back; the checkpoints make the restart exact.

Wake-ups are coalesced: a worker steps at most once per `min_interval` while
the log keeps growing (unless a batch came back full, i.e. it is catching up),
so under load each step folds the appends of the whole interval instead of
every append waking the worker; the first append after a quiet spell (no
step that applied events within `min_interval`) is applied at once. Finished events held
back behind an older transaction (whose end nothing announces) are looked for again after 2 ms,
doubling to 100 ms while that lasts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import psycopg
from tenacity import RetryCallState

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection
from projections.engine.reconnecting import run_reconnecting
from projections.engine.runner import SWAP_LOCK, Batch, ensure_checkpoints, lock_key
from projections.engine.snapshotting import Snapshotter
from projections.engine.together import PROJECTORS, apply_together

log = logging.getLogger(__name__)

# Seconds before another look when finished events wait behind an older transaction, doubling to the last.
HELD_FIRST = 0.002
HELD_LAST = 0.1
# synchronous_commit for the workers' sessions (see _session).
BATCH_COMMIT = "off"
# Which of these advisory lock keys no other session held: this one holds them now.
TRY_LOCKS = "SELECT coalesce(array_agg(k), '{}') FROM unnest(%s::bigint[]) k WHERE pg_try_advisory_lock(k)"


class ProjectionWorker:
    """Keeps one projection, or several together, up to date with the log until stopped."""

    def __init__(
        self,
        url: str,
        projection: Projection | Sequence[Projection],
        stop: threading.Event,
        *,
        batch_size: int = 50_000,
        poll_interval: float = 1.0,
        min_interval: float = 0.0,
    ) -> None:
        self.url = url
        self.projections = (projection,) if isinstance(projection, Projection) else tuple(projection)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.min_interval = min_interval
        self.wake = threading.Event()
        self.active = threading.Event()  # set while it holds the lock of at least one projection
        self.after_applied: Callable[[], object] | None = None  # runs after a step that applied events
        self.held: tuple[Projection, ...] = ()  # the projections whose lock its session holds
        self._stop = stop

    @property
    def names(self) -> str:
        """Its projections' names, for the logs."""
        return ", ".join(p.name for p in self.projections)

    def run(self) -> None:
        """Work until the stop event is set, reconnecting whenever the database goes away."""
        run_reconnecting(self._session, self._stop, self._pause, self._log_retry)

    def _session(self) -> None:
        self.active.clear()
        self.held = ()
        with psycopg.connect(
            self.url, autocommit=True, connect_timeout=5, application_name=PROJECTORS
        ) as conn:
            # A batch's commit need not wait for its WAL flush: read rows and checkpoint are one
            # transaction, so a server crash can only lose the last batches whole, and they are
            # applied again from the durable checkpoint (the log's own commits stay synchronous).
            # No JIT for its short batches (api/runtime/pooling.py's JIT_OFF says why).
            conn.execute(
                "SELECT set_config('synchronous_commit', %s, false), set_config('jit', 'off', false)",
                [BATCH_COMMIT],
            )
            ensure_checkpoints(conn, self.projections)
            if not self._take_locks(conn):
                return
            self._loop(conn)
        self.active.clear()

    def _loop(self, conn: Connection) -> None:
        held, last = HELD_FIRST, -math.inf  # `last`: when the latest step that applied events began
        looked = time.monotonic()  # when it last tried the locks it does not hold (another is active)
        while not self._stop.is_set():
            # Coalesce: appends until `min_interval` after the latest step that applied events join
            # this one. A step that found nothing does not count, so the first append after a quiet
            # spell is applied at once.
            rest = last + self.min_interval - time.monotonic()
            if rest > 0:
                self._stop.wait(rest)
            started = time.monotonic()
            if len(self.held) < len(self.projections) and started - looked >= self.poll_interval:
                looked = started
                self._try_locks(conn)
            self.wake.clear()  # a wake-up from now on may announce events this step misses
            batches = self.step(conn).values()
            events = sum(b.events for b in batches)
            if events and self.after_applied is not None:
                self.after_applied()
            last = started if events else last
            if any(b.events >= self.batch_size for b in batches):
                last = -math.inf  # catching up: no pause
            elif events == 0 and any(b.held_back for b in batches):
                # Finished events wait behind an older transaction (a command, another projection's
                # batch) whose end nothing announces: look again soon, less often while it lasts.
                self._stop.wait(held)
                held = min(held * 2, HELD_LAST)
                continue
            elif events == 0:
                self.wake.wait(self.poll_interval)
            held = HELD_FIRST

    def _take_locks(self, conn: Connection) -> bool:
        """Until it holds the lock of at least one of its projections (False: stopped first)."""
        while not self._stop.is_set():
            self._try_locks(conn)
            if self.held:
                return True
            self._stop.wait(self.poll_interval)  # standby: another worker is active
        return False

    def _try_locks(self, conn: Connection) -> None:
        """Take the lock of each of its projections that no other session holds; active with any."""
        missing = {lock_key(p.name): p for p in self.projections if p not in self.held}
        row = conn.execute(TRY_LOCKS, [list(missing)]).fetchone()
        taken = {missing[key] for key in (row[0] if row is not None else ())}
        for projection in taken:
            log.info("projection %s: active", projection.name)
        self.held = tuple(p for p in self.projections if p in self.held or p in taken)
        held = self.held
        if held:
            self.active.set()

    def step(self, conn: Connection) -> dict[str, Batch]:
        """Apply one batch of each projection whose lock it holds, in one transaction; what each applied.

        Three round trips (see together.apply_together), the commit in the last.
        """
        with conn.pipeline(), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWAP_LOCK])
            return apply_together(conn, self.held, self.batch_size)

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("projections %s: database unavailable (%s); retrying", self.names, error)


class ProjectorHub:
    """Runs a few worker threads, each stepping a group of the projections, and wakes them when the log grows.

    A worker per group, not per projection: a step is one transaction for its whole group, so its
    fixed costs (the transaction, the plan, the commit, the thread's wake-up) are paid once per
    step, not once per projection (most of a command's database CPU at the head of the log, issue
    12). Two groups by default, so that catching up keeps two backends busy (one worker for all
    caught up at 0.6x the speed of a worker per projection, README). A projection is in the group
    of the projections it depends on.
    """

    def __init__(
        self,
        url: str,
        projections: Iterable[Projection],
        *,
        batch_size: int = 50_000,
        poll_interval: float = 1.0,
        min_interval: float = 0.0,
        snapshot_interval: int = 10_000,
        groups: int = 2,
    ) -> None:
        self.stop_event = threading.Event()
        self.projections = tuple(projections)
        self.workers = [
            ProjectionWorker(
                url,
                group,
                self.stop_event,
                batch_size=batch_size,
                poll_interval=poll_interval,
                min_interval=min_interval,
            )
            for group in grouped(self.projections, groups)
        ]
        # Balance snapshots, beside the worker that keeps the inventory while it holds its lock.
        self.snapshotters = [
            Snapshotter(url, snapshot_interval, _holds_inventory(worker), self.stop_event)
            for worker in self.workers
            if any(p.name == "inventory" for p in worker.projections)
        ]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start every worker in a daemon thread."""
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, name=f"projectors-{worker.names}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for snapshotter in self.snapshotters:
            thread = threading.Thread(target=snapshotter.run, name="projectors-snapshots", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell every worker that there may be new events."""
        for worker in self.workers:
            if not worker.wake.is_set():  # set() takes the event's lock and notifies: once is enough
                worker.wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers and wait for them to finish their current batch."""
        self.stop_event.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)


def grouped(projections: Sequence[Projection], groups: int) -> list[tuple[Projection, ...]]:
    """`projections` in at most `groups` groups, each projection with those it depends on, in order.

    The projections tied by dependencies go together; these clusters are dealt out, the largest
    first, to the group with the fewest projections so far.
    """
    clusters: list[list[Projection]] = []
    for projection in projections:  # dependencies come first (the registry's order)
        tied = [c for c in clusters if any(p.name in projection.depends_on for p in c)]
        merged = [p for c in tied for p in c] + [projection]
        clusters = [c for c in clusters if c not in tied] + [merged]
    dealt: list[list[Projection]] = [[] for _ in range(max(1, min(groups, len(clusters))))]
    for cluster in sorted(clusters, key=len, reverse=True):
        min(dealt, key=len).extend(cluster)
    order = {p.name: i for i, p in enumerate(projections)}
    return [tuple(sorted(group, key=lambda p: order[p.name])) for group in dealt if group]


def _holds_inventory(worker: ProjectionWorker) -> Callable[[], bool]:
    """Whether `worker` holds the inventory projection's lock (is the active one) now."""
    return lambda: any(p.name == "inventory" for p in worker.held)
