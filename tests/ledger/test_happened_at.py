"""`ledger_happened_at` (alembic 0018): PL/pgSQL, the same dates as before, still the index's expression."""

from __future__ import annotations

import json

import psycopg
import pytest

from api.runtime.database import downgrade, migrate
from tests.fixtures.ledger import Conn

AT = "2026-03-04T05:06:07.123456+00:00"
RECORDED = "2026-05-06T07:08:09+00:00"
# (event_type, payload): each branch of the function, and an event type it has no date for.
EVENTS = [
    ("StockCreated", {"transaction_date": "2026-01-02T03:04:05Z"}),
    ("StockTransferred", {"transaction_date": "2026-01-02T03:04:05.5+02:00"}),
    ("StockConsumed", {"transaction_date": AT}),
    ("StockAdjusted", {"transaction_date": AT}),
    ("MovementApproved", {"transaction_date": "2020-01-01T00:00:00Z"}),
    ("CustomerOrderShipped", {"shipped_at": "2026-02-03T04:05:06Z"}),
    ("CustomerOrderReceived", {"received_at": "2026-02-04T04:05:06Z"}),
    ("MovementRejected", {"transaction_date": AT}),
]
EXPECTED = """
SELECT CASE
    WHEN t IN ('StockCreated', 'StockTransferred', 'StockConsumed', 'StockAdjusted')
        THEN (p->>'transaction_date')::timestamptz
    WHEN t = 'MovementApproved' THEN r
    WHEN t = 'CustomerOrderShipped' THEN (p->>'shipped_at')::timestamptz
    WHEN t = 'CustomerOrderReceived' THEN (p->>'received_at')::timestamptz
END, ledger_happened_at(t, p, r)
FROM (VALUES (%s, %s::jsonb, %s::timestamptz)) AS v(t, p, r)
"""
LANGUAGE = """
SELECT l.lanname, p.provolatile FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.proname = 'ledger_happened_at'
"""


def _dates(url: str) -> list[tuple[object, object]]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'America/New_York'")  # the dates carry offsets: no session zone counts
        return [conn.execute(EXPECTED, [t, json.dumps(p), RECORDED]).fetchone() for t, p in EVENTS]  # type: ignore[misc]


def _language(url: str) -> tuple[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(LANGUAGE).fetchone()
        assert row is not None
        return str(row[0]), str(row[1])


@pytest.mark.db
def test_0018_keeps_every_date_in_plpgsql_and_gives_it_back_in_sql(empty_db_url: str) -> None:
    migrate(empty_db_url)
    assert _language(empty_db_url) == ("plpgsql", "i")
    dates = _dates(empty_db_url)
    assert all(expected == got for expected, got in dates)
    assert [got is None for _, got in dates] == [False] * 7 + [True]
    downgrade(empty_db_url, "0017_ledger_refusals")
    assert _language(empty_db_url) == ("sql", "i")
    assert _dates(empty_db_url) == dates
    migrate(empty_db_url)
    assert _language(empty_db_url) == ("plpgsql", "i")


@pytest.mark.db
def test_the_index_is_still_used_for_a_range_of_dates(conn: Conn) -> None:
    query = """
    EXPLAIN (FORMAT JSON) SELECT position FROM ledger_events
    WHERE event_type IN ('StockCreated', 'StockTransferred', 'StockConsumed', 'StockAdjusted',
        'MovementApproved', 'CustomerOrderShipped', 'CustomerOrderReceived')
      AND ledger_happened_at(event_type, payload, recorded_at) > %s::timestamptz
      AND ledger_happened_at(event_type, payload, recorded_at) <= %s::timestamptz
    """
    conn.execute("BEGIN")
    try:
        conn.execute("SET LOCAL enable_seqscan = off")
        row = conn.execute(query, ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]).fetchone()
    finally:
        conn.execute("ROLLBACK")
    assert row is not None
    assert "ledger_events_happened_at_idx" in json.dumps(row[0])
