"""Stock as it happened (by date) and as it was known (by recorded_at) equals the fold, backdated or not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, ReverseMovement, TransferStock
from ledger.policy import Policy
from ledger.postgres.history import stock_at
from projections.tools.as_happened import stock_happened_by
from projections.tools.snapshot_taking import advance
from tests.fixtures.ledger import Conn, Site, make_site
from tests.fixtures.world import World
from tests.projections.test_snapshots import at, pending, snapshots

pytestmark = pytest.mark.db
D = Decimal
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE = timedelta(microseconds=1)
HAPPENED = "SELECT DISTINCT ledger_happened_at(event_type, payload, recorded_at) FROM ledger_events"


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


def moments(conn: Conn, query: str) -> list[datetime]:
    times = {r[0] for r in conn.execute(query).fetchall() if r[0] is not None}
    return sorted({t + d for t in times for d in (-ONE, timedelta(0), ONE)})


def assert_dates_match_the_fold(conn: Conn, site: Site) -> None:
    known = [None, *moments(conn, "SELECT recorded_at FROM ledger_events")[::3]]
    for on in [*moments(conn, HAPPENED), T0 - timedelta(days=400), T0 + timedelta(days=400)]:
        for k in known:
            want = stock_at(conn, as_of=k, happened_by=on)
            assert stock_happened_by(conn, on, k) == want, (on, k)
        want = stock_at(conn, happened_by=on, warehouse_id=site.a, part_id=site.part)
        assert stock_happened_by(conn, on, None, site.a, site.part) == want, on


def record_history(conn: Conn, site: Site) -> None:
    """Current and backdated movements, a held one approved later, a reversal, snapshots among them."""
    gated = Policy(approval_quantity_threshold=D(50))
    for n, back in enumerate([0, 3, 0, 10, 1, 0, 25, 2], start=1):
        clock = T0 + timedelta(days=n)
        dated = clock - timedelta(days=back)
        create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(n), transaction_date=dated)
        at(conn, site, create, clock)
        move = TransferStock(
            part_id=site.part,
            from_warehouse_id=site.a,
            to_warehouse_id=site.b,
            quantity=D(1),
            transaction_date=dated + timedelta(hours=1),
        )
        at(conn, site, move, clock + timedelta(hours=2))
        if n % 3 == 0:
            advance(conn, interval=2)
    big = CreateStock(
        part_id=site.bulk, to_warehouse_id=site.b, quantity=D("60.5"), transaction_date=T0 + timedelta(days=2)
    )
    [held] = pending(conn, site, big, T0 + timedelta(days=9), gated)
    at(conn, site, ApproveMovement(transaction_id=held), T0 + timedelta(days=11), gated)
    used = ConsumeStock(
        part_id=site.bulk,
        from_warehouse_id=site.b,
        quantity=D("0.5"),
        transaction_date=T0 + timedelta(days=4),
    )
    at(conn, site, used, T0 + timedelta(days=12))
    at(conn, site, ReverseMovement(transaction_id=held), T0 + timedelta(days=13), gated)


def test_as_of_a_date_and_as_known_at_a_moment_match_the_fold(own: tuple[Conn, Site]) -> None:
    conn, site = own
    record_history(conn, site)
    assert_dates_match_the_fold(conn, site)  # snapshots below the head, events after them
    advance(conn, interval=1)
    advance(conn, interval=1)
    assert len(snapshots(conn)) >= 3
    assert_dates_match_the_fold(conn, site)


def test_a_backdated_movement_counts_on_its_date_once_recorded(own: tuple[Conn, Site]) -> None:
    conn, site = own
    at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), T0)
    advance(conn, interval=1)
    advance(conn, interval=1)
    last_week = T0 + timedelta(days=3)
    used = ConsumeStock(
        part_id=site.part, from_warehouse_id=site.a, quantity=D(4), transaction_date=last_week
    )
    reported = T0 + timedelta(days=10)
    at(conn, site, used, reported)
    advance(conn, interval=1)
    advance(conn, interval=1)
    day_after = last_week + timedelta(days=1)
    assert stock_happened_by(conn, day_after) == {(site.a, site.part): D(6)}  # as it happened
    assert stock_happened_by(conn, day_after, known_at=reported - ONE) == {(site.a, site.part): D(10)}
    assert stock_happened_by(conn, last_week - ONE) == {(site.a, site.part): D(10)}
    assert stock_happened_by(conn, T0 - ONE) == {}


def test_a_held_movement_counts_from_its_approval(own: tuple[Conn, Site]) -> None:
    conn, site = own
    gated = Policy(approval_quantity_threshold=D(5))
    big = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(9), transaction_date=T0)
    [held] = pending(conn, site, big, T0 + timedelta(hours=1), gated)
    approved = T0 + timedelta(days=2)
    at(conn, site, ApproveMovement(transaction_id=held), approved, gated)
    assert stock_happened_by(conn, approved - ONE) == {}
    assert stock_happened_by(conn, approved) == {(site.a, site.part): D(9)}


def test_verify_checks_the_snapshots_dates(own: tuple[Conn, Site]) -> None:
    from projections.registry import ALL
    from projections.tools.verify import verify
    from tests.projections.conftest import catch_up

    conn, site = own
    record_history(conn, site)
    advance(conn, interval=1)
    advance(conn, interval=1)
    catch_up(conn)
    assert verify(conn, ALL).ok
    conn.execute("UPDATE stock_snapshots SET happened_through = happened_through - interval '30 days'")
    assert any("snapshot dates" in p for p in verify(conn, ALL).problems)


def test_the_recommendation_counts_consumption_on_the_days_it_happened(own: tuple[Conn, Site]) -> None:
    from tests.projections.conftest import catch_up

    conn, site = own
    conn.execute(
        "UPDATE parts SET local_supplier_delivery_time_days = NULL, manufacturer_delivery_time_days = NULL"
        " WHERE id = %s",
        [site.part],
    )
    at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(500)), T0)
    at(conn, site, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(30)), T0)
    reported = T0 + timedelta(days=100)  # a consumption of 25 days before, reported late
    late = ConsumeStock(
        part_id=site.part,
        from_warehouse_id=site.a,
        quantity=D(60),
        transaction_date=reported - timedelta(days=25),
    )
    at(conn, site, late, reported)
    catch_up(conn)
    days = conn.execute(
        "SELECT day, quantity FROM inventory_consumption_daily WHERE part_id = %s ORDER BY day", [site.part]
    ).fetchall()
    assert days == [(T0.date(), D(30)), ((reported - timedelta(days=25)).date(), D(60))]
    # By the dates they happened both lie in the 90 days up to the latest (75 days apart): (30 + 60) / 90
    # a day x (14 days' lead + 7 of safety) = 21. By recorded_at the first would have fallen out: 14.
    row = conn.execute(
        "SELECT minimum_stock_recommendation FROM inventory WHERE warehouse_id = %s AND part_id = %s",
        [site.a, site.part],
    ).fetchone()
    assert row == (D(21),)
