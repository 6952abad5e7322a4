"""Segregation of duties and typed warnings through the PostgreSQL store."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ledger import errors
from ledger.commands import ApproveMovement, ConsumeStock, CreateStock
from ledger.policy import Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import StockWarning
from tests.fixtures.ledger import Conn, Site, run

pytestmark = pytest.mark.db

D = Decimal


def test_the_store_knows_who_recorded_a_movement_and_refuses_her_approval(conn: Conn, site: Site) -> None:
    policy = Policy(approval_value_threshold=D(100))
    pending = run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D(10)), site, policy)
    [transaction_id] = pending.transaction_ids
    as_recorder = CommandMetadata(performed_by_user_id=site.user)
    with pytest.raises(errors.SelfApproval):
        PostgresLedger(policy).execute(conn, ApproveMovement(transaction_id=transaction_id), as_recorder)
    approved = run(conn, ApproveMovement(transaction_id=transaction_id), site, policy)  # as the approver
    assert [e.event_type for e in approved.events] == ["MovementApproved"]


def test_a_result_stored_with_text_warnings_is_recalled_as_typed_warnings(conn: Conn, site: Site) -> None:
    command = ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(4))
    first = run(conn, command, site, key="old-format")
    [warning] = first.warnings
    assert (warning.code, warning.resulting_stock) == ("negative_stock", D(-4))
    # Turn the stored result into what an older version of the ledger wrote: warnings as text.
    row = conn.execute("SELECT result FROM ledger_idempotency WHERE key = 'old-format'").fetchone()
    assert row is not None
    old = dict(row[0]) | {"warnings": [warning.detail]}
    conn.execute("UPDATE ledger_idempotency SET result = %s WHERE key = 'old-format'", [json.dumps(old)])

    again = run(conn, command, site, key="old-format")
    assert again.replayed and again.position == first.position
    assert again.warnings == (
        StockWarning(
            code="negative_stock",
            part_id=site.part,
            warehouse_id=site.a,
            resulting_stock=D("-4"),
            detail=warning.detail,
        ),
    )
