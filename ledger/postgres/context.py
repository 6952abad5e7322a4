"""Load what decide() needs: reference data, movement streams, and the stock levels, locked.

Order matters for the commit-safe reader: every stream is read before this
transaction writes anything (and so before it gets an xid), so an event it
depends on always has a smaller xid than the events it appends. Stock levels
are locked after the stream reads, one row per (warehouse, part), in key order
so that concurrent commands cannot deadlock; nothing takes a global lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger.decide import Needs
from ledger.fold import StockKey
from ledger.postgres.eventstore import Connection, load_streams
from ledger.recorded import RecordedEvent
from ledger.state import MachineInfo, MovementState, PartInfo, UserInfo, WarehouseInfo, movement_state

PARTS = "SELECT id, part_type::text, unit_of_measure, unit_price FROM parts WHERE id = ANY(%s)"
WAREHOUSES = "SELECT id, organization_id, is_active FROM warehouses WHERE id = ANY(%s)"
MACHINES = """
SELECT m.id, m.customer_organization_id, o.organization_type::text, m.status::text
FROM machines m JOIN organizations o ON o.id = m.customer_organization_id
WHERE m.id = ANY(%s)
"""
ACTOR = """
SELECT id, organization_id, is_active AND user_status = 'active' FROM users WHERE id = %s
"""
MOVEMENTS_THIS_YEAR = "SELECT coalesce(sum(movements), 0) FROM ledger_movement_counts WHERE year = %s"
# A no-op update on conflict locks an existing row; a missing one is created (and locked) at zero.
LOCK_LEVELS = """
INSERT INTO ledger_stock_levels (warehouse_id, part_id)
SELECT w, p FROM unnest(%s::uuid[], %s::uuid[]) AS k(w, p) ORDER BY w, p
ON CONFLICT (warehouse_id, part_id) DO UPDATE SET on_hand = ledger_stock_levels.on_hand
RETURNING warehouse_id, part_id, on_hand
"""
ADD_TO_LEVELS = """
UPDATE ledger_stock_levels AS l SET on_hand = l.on_hand + d.delta
FROM unnest(%s::uuid[], %s::uuid[], %s::numeric[]) AS d(w, p, delta)
WHERE l.warehouse_id = d.w AND l.part_id = d.p
"""
COUNT_MOVEMENTS = """
INSERT INTO ledger_movement_counts AS c (year, shard, movements)
VALUES (%s, pg_backend_pid() %% 16, %s)
ON CONFLICT (year, shard) DO UPDATE SET movements = c.movements + EXCLUDED.movements
"""


def load_parts(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, PartInfo]:
    """The parts with these ids (missing ones are simply absent)."""
    rows = conn.execute(PARTS, [list(ids)]).fetchall()
    return {r[0]: PartInfo(id=r[0], part_type=r[1], unit_of_measure=r[2], unit_price=r[3]) for r in rows}


def load_warehouses(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, WarehouseInfo]:
    """The warehouses with these ids."""
    rows = conn.execute(WAREHOUSES, [list(ids)]).fetchall()
    return {r[0]: WarehouseInfo(id=r[0], organization_id=r[1], is_active=r[2]) for r in rows}


def load_machines(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, MachineInfo]:
    """The machines with these ids, with their owner's organization type."""
    rows = conn.execute(MACHINES, [list(ids)]).fetchall()
    return {
        r[0]: MachineInfo(id=r[0], customer_organization_id=r[1], owner_type=r[2], status=r[3]) for r in rows
    }


def load_actor(conn: Connection, user_id: UUID) -> UserInfo | None:
    """The acting user, or None when there is no such user."""
    row = conn.execute(ACTOR, [user_id]).fetchone()
    return None if row is None else UserInfo(id=row[0], organization_id=row[1], is_active=bool(row[2]))


def load_movements(
    conn: Connection, needs: Needs
) -> tuple[dict[UUID, MovementState], dict[str, list[RecordedEvent]]]:
    """The movements the command refers to, and their raw streams (for the stream heads)."""
    from ledger.events import movement_stream

    by_stream = {movement_stream(t): t for t in needs.transaction_ids}
    streams = load_streams(conn, by_stream)
    states: dict[UUID, MovementState] = {}
    for stream_id, events in streams.items():
        state = movement_state((e.stream_version, e.event()) for e in events)
        if state is not None:
            states[by_stream[stream_id]] = state
    return states, streams


def movements_this_year(conn: Connection, year: int) -> int:
    """How many movements were recorded this year (committed ones)."""
    row = conn.execute(MOVEMENTS_THIS_YEAR, [year]).fetchone()
    assert row is not None
    return int(row[0])


def lock_levels(conn: Connection, keys: Iterable[StockKey]) -> dict[StockKey, Decimal]:
    """Lock the stock level rows of `keys` until commit and return their current values."""
    ordered = sorted(keys)
    if not ordered:
        return {}
    rows = conn.execute(LOCK_LEVELS, [[k[0] for k in ordered], [k[1] for k in ordered]]).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def add_to_levels(conn: Connection, changes: dict[StockKey, Decimal]) -> None:
    """Apply net stock changes to the (already locked) level rows."""
    keys = [k for k, delta in changes.items() if delta != 0]
    if keys:
        conn.execute(ADD_TO_LEVELS, [[k[0] for k in keys], [k[1] for k in keys], [changes[k] for k in keys]])


def count_movements(conn: Connection, moment: datetime, movements: int) -> None:
    """Add to this year's movement count (in this connection's shard)."""
    if movements:
        conn.execute(COUNT_MOVEMENTS, [moment.year, movements])
