"""A command naming a warehouse or part that does not exist leaves no stock level row for it.

`ledger_stock_levels` has no foreign key: the read-and-lock must not create a level row for a pair
whose warehouse or part is unknown, since a refusal may still commit its transaction (a keyed one
keeps the refusal under its key; a batch commits its other commands' appends).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

import pytest

from ledger import errors
from ledger.commands import CountedItem, CountStock, CreateStock, StockCommand
from ledger.policy import Policy
from ledger.postgres.context import MANY_LEVELS
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db
D = Decimal
KEYED = pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])


def levels_naming(conn: Conn, unknown: UUID) -> int:
    """How many level rows name this (unknown) id as their warehouse or part."""
    row = conn.execute(
        "SELECT count(*) FROM ledger_stock_levels WHERE warehouse_id = %s OR part_id = %s", [unknown, unknown]
    ).fetchone()
    assert row is not None
    return int(row[0])


def metadata(site: Site, keyed: bool) -> CommandMetadata:
    key = f"unknown-{uuid.uuid4()}" if keyed else None
    return CommandMetadata(performed_by_user_id=site.user, idempotency_key=key)


def kept_refusal(conn: Conn, meta: CommandMetadata) -> bool:
    """Whether the command's key holds a refusal (so its transaction committed)."""
    row = conn.execute(
        "SELECT refusal IS NOT NULL FROM ledger_idempotency WHERE key = %s", [meta.idempotency_key]
    ).fetchone()
    return row == (True,)


Case = tuple[StockCommand, type[errors.LedgerError], UUID]  # the command, its refusal, the unknown id


def unknown_warehouse(site: Site) -> Case:
    warehouse = uuid.uuid4()
    command = CreateStock(part_id=site.part, to_warehouse_id=warehouse, quantity=D(1))
    return command, errors.UnknownWarehouse, warehouse


def unknown_part(site: Site) -> Case:
    part = uuid.uuid4()
    command = CreateStock(part_id=part, to_warehouse_id=site.a, quantity=D(1))
    return command, errors.UnknownPart, part


UNKNOWN = pytest.mark.parametrize("unknown", [unknown_warehouse, unknown_part], ids=["warehouse", "part"])


@UNKNOWN
@KEYED
def test_a_refused_command_leaves_no_level_for_an_unknown_pair(
    conn: Conn, site: Site, unknown: Callable[[Site], Case], keyed: bool
) -> None:
    command, refusal, unknown_id = unknown(site)
    meta = metadata(site, keyed)
    with pytest.raises(refusal):
        PostgresLedger(Policy()).execute(conn, command, meta)
    assert kept_refusal(conn, meta) == keyed
    assert levels_naming(conn, unknown_id) == 0


@UNKNOWN
@KEYED
def test_a_refused_command_in_a_batch_that_commits_leaves_no_level_for_an_unknown_pair(
    conn: Conn, site: Site, unknown: Callable[[Site], Case], keyed: bool
) -> None:
    command, refusal, unknown_id = unknown(site)
    accepted = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(2))
    meta = metadata(site, keyed)
    done, refused = PostgresLedger(Policy()).execute_batch(
        conn, [(accepted, metadata(site, False)), (command, meta)]
    )
    assert isinstance(done, CommandResult) and done.position
    assert isinstance(refused, refusal)
    assert kept_refusal(conn, meta) == keyed
    assert levels_naming(conn, unknown_id) == 0


@KEYED
def test_a_refused_stocktake_of_many_levels_leaves_no_level_for_an_unknown_pair(
    conn: Conn, site: Site, keyed: bool
) -> None:
    """The many-levels form of the lock (a stocktake's hundreds): an unknown warehouse, an unknown part."""
    parts = [site.world.part("consumable") for _ in range(MANY_LEVELS)]
    items = tuple(CountedItem(part_id=p, counted_quantity=D(1)) for p in parts)
    ledger = PostgresLedger(Policy())
    warehouse = uuid.uuid4()
    meta = metadata(site, keyed)
    with pytest.raises(errors.UnknownWarehouse):
        ledger.execute(conn, CountStock(warehouse_id=warehouse, items=items), meta)
    assert kept_refusal(conn, meta) == keyed
    assert levels_naming(conn, warehouse) == 0
    part = uuid.uuid4()
    meta = metadata(site, keyed)
    missing = CountedItem(part_id=part, counted_quantity=D(1))
    with pytest.raises(errors.UnknownPart):
        ledger.execute(conn, CountStock(warehouse_id=site.a, items=(*items, missing)), meta)
    assert kept_refusal(conn, meta) == keyed
    assert levels_naming(conn, part) == 0
