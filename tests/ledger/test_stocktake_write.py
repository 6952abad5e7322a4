"""The stocktake's write path: canonical text from the prebuilt encoder, uuid literals in bulk,
positions read back alone, and the many-levels lock creating only the levels it did not find."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import recorded
from ledger.commands import CountedItem, CountStock, CreateStock, StockCommand
from ledger.events import StockAdjusted
from ledger.policy import Policy
from ledger.postgres.context import MANY_LEVELS, uuid_array
from ledger.postgres.eventstore import chain
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata, canonical, canonical_text, event_hash, hash_body
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, actor, make_site
from tests.fixtures.world import World

D = Decimal
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_the_prebuilt_encoder_writes_the_canonical_text_of_any_json_value(value: Any) -> None:
    assert canonical_text(value) == canonical(value).decode()


def test_without_the_c_encoder_the_text_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"b": [1, 2.5, None, True], "a": 'é " \\ \n \x7f', "c": {"z": {}, "y": []}}
    fast = canonical_text(value)
    monkeypatch.setattr(recorded, "_C_CANONICAL", None)
    assert canonical_text(value) == fast == canonical(value).decode()


def test_a_value_json_cannot_hold_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_text({"a": object()})


def test_uuid_literals_round_trip_with_nulls_and_empty(conn: Conn) -> None:
    ids = [uuid.uuid4(), None, uuid.uuid4()]
    row = conn.execute("SELECT %s::uuid[], %s::uuid[]", [uuid_array(ids), uuid_array([])]).fetchone()
    assert row == (ids, [])
    assert uuid_array(iter(ids)) == "{" + f"{ids[0]},null,{ids[2]}" + "}"


def test_chain_stores_and_hashes_the_payload_model_dump_gives() -> None:
    event = StockAdjusted.model_validate(
        {
            "transaction_id": uuid.uuid4(),
            "part_id": uuid.uuid4(),
            "from_warehouse_id": uuid.uuid4(),
            "quantity": D("2.500"),
            "unit_of_measure": "pieces",
            "transaction_date": datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC),
            "notes": 'quote " backslash \\ é \n',
            "warnings": ("below zero",),
            "reason_code": "stocktake",
            "counted_quantity": D("0"),
        }
    )
    metadata = CommandMetadata(performed_by_user_id=uuid.uuid4(), request_id="r")
    at = datetime(2026, 3, 4, 5, 6, 8, tzinfo=UTC)
    [first, second] = chain([("s", event), ("s", event)], {}, metadata, at)
    payload = event.model_dump(mode="json")
    assert first.payload_json == second.payload_json == canonical_text(payload)
    assert first.hash == event_hash(
        first.previous_hash, hash_body("s", 1, "StockAdjusted", 1, payload, metadata, at)
    )
    assert (second.stream_version, second.previous_hash) == (2, first.hash)


def _result(outcome: object) -> CommandResult:
    assert isinstance(outcome, CommandResult), outcome
    return outcome


@pytest.mark.db
def test_each_appended_event_of_a_batch_is_the_row_at_its_position(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        parts = [site.world.part("consumable") for _ in range(3)]
        commands: list[StockCommand] = [
            CountStock(
                warehouse_id=site.a,
                items=tuple(CountedItem(part_id=p, counted_quantity=D(i + 2)) for i, p in enumerate(parts)),
            ),
            CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(4)),
            CountStock(warehouse_id=site.b, items=(CountedItem(part_id=site.part, counted_quantity=D(1)),)),
        ]
        items = [(c, CommandMetadata(performed_by_user_id=actor(site, c))) for c in commands]
        results = [_result(o) for o in PostgresLedger(Policy()).execute_batch(conn, items)]
        appended = [e for r in results for e in r.events]
        assert [len(r.events) for r in results] == [3, 1, 1]
        rows = conn.execute(
            "SELECT position, stream_id, stream_version, event_type FROM ledger_events"
            " WHERE position = ANY(%s) ORDER BY position",
            [[e.position for e in appended]],
        ).fetchall()
        assert [(e.position, e.stream_id, e.stream_version, e.event_type) for e in appended] == rows
        assert [r.position for r in results] == [max(e.position for e in r.events) for r in results]


@pytest.mark.db
def test_a_big_stocktake_creates_the_levels_it_does_not_find_and_counts_against_the_others(
    fresh_db_url: str,
) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        ledger = PostgresLedger(Policy())
        metadata = CommandMetadata(performed_by_user_id=site.user)
        parts = [site.world.part("consumable") for _ in range(MANY_LEVELS + 8)]
        stocked = parts[::2]  # every other part has a level (with 5 on hand); the rest none
        for part in stocked:
            ledger.execute(conn, CreateStock(part_id=part, to_warehouse_id=site.a, quantity=D(5)), metadata)
        counted = {p: D(i % 7) for i, p in enumerate(parts)}
        count = CountStock(
            warehouse_id=site.a,
            items=tuple(CountedItem(part_id=p, counted_quantity=q) for p, q in counted.items()),
        )
        result = ledger.execute(conn, count, metadata)
        expected = {p: q - (D(5) if p in stocked else D(0)) for p, q in counted.items()}
        assert len(result.events) == sum(1 for d in expected.values() if d != 0)
        rows = conn.execute(
            "SELECT part_id, on_hand FROM ledger_stock_levels WHERE warehouse_id = %s", [site.a]
        ).fetchall()
        assert dict(rows) == counted
