"""The one-statement append: same hash bytes, same stored result, text literals that survive any string."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from ledger import errors
from ledger.commands import CountedItem, CountStock, CreateStock, ReverseMovement, StockCommand
from ledger.policy import Policy
from ledger.postgres.context import Wanted, load_and_lock, text_array, uuid_array
from ledger.postgres.seals import audit
from ledger.postgres.service import PostgresLedger
from ledger.recorded import (
    CommandMetadata,
    body_bytes,
    canonical,
    canonical_text,
    fixed_hash_fields,
    hash_body,
)
from ledger.results import AppendedEvent, CommandResult, trusted
from tests.fixtures.ledger import Conn, make_site, run
from tests.fixtures.world import World

D = Decimal
AWKWARD = 'quote " backslash \\ brace {} comma , unicode é ✓ newline \n NULL'


@pytest.mark.parametrize(
    "metadata",
    [
        CommandMetadata(performed_by_user_id=uuid.uuid4()),
        CommandMetadata(
            performed_by_user_id=uuid.uuid4(),
            request_id=AWKWARD,
            idempotency_key="k\"'\\",
            correlation_id=uuid.uuid4(),
            causation_id=uuid.uuid4(),
        ),
    ],
)
@pytest.mark.parametrize(("stream", "event_type"), [("movement-x", "StockCreated"), (AWKWARD, 'é"\\')])
def test_the_fast_hash_body_is_byte_for_byte_the_canonical_one(
    metadata: CommandMetadata, stream: str, event_type: str
) -> None:
    payload = {"notes": AWKWARD, "quantity": "1.5", "z": [1, {"b": None, "a": True}], "a": "é"}
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    slow = canonical(hash_body(stream, 7, event_type, 1, payload, metadata, at))
    fast = body_bytes(stream, 7, event_type, 1, canonical_text(payload), fixed_hash_fields(metadata, at))
    assert fast == slow


@pytest.mark.db
def test_array_literals_round_trip_through_postgresql(conn: Conn) -> None:
    texts = [AWKWARD, "", "NULL", "plain", "\\", '"']
    ids = [uuid.uuid4(), uuid.uuid4()]
    row = conn.execute("SELECT %s::text[], %s::uuid[]", [text_array(texts), uuid_array(ids)]).fetchone()
    assert row == (texts, ids)


@pytest.mark.db
def test_uuid_arrays_keep_nulls_and_repeats_through_postgresql(conn: Conn) -> None:
    first, last = uuid.uuid4(), uuid.uuid4()
    values = [first, None, uuid.UUID(int=first.int), last]
    assert conn.execute("SELECT %s::uuid[]", [uuid_array(values)]).fetchone() == (values,)
    assert conn.execute("SELECT %s::uuid[]", [uuid_array([])]).fetchone() == ([],)


def test_a_keyed_multi_event_command_stores_exactly_what_it_returns(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        created = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), site)
        [movement] = created.transaction_ids
        counted = CountStock(
            warehouse_id=site.a,
            items=(
                CountedItem(part_id=site.part, counted_quantity=D(2)),
                CountedItem(part_id=site.bulk, counted_quantity=D("1.5")),
            ),
            notes=AWKWARD,
        )
        commands: list[tuple[StockCommand, int]] = [
            (counted, 2),
            (counted, 0),  # the same count again changes nothing: no events, a result all the same
            (ReverseMovement(transaction_id=movement, notes=AWKWARD), 2),
        ]
        for command, events in commands:
            key = f"key-{uuid.uuid4()}"
            first = run(conn, command, site, Policy(), key=key)
            assert len(first.events) == events
            row = conn.execute("SELECT result FROM ledger_idempotency WHERE key = %s", [key]).fetchone()
            assert row is not None
            assert CommandResult.model_validate(row[0]) == first
            assert row[0] == first.model_dump(mode="json")
            again = run(conn, command, site, Policy(), key=key)
            assert again == first.model_copy(update={"replayed": True})
        assert audit(conn).ok


@pytest.mark.db
def test_positions_follow_the_decision_order(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        parts = [site.world.part("consumable") for _ in range(30)]
        items = tuple(CountedItem(part_id=p, counted_quantity=D(i + 1)) for i, p in enumerate(parts))
        ledger = PostgresLedger(Policy())
        result = ledger.execute(
            conn,
            CountStock(warehouse_id=site.b, items=items),
            CommandMetadata(performed_by_user_id=site.user),
        )
        positions = [e.position for e in result.events]
        assert positions == sorted(positions) and len(set(positions)) == 30
        rows = conn.execute(
            "SELECT position, payload->>'part_id' FROM ledger_events"
            " WHERE position = ANY(%s) ORDER BY position",
            [positions],
        ).fetchall()
        assert [r[1] for r in rows] == [str(p) for p in parts]
        assert result.log_transaction_id is not None


@pytest.mark.db
def test_a_failed_write_or_refusal_leaves_the_connection_idle_and_usable(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        taken = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site)
        [existing] = taken.transaction_ids
        before = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        # A new movement whose id is taken: the write fails on the stream's version, after the read.
        clash = PostgresLedger(Policy(), new_id=lambda: existing, max_attempts=2)
        metadata = CommandMetadata(performed_by_user_id=site.user)
        with pytest.raises(errors.ConcurrencyConflict):
            clash.execute(
                conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), metadata
            )
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with pytest.raises(errors.UnknownPart):
            run(conn, CreateStock(part_id=uuid.uuid4(), to_warehouse_id=site.a, quantity=D(1)), site)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT count(*) FROM ledger_events").fetchone() == before
        level = "SELECT on_hand FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s"
        assert conn.execute(level, [site.a, site.part]).fetchone() == (D(1),)
        after = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2)), site)
        assert after.position is not None
        assert conn.execute(level, [site.a, site.part]).fetchone() == (D(3),)


@pytest.mark.db
def test_the_read_statement_takes_the_xid_even_when_it_locks_nothing(conn: Conn) -> None:
    # A balance snapshot's mark is sound only if no command draws a log position before it has
    # an xid; the write draws positions, so the read must already have taken one.
    site = make_site(World(conn))
    with conn.transaction():
        load_and_lock(conn, Wanted(users={site.user}), datetime.now(UTC).year)
        assert conn.execute("SELECT pg_current_xact_id_if_assigned()").fetchone() != (None,)


def test_a_trusted_model_is_the_one_model_construct_builds() -> None:
    values: dict[str, object] = {
        "position": 3,
        "log_transaction_id": 9,
        "events": (AppendedEvent(position=3, stream_id="s", stream_version=1, event_type="StockCreated"),),
        "transaction_ids": (uuid.uuid4(),),
        "warnings": (),
        "replayed": False,
        "order_id": None,
        "movements": None,
    }
    fast, slow = trusted(CommandResult, dict(values)), CommandResult.model_construct(**values)  # type: ignore[arg-type]
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_copy(update={"replayed": True}).replayed
