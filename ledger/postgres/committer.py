"""Group commit: a thread that owns one connection and runs whatever commands are queued as one batch.

Callers on any thread `submit` a command and get a Future; async code `enqueue`s it and awaits
the answer on its event loop (awaited.py: one wake-up of the loop per batch). The thread takes
the first queued command, then everything else already queued (up to `max_batch`), and runs them
with PostgresLedger.execute_batch: there is no timer, so an idle committer answers one command as
fast as execute would, and under load the batches grow by themselves. Each future gets its own
command's result or exception.

Clients that wait for each answer before sending again (HTTP clients, the benchmark's threads)
would form batches of about clients / (2 x committers): while one batch commits, the clients it
answers are not queued yet. So a committer that has just answered n commands, with m more
waiting, lingers (at most `linger`, 0.3 ms by default) until n + m are queued before it drains:
the answered clients' next commands join the batch instead of the one after. A batch costs about
as much again as a command (its statements and its commit), so the bigger batch halves that
share: with 8 closed-loop writers, 7.5 commands a batch instead of 4 and about 30% less CPU a
command, client and PostgreSQL alike (bench/append.py). A committer that answered one command
does not linger: an idle one answers as fast as execute would. One committer is the best choice
while CPU, not the WAL flush, is scarce; more overlap commits the other way round.

`close()` refuses new commands and waits for the queued ones to run; if the thread cannot run
them (it died, or the wait timed out) they fail with CommitterClosed, never silently. Several
committers (Committers) take from one queue, one at a time forming a batch: a committer whose
batch waits for PostgreSQL leaves the next one to a free committer, instead of commands being
routed to a committer's own queue, where they waited behind its batch. With 8 closed-loop clients
and 2 committers: 6.2 commands a batch instead of 3.2, and about a third less CPU a command,
client and PostgreSQL (bench/append.py).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import NamedTuple

from ledger.commands import StockCommand
from ledger.orders.commands import OrderCommand
from ledger.postgres.awaited import Awaited, copy_outcomes, tell_loops
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult


class CommitterClosed(RuntimeError):
    """The committer was closed before the command could run; it was not recorded."""


class _Submission(NamedTuple):  # immutable, and made faster than a frozen dataclass (one a command)
    command: StockCommand | OrderCommand
    metadata: CommandMetadata
    future: Future[CommandResult]
    awaited: Awaited | None = None  # when made from an event loop (`enqueue`)


_STOP = None
LINGER = 0.0003  # seconds a loaded committer waits for the clients it just answered


class _Intake:
    """The queue that committers take batches from, and what guards it; shared by a Committers' members.

    One committer at a time forms a batch (`taking`): the others wait for their turn, so the
    submissions that arrive while one committer lingers join its batch, and a committer whose
    batch is waiting for PostgreSQL leaves the next batch to a free one.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
        self.lock = threading.Lock()  # guards `closed`, `threads`, and putting
        self.taking = threading.Lock()
        self.closed = False
        self.threads = 0  # committers taking from this queue and still running
        # While a committer lingers: how many queued submissions end the wait (0: none lingers), and
        # the event the submission that makes them so many sets. No polling: the batch starts at once.
        self.awaited = 0
        self.enough = threading.Event()


class GroupCommitter:
    """Batch concurrent submissions onto one connection (see the module's docstring).

    `connect` returns an autocommit connection; it is called again after the connection breaks.
    `intake` is the queue it shares with other committers (Committers); by default its own.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        ledger: PostgresLedger,
        *,
        max_batch: int = 64,
        linger: float = LINGER,
        name: str = "ledger-committer",
        intake: _Intake | None = None,
    ) -> None:
        self._connect = connect
        self._ledger = ledger
        self._max_batch = max_batch
        self.linger = linger
        self._intake = intake = intake or _Intake()
        self._queue = intake.queue
        self.batches = 0  # how many batches ran, and how many commands: for benchmarks and tests
        self.commands = 0
        with intake.lock:
            intake.threads += 1
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, command: StockCommand | OrderCommand, metadata: CommandMetadata
    ) -> Future[CommandResult]:
        """Queue `command`; the future gets its CommandResult, or its LedgerError (or other failure)."""
        future: Future[CommandResult] = Future()
        self._put(_Submission(command, metadata, future))
        return future

    def enqueue(self, command: StockCommand | OrderCommand, metadata: CommandMetadata) -> Awaited:
        """From the running event loop: queue `command`; its answer arrives on the loop (awaited.py)."""
        future: Future[CommandResult] = Future()
        awaited = Awaited(asyncio.get_running_loop().create_future(), future)
        if not self._put(_Submission(command, metadata, future, awaited)):
            copy_outcomes([awaited])  # refused at once, on the loop already
        return awaited

    def _put(self, submission: _Submission) -> bool:
        """Queue the submission; False (its future failed with CommitterClosed) once closed."""
        intake = self._intake
        with intake.lock:
            if intake.closed:
                submission.future.set_exception(CommitterClosed("the ledger's committer is closed"))
                return False
            intake.queue.put(submission)
            if intake.awaited and intake.queue.qsize() >= intake.awaited:
                intake.enough.set()
        return True

    def close(self, timeout: float | None = None) -> None:
        """Refuse new commands, run the queued ones, stop; what could not run fails with CommitterClosed.

        Committers sharing the queue all stop (one stop mark each); this waits for this one.
        """
        intake = self._intake
        with intake.lock:
            if not intake.closed:
                intake.closed = True
                for _ in range(intake.threads):
                    intake.queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._fail_queued("the ledger's committer did not finish in time")

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            stopping, expect = False, 1
            while not stopping:
                with self._intake.taking:
                    batch, stopping = self._next_batch(expect)
                conn = self._run_batch(conn, batch)
                expect = len(batch) + self._queue.qsize()  # the clients answered, and those waiting
        finally:
            if conn is not None:
                conn.close()
            with self._intake.lock:
                self._intake.threads -= 1
                last = self._intake.threads == 0
            if last:  # a committer still running serves what is queued
                self._fail_queued("the ledger's committer stopped")

    def _next_batch(self, expect: int = 1) -> tuple[list[_Submission], bool]:
        """The first queued submission (waiting for it) and whatever else is queued; whether to stop.

        With `expect` > 1, wait (at most the linger) until that many are queued.
        """
        first = self._queue.get()
        if first is _STOP:
            return [], True
        if expect > 1 and self.linger > 0:
            self._await(min(expect, self._max_batch) - 1)
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _await(self, target: int) -> None:
        """Wait (at most the linger) until `target` submissions are queued.

        `awaited` is set before the queue is looked at, and a submission looks at the queue after
        adding to it: whichever of the two comes second sees the other, so no wake-up is lost.
        """
        intake = self._intake
        intake.enough.clear()
        intake.awaited = target
        try:
            if intake.queue.qsize() < target:
                intake.enough.wait(self.linger)  # releases the GIL: the answered clients submit
        finally:
            intake.awaited = 0

    def _run_batch(self, conn: Connection | None, batch: Sequence[_Submission]) -> Connection | None:
        """Run the batch's live submissions; the connection to use next (None: connect again)."""
        live = [s for s in batch if s.future.set_running_or_notify_cancel()]
        if not live:
            return conn
        try:
            if conn is None or conn.closed:
                conn = self._connect()
            outcomes = self._ledger.execute_batch(conn, [(s.command, s.metadata) for s in live])
        except Exception as error:  # cannot connect: every command of the batch says so
            outcomes = [error] * len(live)
        self.batches += 1
        self.commands += len(live)
        for submission, outcome in zip(live, outcomes, strict=True):
            if isinstance(outcome, Exception):
                submission.future.set_exception(outcome)
            else:
                submission.future.set_result(outcome)
        tell_loops((s.awaited, o) for s, o in zip(live, outcomes, strict=True) if s.awaited is not None)
        if conn is not None and (conn.closed or conn.broken):
            conn.close()
            return None
        return conn

    def _fail_queued(self, reason: str) -> None:
        with self._intake.lock:
            self._intake.closed = True
        failed: list[tuple[Awaited, CommandResult | BaseException]] = []
        stops = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stops += 1
            elif item.future.set_running_or_notify_cancel():
                item.future.set_exception(closed := CommitterClosed(reason))
                if item.awaited is not None:
                    failed.append((item.awaited, closed))
        for _ in range(stops):  # a thread still in its batch (close timed out) stops when it is back
            self._queue.put(_STOP)
        tell_loops(failed)


class Committers:
    """Several GroupCommitters, one connection each, taking batches from one queue.

    A committer whose batch waits for PostgreSQL leaves the queue to a free one, which lingers for
    the clients it answered and takes whatever is queued: the Python of one batch runs while
    PostgreSQL works on another's.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        ledger: PostgresLedger,
        *,
        count: int = 2,
        max_batch: int = 64,
        linger: float = LINGER,
    ) -> None:
        intake = _Intake()
        self.members = [
            GroupCommitter(
                connect,
                ledger,
                max_batch=max_batch,
                linger=linger,
                name=f"ledger-committer-{n}",
                intake=intake,
            )
            for n in range(count)
        ]

    def submit(
        self, command: StockCommand | OrderCommand, metadata: CommandMetadata
    ) -> Future[CommandResult]:
        """Queue `command` for the next free committer."""
        return self.members[0].submit(command, metadata)

    def enqueue(self, command: StockCommand | OrderCommand, metadata: CommandMetadata) -> Awaited:
        """From the running event loop: queue `command` for the next free committer (see GroupCommitter)."""
        return self.members[0].enqueue(command, metadata)

    def close(self, timeout: float | None = None) -> None:
        """Close every committer (see GroupCommitter.close)."""
        for member in self.members:
            member.close(timeout)
