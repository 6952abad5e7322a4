"""A keyed command's refusal is kept under its key in its own transaction, and given again (alembic 0017).

The ledger is the only keeper of the stock command routes' Idempotency-Keys: a retry must be refused
the same way even after the state changed, as the HTTP middleware's kept 4xx used to be.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from api.runtime.database import downgrade, migrate
from ledger import errors
from ledger.commands import ConsumeStock, CreateStock
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.idempotency import REFUSAL_VERSION, Refused, refused_again
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from tests.fixtures.ledger import Conn, CountingConnection, Site, run

D = Decimal
REJECT = Policy(negative_stock=NegativeStockPolicy.REJECT)


def event_count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def kept(conn: Conn, key: str) -> list[tuple[Any, ...]]:
    """The key's row: (whether it holds a result, its refusal record)."""
    return conn.execute(
        "SELECT result IS NOT NULL, refusal FROM ledger_idempotency WHERE key = %s", [key]
    ).fetchall()


def take(site: Site, quantity: str = "5") -> ConsumeStock:
    return ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(quantity))


@pytest.mark.db
def test_a_keyed_refusal_is_kept_and_given_again_after_the_state_changed(conn: Conn, site: Site) -> None:
    key = f"short-{uuid.uuid4()}"
    ledger = PostgresLedger(REJECT)
    metadata = CommandMetadata(performed_by_user_id=site.user, request_id="first", idempotency_key=key)
    with pytest.raises(errors.InsufficientStock) as refused:
        ledger.execute(conn, take(site), metadata)
    assert not refused.value.replayed
    [(has_result, record)] = kept(conn, key)
    assert not has_result and record["version"] == REFUSAL_VERSION and record["code"] == "insufficient_stock"
    assert record["request_id"] == "first"
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    count = event_count(conn)
    retry = CommandMetadata(performed_by_user_id=site.user, request_id="again", idempotency_key=key)
    with pytest.raises(errors.InsufficientStock) as again:
        ledger.execute(conn, take(site), retry)
    assert again.value.replayed and again.value.first_request_id == "first"
    assert (again.value.message, again.value.details) == (refused.value.message, refused.value.details)
    assert list(again.value.details) == list(refused.value.details)  # in the same order
    assert event_count(conn) == count
    with pytest.raises(errors.IdempotencyConflict):
        ledger.execute(conn, take(site, "4"), retry)


@pytest.mark.db
def test_an_unkeyed_refusal_keeps_nothing(conn: Conn, site: Site) -> None:
    before = conn.execute("SELECT count(*) FROM ledger_idempotency").fetchone()
    with pytest.raises(errors.InsufficientStock):
        PostgresLedger(REJECT).execute(conn, take(site), CommandMetadata(performed_by_user_id=site.user))
    assert conn.execute("SELECT count(*) FROM ledger_idempotency").fetchone() == before


@pytest.mark.db
def test_a_batch_keeps_its_refusals_with_its_appends(db_url: str, site: Site) -> None:
    with CountingConnection.connect(db_url, autocommit=True) as conn:
        batch_with_refusals(conn, site)


def batch_with_refusals(conn: CountingConnection, site: Site) -> None:
    keys = [f"b-{n}-{uuid.uuid4()}" for n in range(3)]
    meta = [CommandMetadata(performed_by_user_id=site.user, idempotency_key=k) for k in keys]
    create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(2))
    count = event_count(conn)
    conn.statements = 0
    outcomes = PostgresLedger(REJECT).execute_batch(
        conn,
        [
            (create, meta[0]),
            (take(site, "3"), meta[1]),
            (take(site, "3"), meta[1]),
            (take(site, "2"), meta[2]),
        ],
    )
    assert conn.statements == 2, "one read-and-lock, one write: the refusals go with the appends"
    created, refused, twin, taken = outcomes
    assert not isinstance(created, Exception) and not isinstance(taken, Exception)
    assert isinstance(refused, errors.InsufficientStock) and not refused.replayed
    # The same request again in the same batch: the refusal given again, as a later retry gets it.
    assert isinstance(twin, errors.InsufficientStock) and twin.replayed
    assert (twin.message, twin.details) == (refused.message, refused.details)
    assert event_count(conn) == count + 2
    assert [kept(conn, k)[0][0] for k in keys] == [True, False, True]
    assert kept(conn, keys[1])[0][1]["code"] == "insufficient_stock"


@pytest.mark.db
def test_a_refusal_before_deciding_is_kept_and_a_kept_result_still_wins(conn: Conn, site: Site) -> None:
    """A command refused while its needs are worked out (an unknown movement) is kept like any other."""
    from ledger.commands import ApproveMovement

    key = f"n-{uuid.uuid4()}"
    approve = ApproveMovement(transaction_id=uuid.uuid4())
    metadata = CommandMetadata(performed_by_user_id=site.approver, idempotency_key=key)
    with pytest.raises(errors.UnknownTransaction):
        PostgresLedger(Policy()).execute(conn, approve, metadata)
    with pytest.raises(errors.UnknownTransaction) as again:
        PostgresLedger(Policy()).execute(conn, approve, metadata)
    assert again.value.replayed and kept(conn, key)[0][1]["code"] == "unknown_transaction"


def every_error_type() -> list[type[errors.LedgerError]]:
    found, todo = [], [errors.LedgerError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


@pytest.mark.parametrize("kind", every_error_type(), ids=lambda k: k.code)
def test_every_refusal_comes_back_as_it_was_raised(kind: type[errors.LedgerError]) -> None:
    error = kind("refused for a reason", part_id=str(uuid.uuid4()), version=3, field="quantity")
    again = Refused.of(error, "k", b"\0" * 32, "req-1").again()
    assert type(again) is kind and again.code == error.code
    assert (again.message, again.details) == (error.message, error.details)
    assert list(again.details) == list(error.details)
    assert again.replayed and again.first_request_id == "req-1"


def test_a_refusal_of_a_code_this_version_does_not_know_keeps_its_code() -> None:
    record = {"version": 1, "code": "from_the_future", "message": "m", "details": [], "request_id": None}
    again = refused_again(json.loads(json.dumps(record)))
    assert type(again) is errors.LedgerError and again.code == "from_the_future" and again.replayed


@pytest.mark.db
def test_0017_forgets_refusals_on_downgrade_and_keeps_results(empty_db_url: str) -> None:
    migrate(empty_db_url)
    insert = (
        "INSERT INTO ledger_idempotency (key, request_hash, result, refusal) VALUES (%s, '\\x00', %s, %s)"
    )
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(insert, ["ok", '{"position": 1}', None])
        conn.execute(insert, ["no", None, '{"version": 1}'])
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(insert, ["both", "{}", "{}"])
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(insert, ["neither", None, None])
    downgrade(empty_db_url, "0016_writer_xid_default")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT key FROM ledger_idempotency").fetchall() == [("ok",)]
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute("INSERT INTO ledger_idempotency (key, request_hash) VALUES ('x', '\\x00')")
    migrate(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT key, refusal FROM ledger_idempotency").fetchall() == [("ok", None)]
