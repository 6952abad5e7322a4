"""The group committer: concurrent submissions batched onto one connection, each answered alone."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from ledger import errors
from ledger.commands import ConsumeStock, CreateStock
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.committer import CommitterClosed, Committers, GroupCommitter
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db
D = Decimal


def on_hand(conn: Conn, site: Site) -> Decimal:
    row = conn.execute(
        "SELECT on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s",
        [site.a, site.part],
    ).fetchone()
    return Decimal(0) if row is None else Decimal(row[0])


def test_queued_commands_run_in_few_batches_each_with_its_own_answer(
    db_url: str, conn: Conn, site: Site
) -> None:
    ledger = PostgresLedger(Policy(negative_stock=NegativeStockPolicy.REJECT))
    committer = GroupCommitter(lambda: psycopg.connect(db_url, autocommit=True), ledger)
    metadata = CommandMetadata(performed_by_user_id=site.user)
    try:
        futures = [
            committer.submit(CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), metadata)
            for _ in range(40)
        ]
        futures += [
            committer.submit(
                ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1)), metadata
            )
            for _ in range(50)
        ]
        outcomes = [f.exception(timeout=60) or f.result() for f in futures]
    finally:
        committer.close()
    assert all(isinstance(o, CommandResult) for o in outcomes[:40])
    sold = [o for o in outcomes[40:] if isinstance(o, CommandResult)]
    refused = [o for o in outcomes[40:] if isinstance(o, errors.InsufficientStock)]
    assert len(sold) == 40 and len(refused) == 10
    assert on_hand(conn, site) == 0
    assert committer.commands == 90 and committer.batches < 20


def test_many_threads_submitting_at_once(db_url: str, conn: Conn, site: Site) -> None:
    committers = Committers(
        lambda: psycopg.connect(db_url, autocommit=True), PostgresLedger(Policy()), count=2
    )
    barrier = threading.Barrier(16)
    results: list[CommandResult] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        for _ in range(10):
            command = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
            done = committers.submit(command, CommandMetadata(performed_by_user_id=site.user)).result(60)
            with lock:
                results.append(done)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    committers.close()
    assert len(results) == 160 and len({r.position for r in results}) == 160
    assert on_hand(conn, site) == 160
    assert sum(m.commands for m in committers.members) == 160


def test_committers_share_one_queue_a_free_one_takes_what_a_busy_one_left(
    db_url: str, conn: Conn, site: Site
) -> None:
    """While one committer's batch is held (its connection does not open), the next submission is
    answered by the other: it is not queued behind the busy one. Closing stops both."""
    gate, opened = threading.Event(), []

    def connect() -> Connection:
        opened.append(1)
        if len(opened) == 1:
            gate.wait(30)  # the first committer to run a batch is held here
        return psycopg.connect(db_url, autocommit=True)

    committers = Committers(connect, PostgresLedger(Policy()), count=2)
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    try:
        held = committers.submit(create, metadata)
        while not held.running():
            threading.Event().wait(0.001)
        answered = [committers.submit(create, metadata).result(20) for _ in range(3)]
        assert not held.done() and all(a.position is not None for a in answered)
        gate.set()
        assert held.result(30).position is not None
    finally:
        gate.set()
        committers.close(30)
    assert all(not m._thread.is_alive() for m in committers.members)
    assert sorted(m.commands for m in committers.members) == [1, 3]
    with pytest.raises(CommitterClosed):
        committers.submit(create, metadata).result(1)
    assert on_hand(conn, site) == 4


def test_close_runs_what_was_queued_and_refuses_what_comes_after(db_url: str, conn: Conn, site: Site) -> None:
    committer = GroupCommitter(lambda: psycopg.connect(db_url, autocommit=True), PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2))
    queued = [committer.submit(create, metadata) for _ in range(10)]
    committer.close()
    assert all(f.done() and f.exception() is None for f in queued)
    late = committer.submit(create, metadata)
    with pytest.raises(CommitterClosed):
        late.result(1)
    assert on_hand(conn, site) == 20


def test_a_connection_that_cannot_be_opened_fails_its_batch_and_the_next_one_connects(
    db_url: str, conn: Conn, site: Site
) -> None:
    attempts: list[int] = []

    def connect() -> Connection:
        attempts.append(1)
        if len(attempts) == 1:
            raise psycopg.OperationalError("no database today")
        return psycopg.connect(db_url, autocommit=True)

    committer = GroupCommitter(connect, PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    try:
        with pytest.raises(psycopg.OperationalError):
            committer.submit(create, metadata).result(30)
        assert committer.submit(create, metadata).result(30).position is not None
    finally:
        committer.close()
    assert on_hand(conn, site) == 1


def test_a_broken_connection_is_replaced(db_url: str, conn: Conn, site: Site) -> None:
    opened: list[Connection] = []

    def connect() -> Connection:
        opened.append(psycopg.connect(db_url, autocommit=True))
        return opened[-1]

    committer = GroupCommitter(connect, PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    try:
        committer.submit(create, metadata).result(30)
        conn.execute("SELECT pg_terminate_backend(%s)", [opened[0].info.backend_pid])
        failed = committer.submit(create, metadata)
        assert isinstance(failed.exception(30), psycopg.OperationalError)
        assert committer.submit(create, metadata).result(30).position is not None
    finally:
        committer.close()
    assert len(opened) == 2
    assert on_hand(conn, site) == 2


def test_a_cancelled_submission_is_not_run(db_url: str, conn: Conn, site: Site) -> None:
    gate = threading.Event()

    def connect() -> Connection:
        gate.wait(30)  # holds the thread so the second submission is still queued when cancelled
        return psycopg.connect(db_url, autocommit=True)

    committer = GroupCommitter(connect, PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    first = committer.submit(create, metadata)
    while not first.running():
        threading.Event().wait(0.001)
    second: Future[CommandResult] = committer.submit(create, metadata)
    assert second.cancel()
    gate.set()
    committer.close()
    assert first.result().position is not None
    assert on_hand(conn, site) == 1


def test_async_code_awaits_a_submission(db_url: str, site: Site) -> None:
    committer = GroupCommitter(lambda: psycopg.connect(db_url, autocommit=True), PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)

    async def main() -> list[CommandResult]:
        commands = [CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)) for _ in range(5)]
        return await asyncio.gather(*(asyncio.wrap_future(committer.submit(c, metadata)) for c in commands))

    try:
        results = asyncio.run(main())
    finally:
        committer.close()
    assert len({r.position for r in results}) == 5


def test_a_lingering_committer_starts_its_batch_when_the_answered_clients_are_back(
    db_url: str, conn: Conn, site: Site
) -> None:
    """The linger ends on the submission that completes the batch, not at its deadline: with an hour's
    linger, the second batch (the three clients the first answered) still runs at once, as one."""
    gate = threading.Event()

    def connect() -> Connection:
        gate.wait(30)  # holds the first batch (one command) until two more are queued behind it
        return psycopg.connect(db_url, autocommit=True)

    committer = GroupCommitter(connect, PostgresLedger(Policy()), linger=3600.0)
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))
    try:
        first = committer.submit(create, metadata)
        while not first.running():
            threading.Event().wait(0.001)
        queued = [committer.submit(create, metadata) for _ in range(2)]
        gate.set()
        first.result(30)
        # The committer answered 1 with 2 waiting: it lingers until 3 are queued (2 + this one).
        last = committer.submit(create, metadata)
        assert [f.result(30).position is not None for f in [*queued, last]] == [True] * 3
        assert (committer.batches, committer.commands) == (2, 4)
    finally:
        committer.close()
    assert on_hand(conn, site) == 4


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts the callbacks other threads hand it (its wake-ups from a committer)."""

    woken = 0

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.woken += 1
        return super().call_soon_threadsafe(*args, **kwargs)


def test_a_batch_answers_the_commands_awaited_on_a_loop_in_one_wake_up_a_failed_one_among_them(
    db_url: str, conn: Conn, site: Site
) -> None:
    """Held behind a first creation of 6 units, another and 13 consumptions of one queue as one batch:
    each awaiting coroutine gets its own answer (the consumption past the 12 units its
    InsufficientStock), and the loop is woken once for the first batch and once for the second, not
    once a command."""
    gate = threading.Event()

    def connect() -> Connection:
        gate.wait(30)
        return psycopg.connect(db_url, autocommit=True)

    ledger = PostgresLedger(Policy(negative_stock=NegativeStockPolicy.REJECT))
    committer = GroupCommitter(connect, ledger)
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(6))
    consume = ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1))

    async def main() -> list[CommandResult | BaseException]:
        first = committer.enqueue(create, metadata)
        while not first.future.running():
            await asyncio.sleep(0.001)
        rest = [committer.enqueue(create, metadata)]
        rest += [committer.enqueue(consume, metadata) for _ in range(13)]
        gate.set()
        return await asyncio.gather(first.answer, *(a.answer for a in rest), return_exceptions=True)

    loop = CountingLoop()
    try:
        outcomes = loop.run_until_complete(main())
    finally:
        loop.close()
        committer.close()
    assert (committer.batches, committer.commands) == (2, 15)
    assert loop.woken == 2
    assert all(isinstance(o, CommandResult) for o in outcomes[:14])
    assert isinstance(outcomes[14], errors.InsufficientStock)
    assert len({o.position for o in outcomes[:14] if isinstance(o, CommandResult)}) == 14
    assert on_hand(conn, site) == 0


def test_an_awaited_command_withdrawn_before_its_batch_is_not_run(
    db_url: str, conn: Conn, site: Site
) -> None:
    gate = threading.Event()

    def connect() -> Connection:
        gate.wait(30)
        return psycopg.connect(db_url, autocommit=True)

    committer = GroupCommitter(connect, PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))

    async def main() -> CommandResult:
        first = committer.enqueue(create, metadata)
        while not first.future.running():
            await asyncio.sleep(0.001)
        second = committer.enqueue(create, metadata)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await second.answer
        assert second.answer.cancelled()
        second.withdraw()
        gate.set()
        return await first.answer

    try:
        assert asyncio.run(main()).position is not None
    finally:
        committer.close()
    assert (committer.batches, committer.commands) == (1, 1)
    assert on_hand(conn, site) == 1


def test_an_awaited_command_is_refused_once_closed_and_a_queued_one_fails_when_the_thread_stops(
    db_url: str, site: Site
) -> None:
    gate = threading.Event()

    def connect() -> Connection:
        gate.wait(30)
        return psycopg.connect(db_url, autocommit=True)

    committer = GroupCommitter(connect, PostgresLedger(Policy()))
    metadata = CommandMetadata(performed_by_user_id=site.user)
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1))

    async def main() -> tuple[CommandResult | BaseException, ...]:
        first = committer.enqueue(create, metadata)
        while not first.future.running():
            await asyncio.sleep(0.001)
        queued = committer.enqueue(create, metadata)
        await asyncio.to_thread(committer.close, 0.05)  # the thread is held: the queued one fails
        late = committer.enqueue(create, metadata)
        gate.set()
        return tuple(await asyncio.gather(first.answer, queued.answer, late.answer, return_exceptions=True))

    try:
        first, queued, late = asyncio.run(main())
    finally:
        gate.set()
        committer.close()
    assert isinstance(first, CommandResult)
    assert isinstance(queued, CommitterClosed) and isinstance(late, CommitterClosed)
