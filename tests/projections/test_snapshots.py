"""Balance snapshots: stock at any past position or moment equals the fold of the log, late commits too."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from ledger.commands import (
    ApproveMovement,
    ConsumeStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
    TransferStock,
)
from ledger.policy import Policy
from ledger.postgres.history import stock_at
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.tools.snapshot_taking import advance
from projections.tools.snapshots import stock_at_moment, stock_at_position
from tests.fixtures.ledger import Conn, Site, actor, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE = timedelta(microseconds=1)


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


def snapshots(conn: Conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT position FROM stock_snapshots ORDER BY position").fetchall()]


def test_every_past_position_matches_the_fold(own: tuple[Conn, Site]) -> None:
    conn, site = own
    gated = Policy(approval_quantity_threshold=D(50))
    for n in range(1, 8):
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n)), site)
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(1)),
            site,
        )
        advance(conn, interval=3)
    [pending] = run(
        conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D(60)), site, gated
    ).transaction_ids
    run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.b, quantity=D(2)), site)
    run(conn, ApproveMovement(transaction_id=pending), site, gated)
    advance(conn, interval=3)
    advance(conn, interval=3)
    assert len(snapshots(conn)) >= 3
    head = conn.execute("SELECT max(position) FROM ledger_events").fetchone()
    assert head is not None
    for position in range(0, head[0] + 1):
        assert stock_at_position(conn, position) == stock_at(conn, position=position), position
    assert stock_at_position(conn, head[0], warehouse_id=site.b, part_id=site.bulk) == {
        (site.b, site.bulk): D(60)
    }


def test_a_snapshot_waits_for_a_transaction_that_could_still_write_below_it(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = own
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site)
    with psycopg.connect(fresh_db_url, autocommit=True) as late, late.transaction():
        held = run(late, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(5)), site).position
        for _ in range(3):
            run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1)), site)
        advance(conn, interval=1)  # marks the head
        assert advance(conn, interval=1) == 0  # the held transaction may still commit below the mark
    assert advance(conn, interval=1) == 1
    assert held is not None
    [position] = snapshots(conn)
    assert stock_at_position(conn, position) == stock_at(conn, position=position)
    assert stock_at_position(conn, position)[(site.a, site.bulk)] == D(5)


def test_verify_checks_the_latest_snapshot_against_the_fold(own: tuple[Conn, Site]) -> None:
    from projections.registry import ALL
    from projections.tools.verify import verify
    from tests.projections.conftest import catch_up

    conn, site = own
    for _ in range(3):
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2)), site)
    advance(conn, interval=1)
    advance(conn, interval=1)
    catch_up(conn)
    assert verify(conn, ALL).ok
    conn.execute("UPDATE stock_snapshot_balances SET quantity = quantity + 1")
    report = verify(conn, ALL)
    assert any("snapshot at position" in p for p in report.problems)


def at(conn: Conn, site: Site, command: StockCommand, moment: datetime, policy: Policy | None = None) -> int:
    """Execute `command` as if at `moment`; return the highest position it wrote."""
    ledger = PostgresLedger(policy or Policy(), clock=lambda: moment)
    result = ledger.execute(conn, command, CommandMetadata(performed_by_user_id=actor(site, command)))
    assert result.position is not None
    return result.position


def recorded_moments(conn: Conn) -> list[datetime]:
    """Every recorded_at of the log, and the microsecond either side of it."""
    times = {r[0] for r in conn.execute("SELECT recorded_at FROM ledger_events").fetchall()}
    return sorted({t + d for t in times for d in (-ONE, timedelta(0), ONE)})


def assert_moments_match_the_fold(conn: Conn, site: Site) -> None:
    for moment in [*recorded_moments(conn), T0 - timedelta(days=400), T0 + timedelta(days=400)]:
        assert stock_at_moment(conn, moment) == stock_at(conn, as_of=moment), moment
        for warehouse in (site.a, site.b):
            want = stock_at(conn, as_of=moment, warehouse_id=warehouse)
            assert stock_at_moment(conn, moment, warehouse) == want, moment
        want = stock_at(conn, as_of=moment, warehouse_id=site.a, part_id=site.part)
        assert stock_at_moment(conn, moment, site.a, site.part) == want, moment


def test_every_past_moment_matches_the_fold_whatever_the_clock_order(own: tuple[Conn, Site]) -> None:
    conn, site = own
    gated = Policy(approval_quantity_threshold=D(50))
    hours = [0, 5, 3, 9, -2, 7, 7, 12, 1, 15]  # the writers' clocks need not follow the log
    for n, hour in enumerate(hours, start=1):
        moment = T0 + timedelta(hours=hour)
        at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n)), moment)
        move = TransferStock(
            part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(1)
        )
        at(conn, site, move, moment + timedelta(minutes=30))
        if n % 3 == 0:
            advance(conn, interval=2)
        if n == 4:
            assert_moments_match_the_fold(conn, site)  # snapshots below the head, and events after them
    big = CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D("60.125"))
    [approved] = pending(conn, site, big, T0 + timedelta(hours=2), gated)
    [rejected] = pending(conn, site, big, T0 + timedelta(hours=3), gated)
    at(conn, site, ApproveMovement(transaction_id=approved), T0 + timedelta(hours=20), gated)
    at(conn, site, RejectMovement(transaction_id=rejected), T0 + timedelta(hours=4), gated)
    at(conn, site, ReverseMovement(transaction_id=approved), T0 + timedelta(hours=21), gated)
    assert_moments_match_the_fold(conn, site)
    advance(conn, interval=1)
    advance(conn, interval=1)
    assert len(snapshots(conn)) >= 3
    assert_moments_match_the_fold(conn, site)
    assert stock_at_moment(conn, T0 - timedelta(hours=2) - ONE) == {}  # before the first event
    assert stock_at_moment(conn, (T0 + timedelta(hours=20)).replace(tzinfo=None))[(site.b, site.bulk)] == D(
        "60.125"
    )


def pending(conn: Conn, site: Site, command: StockCommand, moment: datetime, policy: Policy) -> list[UUID]:
    """Execute `command` as if at `moment`; the ids of the movements it recorded."""
    ledger = PostgresLedger(policy, clock=lambda: moment)
    return list(
        ledger.execute(conn, command, CommandMetadata(performed_by_user_id=site.user)).transaction_ids
    )


def test_a_late_commit_counts_at_its_recorded_moment_once_finished(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = own
    at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), T0)
    with psycopg.connect(fresh_db_url, autocommit=True) as late, late.transaction():
        early = CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(5))
        at(late, site, early, T0 + timedelta(hours=1))
        for hour in (2, 3, 4):
            at(
                conn,
                site,
                CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1)),
                T0 + timedelta(hours=hour),
            )
        advance(conn, interval=1)
        advance(conn, interval=1)  # the mark waits for the held transaction
        moment = T0 + timedelta(hours=3)
        assert (site.a, site.bulk) not in stock_at_moment(conn, moment)
        assert stock_at_moment(conn, moment) == stock_at(conn, as_of=moment)
    assert stock_at_moment(conn, moment)[(site.a, site.bulk)] == D(5)
    assert_moments_match_the_fold(conn, site)
    advance(conn, interval=1)
    advance(conn, interval=1)
    assert snapshots(conn)
    assert_moments_match_the_fold(conn, site)


def test_a_removed_snapshot_leaves_the_answers_right(own: tuple[Conn, Site]) -> None:
    conn, site = own
    for n, hour in enumerate((5, 1, 6, 7, 8, 9), start=1):  # the second is recorded before all the others
        move = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n))
        at(conn, site, move, T0 + timedelta(hours=hour))
        advance(conn, interval=1)
    taken = snapshots(conn)
    assert len(taken) >= 3
    conn.execute("DELETE FROM stock_snapshots WHERE position = %s", [taken[1]])  # the one that added it
    assert_moments_match_the_fold(conn, site)
    head = conn.execute("SELECT max(position) FROM ledger_events").fetchone()
    assert head is not None
    for position in range(head[0] + 1):
        assert stock_at_position(conn, position) == stock_at(conn, position=position), position


def test_the_migration_describes_existing_snapshots_as_the_snapshotter_does(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    from api.runtime.database import downgrade, migrate

    conn, site = own
    for hour in (3, 1, 4, 1, 5, 9, 2, 6):
        at(
            conn,
            site,
            CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(hour)),
            T0 + timedelta(hours=hour),
        )
        advance(conn, interval=2)
    described = "SELECT * FROM stock_snapshots ORDER BY position"
    live = conn.execute(described).fetchall()
    assert len(live) >= 2
    downgrade(fresh_db_url, "0007_users_email_ci")
    migrate(fresh_db_url)
    assert conn.execute(described).fetchall() == live


WAITING_ON_A_LOCK = (
    "SELECT backend_xid::text FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'"
)


def test_a_snapshot_holds_no_transaction_id_while_it_sums(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    """Its reads come before its writes: until then it cannot hold back any projection's batches."""
    conn, site = own
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3)), site)
    advance(conn, interval=1)  # marks the head
    taken: list[int] = []
    with (
        psycopg.connect(fresh_db_url, autocommit=True) as snapshotter,
        psycopg.connect(fresh_db_url, autocommit=True) as blocker,
    ):
        thread = threading.Thread(target=lambda: taken.append(advance(snapshotter, interval=1)))
        with blocker.transaction():
            blocker.execute("LOCK TABLE stock_snapshot_balances IN ACCESS EXCLUSIVE MODE")  # stops its sums
            thread.start()
            deadline = time.monotonic() + 10
            while (row := conn.execute(WAITING_ON_A_LOCK, [snapshotter.info.backend_pid]).fetchone()) is None:
                assert time.monotonic() < deadline, "the snapshotter never reached its sums"
                time.sleep(0.01)
            # No transaction id while it reads, so no batch waits for it (the old order: its row
            # first, then the sums, with an id all along). The blocker's ACCESS EXCLUSIVE lock has
            # an id of its own (it is logged for standbys), so a batch is not the test here.
            assert row == (None,)
        thread.join(10)
    assert taken == [1]
    [position] = snapshots(conn)
    assert stock_at_position(conn, position) == {(site.a, site.part): D(3)}
