"""`status`: a projection that never ran lags by the whole log; a worker counts only in its own database."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from ledger.commands import CreateStock
from projections.engine.runner import ENSURE, lock_key
from projections.engine.status import status
from projections.registry import BY_NAME
from tests.fixtures.ledger import forge, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
INVENTORY = (BY_NAME["inventory"],)


def test_a_projection_never_run_lags_by_the_whole_log_in_seconds_too(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=Decimal(1)), site)
        # Backdate the event's record moment behind the append-only triggers' back: a minute old.
        forge(conn, "UPDATE ledger_events SET recorded_at = recorded_at - interval '1 minute'", "USER")
        [row] = status(conn, INVENTORY)
    assert (row.position, row.events_applied, row.lag_events, row.updated_at) == (0, 0, 1, None)
    assert 60 <= row.lag_seconds < 600


def test_a_worker_in_another_database_is_not_this_ones(fresh_db_url: str, db_url: str) -> None:
    key = lock_key("inventory")
    with psycopg.connect(fresh_db_url, autocommit=True) as here:
        here.execute(ENSURE, ["inventory"])  # a projection that has run: its checkpoint exists
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [key])
            [row] = status(here, INVENTORY)
            assert not row.worker_active
        with psycopg.connect(fresh_db_url, autocommit=True) as worker:
            worker.execute("SELECT pg_advisory_lock(%s)", [key])
            [row] = status(here, INVENTORY)
            assert row.worker_active
