"""`abparts export` writes the log exactly, in commit-safe order, within its bounds, as JSONL or CSV."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.cli.export import export, register
from api.runtime.settings import Settings
from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, TransferStock
from ledger.export import FIELDS, NAME_FIELDS
from ledger.policy import Policy
from ledger.recorded import GENESIS, CommandMetadata, RecordedEvent
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal

RAW = """
SELECT position, writer_xid::text::bigint, stream_id, stream_version, event_type, schema_version,
    payload, performed_by_user_id::text, request_id, idempotency_key, correlation_id::text,
    causation_id::text, recorded_at, encode(previous_hash, 'hex'), encode(hash, 'hex')
FROM ledger_events ORDER BY writer_xid, position
"""


@pytest.fixture
def ledger(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own with a few movements: one of them pending, then approved."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site, key="k-1")
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(3)),
            site,
        )
        run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.b, quantity=D(2)), site)
        policy = Policy(approval_value_threshold=D(100))
        notes = 'Tank refill, "urgent"; ÄÖ, line\nbreak'
        pending = run(
            conn,
            CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D("12.345"), notes=notes),
            site,
            policy,
        )
        run(conn, ApproveMovement(transaction_id=pending.transaction_ids[0]), site, policy)
        yield conn, site


def raw_rows(conn: Conn) -> list[dict[str, Any]]:
    """The log's rows straight from SQL, as the export should render them."""
    rows = []
    for row in conn.execute(RAW).fetchall():
        record = dict(zip(FIELDS, row, strict=True))
        record["recorded_at"] = row[12].isoformat()
        rows.append(record)
    return rows


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def same_moment(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def assert_matches_log(exported: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    assert [r["position"] for r in exported] == [r["position"] for r in rows]
    for got, want in zip(exported, rows, strict=True):
        assert list(got) == [*FIELDS, "names"]  # the hashed fields, then the names beside them
        got = {k: v for k, v in got.items() if k != "names"}
        assert same_moment(got["recorded_at"], want["recorded_at"])
        assert got["recorded_at"].endswith("+00:00")
        assert {k: v for k, v in got.items() if k != "recorded_at"} == {
            k: v for k, v in want.items() if k != "recorded_at"
        }


def rebuild(record: dict[str, Any]) -> RecordedEvent:
    """An auditor's view: the event rebuilt from nothing but its exported record."""

    def uuid_or_none(value: str | None) -> UUID | None:
        return None if value is None else UUID(value)

    return RecordedEvent(
        position=record["position"],
        transaction_id=record["transaction_id"],
        stream_id=record["stream_id"],
        stream_version=record["stream_version"],
        event_type=record["event_type"],
        schema_version=record["schema_version"],
        payload=record["payload"],
        metadata=CommandMetadata(
            performed_by_user_id=UUID(record["performed_by_user_id"]),
            request_id=record["request_id"],
            idempotency_key=record["idempotency_key"],
            correlation_id=uuid_or_none(record["correlation_id"]),
            causation_id=uuid_or_none(record["causation_id"]),
        ),
        recorded_at=datetime.fromisoformat(record["recorded_at"]),
        previous_hash=bytes.fromhex(record["previous_hash"]),
        hash=bytes.fromhex(record["hash"]),
    )


def test_jsonl_is_the_log_exactly_and_its_hash_chains_can_be_checked_from_it(
    ledger: tuple[Conn, Site],
) -> None:
    conn, site = ledger
    out = io.StringIO()
    count = export(conn, out, "jsonl")
    exported = parse_jsonl(out.getvalue())
    assert count == len(exported) == 5
    assert_matches_log(exported, raw_rows(conn))
    assert [r["event_type"] for r in exported] == [
        "StockCreated",
        "StockTransferred",
        "StockConsumed",
        "StockCreated",
        "MovementApproved",
    ]
    assert exported[0]["idempotency_key"] == "k-1"
    # Decimals stay exact decimal strings, never floats.
    bulk = [r for r in exported if r["payload"].get("part_id") == str(site.bulk)]
    assert {r["payload"]["quantity"] for r in bulk} == {"12.345"}
    # Every hash recomputes from the exported fields, and each stream's chain links up.
    heads: dict[str, bytes] = {}
    for record in exported:
        event = rebuild(record)
        assert event.computed_hash() == event.hash
        assert event.previous_hash == heads.get(event.stream_id, GENESIS)
        heads[event.stream_id] = event.hash
    assert any(r["stream_version"] == 2 for r in exported)


def test_csv_parses_with_the_csv_module_and_carries_the_same_records(ledger: tuple[Conn, Site]) -> None:
    conn, _ = ledger
    jsonl, text = io.StringIO(), io.StringIO()
    export(conn, jsonl, "jsonl")
    assert export(conn, text, "csv") == 5
    header, *rows = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    assert tuple(header) == FIELDS + NAME_FIELDS
    for cells, record in zip(rows, parse_jsonl(jsonl.getvalue()), strict=True):
        row = dict(zip(FIELDS, cells[: len(FIELDS)], strict=True))
        record.pop("names")
        assert json.loads(row.pop("payload")) == record.pop("payload")
        assert row == {k: "" if v is None else str(v) for k, v in record.items()}
    # The note's quotes, comma, semicolon, umlauts and newline survive the CSV quoting.
    notes = [json.loads(cells[FIELDS.index("payload")]).get("notes") for cells in rows]
    assert 'Tank refill, "urgent"; ÄÖ, line\nbreak' in notes


def test_from_and_to_are_inclusive_position_bounds(ledger: tuple[Conn, Site]) -> None:
    conn, _ = ledger
    positions = [r["position"] for r in raw_rows(conn)]
    second, fourth = sorted(positions)[1], sorted(positions)[3]

    def exported(**bounds: int) -> list[int]:
        out = io.StringIO()
        export(conn, out, "jsonl", **bounds)
        return [r["position"] for r in parse_jsonl(out.getvalue())]

    assert exported(first_position=second, last_position=fourth) == [
        p for p in positions if second <= p <= fourth
    ]
    assert exported(first_position=fourth) == [p for p in positions if p >= fourth]
    assert exported(last_position=second) == [p for p in positions if p <= second]
    assert exported(first_position=second, last_position=second) == [second]
    assert exported(first_position=max(positions) + 1) == []


def test_small_batches_give_the_same_export(ledger: tuple[Conn, Site]) -> None:
    conn, _ = ledger
    whole, batched = io.StringIO(), io.StringIO()
    export(conn, whole, "csv")
    export(conn, batched, "csv", batch=2)
    assert batched.getvalue() == whole.getvalue()
    whole, batched = io.StringIO(), io.StringIO()
    export(conn, whole, "jsonl", first_position=2)
    export(conn, batched, "jsonl", first_position=2, batch=1)
    assert batched.getvalue() == whole.getvalue()


def test_a_transaction_still_writing_holds_back_itself_and_every_later_one(
    ledger: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, site = ledger
    before = io.StringIO()
    export(conn, before, "jsonl")
    with psycopg.connect(fresh_db_url, autocommit=True) as writer, writer.transaction():
        held = run(writer, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site)
        assert held.position is not None
        later = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1)), site)
        assert later.position is not None and later.position > held.position
        during = io.StringIO()
        export(conn, during, "jsonl")
        assert during.getvalue() == before.getvalue()
    after = io.StringIO()
    export(conn, after, "jsonl")
    tail = [r["position"] for r in parse_jsonl(after.getvalue())][-2:]
    assert tail == [held.position, later.position]


def parser_with_export(url: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abparts")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub, lambda settings: url)
    return parser


def test_the_command_writes_the_same_export_to_a_file(
    ledger: tuple[Conn, Site], fresh_db_url: str, tmp_path: Path
) -> None:
    conn, _ = ledger
    parser = parser_with_export(fresh_db_url)
    target = tmp_path / "ledger.csv"
    args = parser.parse_args(
        ["export", "--format", "csv", "--from", "2", "--to", "4", "--output", str(target)]
    )
    assert args.func(Settings(), args) == 0
    expected = io.StringIO()
    export(conn, expected, "csv", first_position=2, last_position=4)
    assert target.read_bytes().decode() == expected.getvalue()
    assert list(tmp_path.iterdir()) == [target]


def test_the_command_refuses_bad_arguments_with_status_2(
    fresh_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = parser_with_export(fresh_db_url)
    args = parser.parse_args(["export", "--format", "jsonl", "--from", "5", "--to", "4"])
    assert args.func(Settings(), args) == 2
    assert "--from 5 is after --to 4" in capsys.readouterr().err
    for bad in (
        ["--format", "xml"],
        ["--format", "csv", "--from", "x"],
        ["--format", "csv", "--to", "-1"],
        [],
    ):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["export", *bad])
        assert exit_.value.code == 2


def site_names(conn: Conn, site: Site) -> dict[str, Any]:
    """The site's reference names straight from the tables, as the export should name them."""

    def one(sql: str, key: UUID) -> Any:
        row = conn.execute(sql, [key]).fetchone()
        assert row is not None
        return row

    part = one("SELECT part_number, name, unit_of_measure FROM parts WHERE id = %s", site.part)
    bulk = one("SELECT part_number, name, unit_of_measure FROM parts WHERE id = %s", site.bulk)
    [org] = one("SELECT name FROM organizations WHERE id = %s", site.org)
    a, b = (one("SELECT name FROM warehouses WHERE id = %s", w)[0] for w in (site.a, site.b))
    keys = ("part_number", "part_name", "unit_of_measure")
    return {
        "part": dict(zip(keys, part, strict=True)),
        "bulk": dict(zip(keys, bulk, strict=True)),
        "org": org,
        "a": a,
        "b": b,
    }


def test_jsonl_names_the_payloads_ids_beside_the_hashed_fields(ledger: tuple[Conn, Site]) -> None:
    conn, site = ledger
    n = site_names(conn, site)
    out = io.StringIO()
    export(conn, out, "jsonl", batch=2)  # names looked up batch by batch, cached across batches
    exported = parse_jsonl(out.getvalue())
    transfer = next(r for r in exported if r["event_type"] == "StockTransferred")
    assert transfer["names"] == {
        "parts": {str(site.part): n["part"]},
        "warehouses": {
            str(site.a): {"warehouse_name": n["a"], "organization_id": str(site.org)},
            str(site.b): {"warehouse_name": n["b"], "organization_id": str(site.org)},
        },
        "organizations": {},
    }
    bulk = next(r for r in exported if r["payload"].get("part_id") == str(site.bulk))
    assert bulk["names"]["parts"] == {str(site.bulk): n["bulk"]}
    # The names change nothing an auditor recomputes: every hash still comes from the fields alone.
    for record in exported:
        event = rebuild(record)
        assert event.computed_hash() == event.hash


def test_csv_names_beside_the_hashed_columns(ledger: tuple[Conn, Site]) -> None:
    conn, site = ledger
    n = site_names(conn, site)
    text = io.StringIO()
    export(conn, text, "csv")
    header, *rows = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    named = [dict(zip(header, cells, strict=True)) for cells in rows]
    transfer = next(r for r in named if r["event_type"] == "StockTransferred")
    p = n["part"]
    assert transfer["part_names"] == f"{p['part_number']} {p['part_name']} ({p['unit_of_measure']})"
    by_id = {str(site.a): n["a"], str(site.b): n["b"]}
    in_payload_order = [v for k, v in json.loads(transfer["payload"]).items() if k.endswith("warehouse_id")]
    assert sorted(in_payload_order) == sorted(by_id)
    assert transfer["warehouse_names"] == "; ".join(by_id[w] for w in in_payload_order)
    assert transfer["organization_names"] == ""
    approved = next(r for r in named if r["event_type"] == "MovementApproved")
    assert approved["part_names"] == f"{n['bulk']['part_number']} {n['bulk']['part_name']} (litres)"
