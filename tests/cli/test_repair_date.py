"""Repairing a date in the log that no reader can show: verify finds it, repair-date fixes it.

The bad movements are written the way the code before the date bound wrote
them: decided events with a year-0 (UTC) date, committed by the ledger's own
commit step. The log stays append-only throughout: the repair is one more event.
"""

from __future__ import annotations

import argparse
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.cli.repair import register
from api.runtime.settings import Settings
from ledger.commands import ApproveMovement
from ledger.events import Event, Movement, StockAdjusted, StockConsumed
from ledger.postgres.commit import commit
from ledger.postgres.seals import audit
from ledger.recorded import CommandMetadata
from ledger.rules import Decision
from projections.registry import ALL
from projections.tools.rebuild import rebuild
from projections.tools.verify import verify
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World
from tests.projections.conftest import catch_up

pytestmark = pytest.mark.db
YEAR_0_IN_UTC = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
READS = {
    "transactions": "SELECT transaction_date FROM transactions WHERE id = %s",
    "part_usage": "SELECT usage_date FROM part_usage WHERE id = %s",
    "stock_adjustments": "SELECT adjustment_date FROM stock_adjustments WHERE id = %s",
}


@pytest.fixture
def fresh(fresh_db_url: str) -> Iterator[tuple[Conn, Site, str]]:
    """A database of the test's own, a site in it and a super_admin's username."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        world = World(conn)
        site = make_site(world)
        operator = world.user(world.organization("oraseas_ee"), role="super_admin")
        row = conn.execute("SELECT username FROM users WHERE id = %s", [operator]).fetchone()
        assert row is not None
        yield conn, site, str(row[0])


def repair(conn: Conn, *argv: str) -> int:
    """Run `abparts repair-date ARGV` against the database `conn` is connected to."""
    parser = argparse.ArgumentParser(prog="abparts")
    register(parser.add_subparsers(dest="command", required=True), lambda settings: conn.info.dsn)
    args = parser.parse_args(["repair-date", *argv])
    status: int = args.func(Settings(), args)
    return status


def record_unbounded(conn: Conn, site: Site, *events: Movement) -> None:
    """Commit decided events as they are: what the ledger did before it bounded dates."""
    streams: tuple[tuple[str, Event], ...] = tuple((e.stream_id, e) for e in events)
    decision = Decision(events=streams, transaction_ids=tuple(e.transaction_id for e in events))
    with conn.transaction():
        commit(conn, decision, {}, CommandMetadata(site.user), datetime.now(UTC))


def bad_movements(conn: Conn, site: Site) -> tuple[UUID, UUID]:
    machine = site.world.machine(site.org)
    consumed = StockConsumed(
        transaction_id=uuid.uuid4(),
        part_id=site.part,
        from_warehouse_id=site.a,
        machine_id=machine,
        customer_organization_id=site.org,
        quantity=Decimal(2),
        unit_of_measure="pieces",
        transaction_date=YEAR_0_IN_UTC,
    )
    adjusted = StockAdjusted(
        transaction_id=uuid.uuid4(),
        part_id=site.part,
        to_warehouse_id=site.a,
        quantity=Decimal(5),
        unit_of_measure="pieces",
        transaction_date=YEAR_0_IN_UTC,
        reason_code="found",
    )
    record_unbounded(conn, site, consumed, adjusted)
    return consumed.transaction_id, adjusted.transaction_id


def read(conn: Conn, table: str, transaction_id: UUID) -> Any:
    row = conn.execute(READS[table], [transaction_id]).fetchone()
    assert row is not None
    return row[0]


def test_verify_finds_an_unreadable_date_and_repair_date_fixes_it(
    fresh: tuple[Conn, Site, str], capsys: pytest.CaptureFixture[str]
) -> None:
    conn, site, operator = fresh
    consumed, adjusted = bad_movements(conn, site)
    catch_up(conn)
    for table, tid in (("transactions", consumed), ("part_usage", consumed), ("stock_adjustments", adjusted)):
        with pytest.raises(psycopg.DataError):  # the poison: stored, but no read can return it
            read(conn, table, tid)
    report = verify(conn, ALL)
    assert not report.ok
    assert sorted(p for p in report.problems if p.startswith("unreadable date")) == sorted(
        f"unreadable date: transaction {tid} is dated {YEAR_0_IN_UTC.isoformat()}; repair it with "
        f"`abparts repair-date {tid} --date ISO --by USERNAME`"
        for tid in (consumed, adjusted)
    )
    events_before = conn.execute("SELECT count(*) FROM ledger_events").fetchone()

    for tid, date in ((consumed, "2026-03-01T10:00:00+02:00"), (adjusted, "2026-03-02")):
        assert repair(conn, str(tid), "--date", date, "--by", operator, "--notes", "typo") == 0
    assert "is dated 2026-03-02T00:00:00+00:00" in capsys.readouterr().out
    catch_up(conn)

    fixed = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert read(conn, "transactions", consumed) == fixed and read(conn, "part_usage", consumed) == fixed
    assert read(conn, "stock_adjustments", adjusted) == datetime(2026, 3, 2, tzinfo=UTC)
    assert verify(conn, ALL).ok
    assert not audit(conn).problems
    # Append-only: the bad movements are still there, two corrections were added.
    after = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert events_before is not None and after is not None and after[0] == events_before[0] + 2
    # A rebuild from the log reproduces the repaired dates.
    rebuild(conn, ALL, io.StringIO())
    assert read(conn, "transactions", consumed) == fixed and read(conn, "part_usage", consumed) == fixed


def test_a_correction_before_approval_still_dates_the_usage_row(fresh: tuple[Conn, Site, str]) -> None:
    conn, site, operator = fresh
    machine = site.world.machine(site.org)
    pending = StockConsumed(
        transaction_id=uuid.uuid4(),
        part_id=site.part,
        from_warehouse_id=site.a,
        machine_id=machine,
        customer_organization_id=site.org,
        quantity=Decimal(1),
        unit_of_measure="pieces",
        transaction_date=YEAR_0_IN_UTC,
        requires_approval=True,
        approval_status="pending",
    )
    record_unbounded(conn, site, pending)
    assert repair(conn, str(pending.transaction_id), "--date", "2026-04-01T00:00:00Z", "--by", operator) == 0
    catch_up(conn)
    assert verify(conn, ALL).ok
    run(conn, ApproveMovement(transaction_id=pending.transaction_id), site)
    catch_up(conn)
    assert read(conn, "part_usage", pending.transaction_id) == datetime(2026, 4, 1, tzinfo=UTC)
    assert verify(conn, ALL).ok


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--date", "1960-01-01T00:00:00Z", "--by", "{operator}"], "date_out_of_range"),
        (["--date", "2026-01-01T00:00:00Z", "--by", "nobody"], "no active super_admin"),
    ],
)
def test_repair_date_refuses_what_it_must_not_do(
    fresh: tuple[Conn, Site, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    conn, site, operator = fresh
    consumed, _ = bad_movements(conn, site)
    argv = [a.format(operator=operator) for a in argv]
    assert repair(conn, str(consumed), *argv) == 2
    assert message in capsys.readouterr().err
    assert repair(conn, str(uuid.uuid4()), "--date", "2026-01-01T00:00:00Z", "--by", operator) == 2
    assert "does not exist" in capsys.readouterr().err
