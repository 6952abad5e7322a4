"""A kept result is stored as json, its text as written (alembic 0018); one kept before reads the same."""

from __future__ import annotations

import psycopg
import pytest

from api.runtime.database import downgrade, migrate
from ledger.commands import CreateStock
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, Site, run

# As 0017 stored it: jsonb, whose text output orders the keys by length and spaces them.
BEFORE = (
    '{"events": [{"position": 7, "stream_id": "movement-1", "event_type": "StockCreated",'
    ' "stream_version": 1}], "order_id": null, "position": 7, "replayed": false, "warnings": [],'
    ' "transaction_ids": [], "log_transaction_id": 9}'
)


@pytest.mark.db
def test_0018_keeps_the_text_a_retry_read_and_downgrades_back(empty_db_url: str) -> None:
    migrate(empty_db_url, "0017_ledger_refusals")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ledger_idempotency (key, request_hash, result) VALUES ('k', '\\x00', %s)", [BEFORE]
        )
        read_before = conn.execute("SELECT result::text FROM ledger_idempotency").fetchone()
    migrate(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT result::text, pg_typeof(result)::text FROM ledger_idempotency WHERE key = 'k'"
        ).fetchone()
        assert row == (BEFORE, "json") and read_before == (BEFORE,)
    downgrade(empty_db_url, "0017_ledger_refusals")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        row = conn.execute("SELECT result::text, pg_typeof(result)::text FROM ledger_idempotency").fetchone()
        assert row == (BEFORE, "jsonb")


def test_a_result_is_stored_as_the_json_its_caller_got(conn: Conn, site: Site) -> None:
    first = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=1), site, key="as-json")
    row = conn.execute(
        "SELECT result::text, pg_typeof(result)::text FROM ledger_idempotency WHERE key = 'as-json'"
    ).fetchone()
    assert row is not None and row[1] == "json"
    assert CommandResult.model_validate_json(row[0]) == first
    assert f'"position": {first.position}, "log_transaction_id": {first.log_transaction_id}' in row[0]
