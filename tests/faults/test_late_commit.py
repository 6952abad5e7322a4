"""A movement recorded earlier but committed later must not make the inventory row depend on batching.

Under concurrent writers, `recorded_at` (the writer's clock, read before its
transaction) and the commit-safe order `(writer_xid, position)` disagree.
The fault tests' loads met it: `abparts verify` reported one inventory row
differing after a load of concurrent creations into one (warehouse, part),
because the live row's `created_at` was the earliest `recorded_at` of the
*first batch* that touched it, while the recomputation (one batch) takes the
earliest of all. Here the two orders are made to disagree deterministically.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import CreateStock
from ledger.policy import Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.engine.runner import apply_batch
from projections.registry import ALL
from projections.tools.verify import verify
from tests.fixtures.ledger import make_site
from tests.fixtures.world import World

pytestmark = [pytest.mark.faults, pytest.mark.db]
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_late_commit_keeps_the_earliest_created_at(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        metadata = CommandMetadata(performed_by_user_id=site.user)
        later = PostgresLedger(Policy(), clock=lambda: T0 + timedelta(seconds=1))
        earlier = PostgresLedger(Policy(), clock=lambda: T0)
        command = CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=Decimal(1))

        later.execute(conn, command, metadata)  # commits first, recorded at T0 + 1 s
        with conn.transaction():  # a worker's batch in between
            assert {apply_batch(conn, p, 1000) for p in ALL} == {1}
        earlier.execute(conn, command, metadata)  # commits second, recorded at T0 (clock read earlier)
        with conn.transaction():
            assert {apply_batch(conn, p, 1000) for p in ALL} == {1}

        row = conn.execute(
            "SELECT created_at, current_stock FROM inventory WHERE warehouse_id = %s AND part_id = %s",
            [site.a, site.part],
        ).fetchone()
        assert row is not None and row[1] == Decimal(2)
        report = verify(conn, ALL)
        assert report.ok, [(d.table, d.sample_keys) for d in report.differences]
        assert row[0] == T0
