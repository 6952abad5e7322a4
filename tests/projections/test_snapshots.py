"""Balance snapshots: stock at any past position equals the fold of the log prefix, late commits included."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, TransferStock
from ledger.policy import Policy
from ledger.postgres.history import stock_at
from projections.snapshots import advance, stock_at_position
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal


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
    from projections.verify import verify
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
