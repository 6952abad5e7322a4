"""A committer's connection keeps the ledger's statements on their generic plans, whatever the key count."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from api.http.app import committer_conninfo
from ledger.commands import CreateStock
from ledger.policy import Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from tests.fixtures.ledger import Site

READ_AND_LOCK_PLANS = (
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
    " WHERE statement LIKE '%%INSERT INTO ledger_stock_levels%%' AND statement LIKE '%%ledger_idempotency%%'"
)


@pytest.mark.db
def test_a_committer_connection_uses_the_generic_plan_of_the_read_and_lock(db_url: str, site: Site) -> None:
    with psycopg.connect(committer_conninfo(db_url), autocommit=True) as conn:
        assert conn.execute("SHOW plan_cache_mode").fetchone() == ("force_generic_plan",)
        create = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=Decimal(1))
        for _ in range(8):  # past psycopg's prepare threshold (5)
            PostgresLedger(Policy()).execute(conn, create, CommandMetadata(performed_by_user_id=site.user))
        row = conn.execute(READ_AND_LOCK_PLANS).fetchone()
        assert row is not None and row[0] >= 1 and row[1] == 0, row
