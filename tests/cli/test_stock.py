"""`abparts stock` reproduces the pure fold of a prefix of the log, by position or by moment."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from api.cli.stock import TABLE, register, stock_rows, write_stock
from api.runtime.names import Names, PartName, WarehouseName, lookup
from api.runtime.settings import Settings
from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    ConsumeStock,
    CreateStock,
    StockCommand,
    TransferStock,
)
from ledger.fold import StockKey, fold_stock
from ledger.policy import Policy
from ledger.postgres.history import stock_at
from ledger.postgres.reader import follow
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata, RecordedEvent
from tests.fixtures.ledger import Conn, Site, actor, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fresh(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own (the whole log belongs to the test) and a site in it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


def at(conn: Conn, site: Site, command: StockCommand, moment: datetime, policy: Policy | None = None) -> int:
    """Execute `command` as if at `moment`; return the highest position it wrote."""
    ledger = PostgresLedger(policy or Policy(), clock=lambda: moment)
    result = ledger.execute(conn, command, CommandMetadata(performed_by_user_id=actor(site, command)))
    assert result.position is not None
    return result.position


def prefix_fold(
    conn: Conn, *, position: int | None = None, as_of: datetime | None = None
) -> dict[StockKey, Decimal]:
    """The reference answer: the pure fold over the reader's whole log, cut at position or moment."""

    def kept(event: RecordedEvent) -> bool:
        return (position is None or event.position <= position) and (
            as_of is None or event.recorded_at <= as_of
        )

    return fold_stock(e.event() for e in follow(conn) if kept(e))


@pytest.fixture
def history(fresh: tuple[Conn, Site]) -> tuple[Conn, Site, list[int]]:
    """Create, transfer, consume, create bulk, adjust: one an hour from T0; their positions."""
    conn, site = fresh
    commands: list[StockCommand] = [
        CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)),
        TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(3)),
        ConsumeStock(part_id=site.part, from_warehouse_id=site.b, quantity=D(2)),
        CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D("2.125")),
        AdjustStock(
            warehouse_id=site.b, part_id=site.bulk, quantity_adjusted=D("-0.125"), reason_code="spill"
        ),
    ]
    positions = [at(conn, site, c, T0 + timedelta(hours=i)) for i, c in enumerate(commands)]
    return conn, site, positions


def test_position_reproduces_the_fold_of_each_prefix(history: tuple[Conn, Site, list[int]]) -> None:
    conn, site, positions = history
    a, b, part, bulk = site.a, site.b, site.part, site.bulk
    expected = [
        {(a, part): D(10)},
        {(a, part): D(7), (b, part): D(3)},
        {(a, part): D(7), (b, part): D(1)},
        {(a, part): D(7), (b, part): D(1), (b, bulk): D("2.125")},
        {(a, part): D(7), (b, part): D(1), (b, bulk): D(2)},
    ]
    assert stock_at(conn, position=0) == {}
    assert stock_at(conn, position=positions[0] - 1) == {}
    for position, want in zip(positions, expected, strict=True):
        assert stock_at(conn, position=position) == want
        assert stock_at(conn, position=position, batch=1) == want
        assert want == prefix_fold(conn, position=position)
    assert stock_at(conn) == expected[-1]


def test_as_of_counts_what_was_recorded_by_then(history: tuple[Conn, Site, list[int]]) -> None:
    conn, site, positions = history
    for hours in (0, 1, 2, 3, 4):
        moment = T0 + timedelta(hours=hours)
        want = prefix_fold(conn, as_of=moment)
        assert stock_at(conn, as_of=moment) == want
        assert stock_at(conn, as_of=moment) == stock_at(conn, position=positions[hours])
        # Just before the next event the answer is the same; naive means UTC; offsets are honoured.
        assert stock_at(conn, as_of=moment + timedelta(minutes=59)) == want
        assert stock_at(conn, as_of=moment.replace(tzinfo=None)) == want
        plus_two = timezone(timedelta(hours=2))
        assert stock_at(conn, as_of=moment.astimezone(plus_two)) == want
    assert stock_at(conn, as_of=T0 - timedelta(microseconds=1)) == {}
    assert stock_at(conn, as_of=T0 + timedelta(hours=1, microseconds=-1)) == {(site.a, site.part): D(10)}


def test_filters_keep_one_warehouse_or_part(history: tuple[Conn, Site, list[int]]) -> None:
    conn, site, positions = history
    assert stock_at(conn, position=positions[-1], warehouse_id=site.b) == {
        (site.b, site.part): D(1),
        (site.b, site.bulk): D(2),
    }
    assert stock_at(conn, position=positions[-1], part_id=site.part) == {
        (site.a, site.part): D(7),
        (site.b, site.part): D(1),
    }
    assert stock_at(conn, position=positions[2], warehouse_id=site.b, part_id=site.bulk) == {}
    assert stock_at(conn, position=positions[-1], warehouse_id=site.b, part_id=site.bulk) == {
        (site.b, site.bulk): D(2)
    }
    assert stock_at(conn, position=positions[-1], warehouse_id=UUID(int=1)) == {}


def test_zero_stock_is_left_out(fresh: tuple[Conn, Site]) -> None:
    conn, site = fresh
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(4)), site)
    emptied = run(
        conn,
        TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(4)),
        site,
    )
    assert emptied.position is not None
    assert stock_at(conn, position=emptied.position) == {(site.b, site.part): D(4)}


def test_a_pending_movement_counts_only_from_its_approval(fresh: tuple[Conn, Site]) -> None:
    conn, site = fresh
    policy = Policy(approval_quantity_threshold=D(5))
    small = at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), T0, policy)
    big = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(50))
    pending = PostgresLedger(policy, clock=lambda: T0 + timedelta(hours=1)).execute(
        conn, big, CommandMetadata(performed_by_user_id=site.user)
    )
    assert pending.position is not None
    [movement] = pending.transaction_ids
    approved = at(conn, site, ApproveMovement(transaction_id=movement), T0 + timedelta(hours=2), policy)
    only_small = {(site.a, site.part): D(5)}
    assert stock_at(conn, position=small) == only_small
    assert stock_at(conn, position=pending.position) == only_small
    assert stock_at(conn, position=approved - 1) == only_small
    assert stock_at(conn, as_of=T0 + timedelta(hours=1, minutes=30)) == only_small
    with_big = {(site.a, site.part): D(5), (site.b, site.part): D(50)}
    assert stock_at(conn, position=approved) == with_big
    assert stock_at(conn, as_of=T0 + timedelta(hours=2)) == with_big


def test_output_is_a_sorted_table_or_json_with_exact_stock() -> None:
    w1, w2 = UUID(int=1), UUID(int=2)
    p1, p2 = UUID(int=3), UUID(int=4)
    levels = {(w2, p1): D("1234.5"), (w1, p2): D(7), (w1, p1): D("-0.25")}
    assert [row[:2] for row in stock_rows(levels)] == [
        (str(w1), str(p1)),
        (str(w1), str(p2)),
        (str(w2), str(p1)),
    ]
    org = UUID(int=9)
    names = Names(
        parts={p1: PartName("F-100", "Oil filter", "pieces")},  # p2 is no longer in the catalog
        warehouses={w1: WarehouseName("North depot", org, "Acme"), w2: WarehouseName("South", org, "Acme")},
        organizations={org: "Acme"},
    )
    table = io.StringIO()
    write_stock(table, levels, names=names)
    assert table.getvalue().splitlines() == [
        f"warehouse    part_number  part_name   current_stock  unit    warehouse_id{' ' * 26}part_id",
        f"North depot  F-100        Oil filter         -0.250  pieces  {w1}  {p1}",
        f"North depot  -            -                   7.000  -       {w1}  {p2}",
        f"South        F-100        Oil filter       1234.500  pieces  {w2}  {p1}",
    ]
    as_json = io.StringIO()
    write_stock(as_json, levels, "json", names)
    named = {"organization_id": str(org), "organization_name": "Acme"}
    filter_ = {"part_number": "F-100", "part_name": "Oil filter", "unit_of_measure": "pieces"}
    unknown = {"part_number": None, "part_name": None, "unit_of_measure": None}
    assert json.loads(as_json.getvalue()) == [
        {
            "warehouse_id": str(w1),
            "part_id": str(p1),
            "current_stock": "-0.250",
            "warehouse_name": "North depot",
        }
        | filter_
        | named,
        {
            "warehouse_id": str(w1),
            "part_id": str(p2),
            "current_stock": "7.000",
            "warehouse_name": "North depot",
        }
        | unknown
        | named,
        {"warehouse_id": str(w2), "part_id": str(p1), "current_stock": "1234.500", "warehouse_name": "South"}
        | filter_
        | named,
    ]
    empty = io.StringIO()
    write_stock(empty, {})
    assert empty.getvalue().split() == list(TABLE)


def parser_with_stock(url: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abparts")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub, lambda settings: url)
    return parser


def test_the_command_prints_stock_at_a_position_or_moment(
    history: tuple[Conn, Site, list[int]], fresh_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn, site, positions = history
    parser = parser_with_stock(fresh_db_url)
    args = parser.parse_args(
        ["stock", "--position", str(positions[2]), "--part", str(site.part), "--format", "json"]
    )
    assert args.func(Settings(), args) == 0
    named = conn.execute(
        "SELECT p.part_number, p.name, o.name FROM parts p, organizations o WHERE p.id = %s AND o.id = %s",
        [site.part, site.org],
    ).fetchone()
    assert named is not None
    part_number, part_name, org_name = named
    warehouse_names: dict[UUID, str] = dict(
        conn.execute("SELECT id, name FROM warehouses WHERE id IN (%s, %s)", [site.a, site.b]).fetchall()
    )
    assert json.loads(capsys.readouterr().out) == [
        {
            "warehouse_id": str(w),
            "part_id": str(site.part),
            "current_stock": stock,
            "part_number": part_number,
            "part_name": part_name,
            "unit_of_measure": "pieces",
            "warehouse_name": warehouse_names[w],
            "organization_id": str(site.org),
            "organization_name": org_name,
        }
        for w, stock in sorted([(site.a, "7.000"), (site.b, "1.000")], key=lambda row: str(row[0]))
    ]
    args = parser.parse_args(["stock", "--as-of", "2026-03-01T10:30:00Z", "--warehouse", str(site.b)])
    assert args.func(Settings(), args) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == [
        warehouse_names[site.b],
        part_number,
        part_name,
        "3.000",
        "pieces",
        str(site.b),
        str(site.part),
    ]
    args = parser.parse_args(["stock", "--as-of", "2026-03-01 11:30"])  # naive: UTC
    assert args.func(Settings(), args) == 0
    out = io.StringIO()
    levels = stock_at(conn, position=positions[2])
    write_stock(out, levels, names=lookup(conn, parts=[site.part], warehouses=[site.a, site.b]))
    assert capsys.readouterr().out == out.getvalue()


@pytest.mark.parametrize(
    "bad",
    [
        ["--position", "three"],
        ["--position", "-1"],
        ["--as-of", "yesterday"],
        ["--position", "3", "--warehouse", "not-a-uuid"],
        ["--position", "3", "--part", "42"],
        ["--position", "3", "--format", "xml"],
    ],
)
def test_the_command_refuses_bad_arguments_with_status_2(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = parser_with_stock("postgresql://unused")
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["stock", *bad])
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", [[], ["--position", "3", "--as-of", "2026-01-01"], ["--position", "3", "--known-at", "2026-01-01"]]
)
def test_the_command_wants_one_kind_of_point(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    parser = parser_with_stock("postgresql://unused")
    args = parser.parse_args(["stock", *bad])
    assert args.func(Settings(), args) == 2
    assert "give --position, or --as-of and/or --known-at" in capsys.readouterr().err


def test_as_of_is_by_date_and_known_at_by_record(
    fresh: tuple[Conn, Site], fresh_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn, site = fresh
    at(conn, site, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), T0)
    dated = T0 + timedelta(days=1)
    used = ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(4), transaction_date=dated)
    at(conn, site, used, T0 + timedelta(days=5))  # reported four days late
    parser = parser_with_stock(fresh_db_url)

    def shown(*argv: str) -> list[str]:
        args = parser.parse_args(["stock", "--format", "json", *argv])
        assert args.func(Settings(), args) == 0
        return [row["current_stock"] for row in json.loads(capsys.readouterr().out)]

    assert shown("--as-of", (dated + timedelta(hours=1)).isoformat()) == ["6.000"]
    assert shown("--known-at", (T0 + timedelta(days=2)).isoformat()) == ["10.000"]
    both = (
        "--as-of",
        (dated + timedelta(hours=1)).isoformat(),
        "--known-at",
        (T0 + timedelta(days=2)).isoformat(),
    )
    assert shown(*both) == ["10.000"]
    assert shown("--as-of", (dated - timedelta(hours=1)).isoformat()) == ["10.000"]
