"""For any sequence of commands: every projection equals the fold of the log, and equals a fresh rebuild."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.reader import follow
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.registry import ALL
from projections.tools.rebuild import rebuild
from projections.tools.verify import verify
from tests.fixtures.database import own_database
from tests.fixtures.ledger import Conn, make_site
from tests.fixtures.world import World
from tests.projections.conftest import catch_up, inventory, log_fold
from tests.projections.reference import expected_rows, projected_rows
from tests.properties.test_ledger_properties import operations, to_command

pytestmark = [pytest.mark.db, pytest.mark.slow]
TABLES = ("inventory", "transactions", "part_usage", "stock_adjustments", "transaction_approvals")


@pytest.fixture(scope="module")
def log_db(server_url: str, template_db: str) -> Iterator[Conn]:
    """One database for the module: its log grows from example to example, as a real one would."""
    with own_database(server_url, template_db, "abparts_props") as conn:
        yield conn


def snapshot(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations(), reject=st.booleans(), batch=st.integers(1, 7))
def test_projections_equal_the_fold_and_a_rebuild(
    log_db: Conn, ops: list[tuple[Any, ...]], reject: bool, batch: int
) -> None:
    conn = log_db
    site = make_site(World(conn))
    machine = site.world.machine(site.org)
    policy = Policy(
        negative_stock=NegativeStockPolicy.REJECT if reject else NegativeStockPolicy.WARN,
        approval_quantity_threshold=Decimal(15),
    )
    ledger = PostgresLedger(policy)
    ids: list[uuid.UUID] = []
    for op in ops:
        command = to_command(op, [site.a, site.b], [site.part, site.bulk], ids, machine)
        if command is None:
            continue
        try:
            result = ledger.execute(conn, command, CommandMetadata(site.user))
        except LedgerError:
            continue
        ids.extend(t for t in result.transaction_ids if t not in ids)

    catch_up(conn, batch)  # batch boundaries fall anywhere
    assert inventory(conn) == log_fold(conn)
    assert projected_rows(conn) == expected_rows(follow(conn))
    report = verify(conn, ALL)
    assert report.ok, report
    projected = snapshot(conn)
    rebuild(conn, ALL, io.StringIO(), batch_size=batch * 3)
    assert snapshot(conn) == projected
