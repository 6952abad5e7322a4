"""Helpers for projection tests: catch every projection up with the log, read the fold of the log."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ledger.events import EVENT_TYPES
from ledger.fold import StockKey, fold_reserved, fold_stock
from ledger.postgres.reader import follow
from projections.engine.runner import apply_batch
from projections.registry import ALL
from tests.fixtures.ledger import Conn


def catch_up(conn: Conn, batch: int = 1000) -> int:
    """Apply everything finished in the log to every projection, as a worker would; the events applied."""
    total = 0
    while True:
        with conn.transaction():
            applied = [apply_batch(conn, p, batch) for p in ALL]
        total += applied[0]
        if not any(applied):
            return total


def log_fold(conn: Conn) -> dict[StockKey, Decimal]:
    """The pure fold of the whole finished log."""
    return fold_stock(e.event() for e in follow(conn) if e.event_type in EVENT_TYPES)


def inventory(conn: Conn, warehouses: list[UUID] | None = None) -> dict[StockKey, Decimal]:
    """The inventory projection's non-zero stock (of some warehouses, or all)."""
    rows = conn.execute(
        "SELECT warehouse_id, part_id, current_stock FROM inventory"
        " WHERE current_stock <> 0 AND (%(w)s::uuid[] IS NULL OR warehouse_id = ANY(%(w)s))",
        {"w": warehouses},
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def log_reserved(conn: Conn) -> dict[StockKey, Decimal]:
    """The pure fold of reserved stock over the whole finished log."""
    return fold_reserved(e.event() for e in follow(conn) if e.event_type in EVENT_TYPES)


def reserved(conn: Conn) -> dict[StockKey, Decimal]:
    """The inventory projection's non-zero reserved stock."""
    rows = conn.execute(
        "SELECT warehouse_id, part_id, reserved_stock FROM inventory WHERE reserved_stock <> 0"
    )
    return {(r[0], r[1]): r[2] for r in rows.fetchall()}
