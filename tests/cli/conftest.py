"""What the CLI tests share: a small ledger of their own, and the `abparts` command against it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, TransferStock
from ledger.policy import Policy
from tests.api.test_bootstrap import as_url
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

D = Decimal


@pytest.fixture
def small_ledger(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own: five movements (one held, then approved); DATABASE_URL points at it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(3)),
            site,
        )
        run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.b, quantity=D(2)), site)
        held = Policy(approval_value_threshold=D(1))
        pending = run(
            conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D("1.25")), site, held
        )
        run(conn, ApproveMovement(transaction_id=pending.transaction_ids[0]), site, held)
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1)), site)
        monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
        yield conn, site
