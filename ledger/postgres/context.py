"""Load what decide() needs in one statement: reference data, counts, an earlier result, locked levels.

Order matters for the commit-safe reader: every stream is read before this
transaction writes anything (and so before it gets an xid), so an event it
depends on always has a smaller xid than the events it appends. The stream
reads come first (their own statement, or none); then one statement reads the
reference rows with its snapshot and, in the same statement, locks the stock
level rows: its xid is assigned while that statement runs, after its snapshot
was taken, so the order above holds. Stock levels are locked one row per
(warehouse, part), in key order (the existing ones, then those it creates) so that
concurrent commands cannot deadlock;
a missing row is created (and locked) at zero; a row locked after waiting for
another writer returns that writer's committed value. Nothing takes a global lock.
Only levels whose warehouse and part exist are locked or created: a refused command's transaction
may commit (a keyed refusal, a batch's others), and `ledger_stock_levels` has no foreign key.

The statement also takes the transaction's xid when it locks nothing (the `x`
row): then every command has its xid before its write draws log positions, so
a balance snapshot's mark (the head position, then the next xid) always
counts a transaction that holds a position at or below the head as running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from ledger.errors import ConcurrencyConflict
from ledger.events import movement_stream
from ledger.fold import StockKey
from ledger.needs import Found, Needs, Streams
from ledger.orders.state import OrderState, order_state
from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import load_streams
from ledger.postgres.wire import Statement, execute
from ledger.postgres.wire import text_array as text_array  # the tests' and commit.py's name for it
from ledger.recorded import RecordedEvent
from ledger.state import (
    MachineInfo,
    MovementState,
    OrganizationInfo,
    PartInfo,
    UserInfo,
    WarehouseInfo,
    movement_state,
)

# One row per thing read, told apart by `kind`; arrays are sent as text literals (see uuid_array).
# A batch of commands reads everything its commands need (every acting user, every key) with the
# one statement. A level's reserved quantity travels as text in `a`; a key's row holds a result or a
# refusal (`flag`). The levels are locked in one of two ways (`locked`), both in key order:
# - a few (a command's one or two levels, a batch's handful): INSERT ... ON CONFLICT DO UPDATE, a
#   no-op update that locks an existing row or creates a missing one at zero. One node, cheapest
#   for a few rows (about 0.15 ms of PostgreSQL less than the other way for one level).
# - many (a stocktake's hundreds): existing levels with SELECT ... FOR UPDATE (a row lock, not the
#   new row version the no-op update writes, which the write then updates again: a 200-part
#   stocktake's PostgreSQL CPU 5.7 -> 4.7 ms), missing ones created at zero, which locks them too;
#   the missing ones are those `existing` did not find (the rows it read, not an index probe per
#   level again), so `existing` has locked every row it finds before `created` inserts one. A level
#   another writer created after this statement's snapshot is neither found nor created (DO
#   NOTHING): load_and_lock then raises ConcurrencyConflict and the command runs again.
# Either way only the `wanted` levels (warehouse and part exist) are locked; the `x` row counts them.
# A few levels probe parts and warehouses one by one (OFFSET 0 keeps the EXISTS a subplan: as a join a
# generic plan hashes all the parts); many, by semi joins the planner picks for the catalogue: a
# subplan seq-scanned 200 parts per level (a 200-level stocktake's statement 4.8 -> 2.4 ms hashed).
LOCK_FEW = """
WITH wanted AS (
    SELECT w, p FROM unnest(%(lock_w)s::uuid[], %(lock_p)s::uuid[]) AS k(w, p)
    WHERE EXISTS (SELECT FROM warehouses WHERE id = k.w OFFSET 0)
        AND EXISTS (SELECT FROM parts WHERE id = k.p OFFSET 0)
), locked AS (
    INSERT INTO ledger_stock_levels AS l (warehouse_id, part_id)
    SELECT w, p FROM wanted ORDER BY w, p
    ON CONFLICT (warehouse_id, part_id) DO UPDATE SET on_hand = l.on_hand
    RETURNING warehouse_id, part_id, on_hand, reserved
)
"""
LOCK_MANY = """
WITH wanted AS (
    SELECT w, p FROM unnest(%(lock_w)s::uuid[], %(lock_p)s::uuid[]) AS k(w, p)
    WHERE k.w IN (SELECT id FROM warehouses) AND k.p IN (SELECT id FROM parts)
), existing AS (
    SELECT l.warehouse_id, l.part_id, l.on_hand, l.reserved
    FROM ledger_stock_levels l JOIN wanted k ON l.warehouse_id = k.w AND l.part_id = k.p
    ORDER BY l.warehouse_id, l.part_id
    FOR UPDATE OF l
), created AS (
    INSERT INTO ledger_stock_levels AS l (warehouse_id, part_id)
    SELECT w, p FROM wanted k
    WHERE NOT EXISTS (SELECT FROM existing e WHERE e.warehouse_id = k.w AND e.part_id = k.p)
    ORDER BY w, p
    ON CONFLICT (warehouse_id, part_id) DO NOTHING
    RETURNING warehouse_id, part_id, on_hand, reserved
), locked AS (
    SELECT * FROM existing UNION ALL SELECT * FROM created
)
"""
MANY_LEVELS = 32  # from this many levels on, LOCK_MANY
READ = """SELECT 'u'::text AS kind, id, organization_id AS ref, NULL::text AS a, NULL::text AS b,
    NULL::numeric AS n, is_active AND user_status = 'active' AS flag
FROM users WHERE id = ANY(%(users)s::uuid[])
UNION ALL
SELECT 'p', id, NULL, part_type::text, unit_of_measure, unit_price, NULL
FROM parts WHERE id = ANY(%(parts)s::uuid[])
UNION ALL
SELECT 'w', id, organization_id, NULL, NULL, NULL, is_active
FROM warehouses WHERE id = ANY(%(warehouses)s::uuid[])
UNION ALL
SELECT 'm', m.id, m.customer_organization_id, o.organization_type::text, m.status::text, NULL, NULL
FROM machines m JOIN organizations o ON o.id = m.customer_organization_id
WHERE m.id = ANY(%(machines)s::uuid[])
UNION ALL
SELECT 'o', id, NULL, organization_type::text, name, NULL, is_active
FROM organizations
WHERE %(organizations)s AND (id = ANY(%(organization_ids)s::uuid[]) OR organization_type = 'oraseas_ee')
UNION ALL
SELECT 'c', NULL, NULL, NULL, NULL, coalesce(sum(movements), 0), NULL
FROM ledger_movement_counts WHERE year = %(year)s
UNION ALL
SELECT 'i', NULL, NULL, key, encode(request_hash, 'hex') || coalesce(result, refusal)::text, NULL,
    refusal IS NOT NULL
FROM ledger_idempotency WHERE key = ANY(%(keys)s::text[])
UNION ALL
SELECT 'l', warehouse_id, part_id, reserved::text, NULL, on_hand, NULL FROM locked
UNION ALL
SELECT 'x', NULL, NULL, NULL, NULL, (SELECT count(*) FROM wanted), pg_current_xact_id() IS NOT NULL
"""
READ_AND_LOCK = LOCK_FEW + READ
READ_AND_LOCK_MANY = LOCK_MANY + READ
_READ_AND_LOCK = Statement("ledger_read_and_lock", READ_AND_LOCK)
_READ_AND_LOCK_MANY = Statement("ledger_read_and_lock_many", READ_AND_LOCK_MANY)


@dataclass
class Wanted:
    """What one read-and-lock statement reads for a batch: the union of its commands' needs."""

    users: set[UUID] = field(default_factory=set)
    part_ids: set[UUID] = field(default_factory=set)
    warehouse_ids: set[UUID] = field(default_factory=set)
    machine_ids: set[UUID] = field(default_factory=set)
    organization_ids: set[UUID] | None = None  # None: no command reads organizations
    lock: set[StockKey] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)

    def add(self, needs: Needs) -> None:
        """Read and lock what `needs` names too."""
        self.part_ids |= needs.part_ids
        self.warehouse_ids |= needs.warehouse_ids
        self.machine_ids |= needs.machine_ids
        self.lock |= needs.lock
        if needs.organization_ids is not None:
            self.organization_ids = (self.organization_ids or set()) | needs.organization_ids

    def covers(self, needs: Needs) -> bool:
        """Whether what was read and locked is all `needs` names."""
        organizations = needs.organization_ids
        return (
            needs.part_ids <= self.part_ids
            and needs.warehouse_ids <= self.warehouse_ids
            and needs.machine_ids <= self.machine_ids
            and needs.lock <= self.lock
            and (
                organizations is None
                or (self.organization_ids is not None and organizations <= self.organization_ids)
            )
        )


@dataclass
class Loaded:
    """What READ_AND_LOCK found."""

    actors: dict[UUID, UserInfo] = field(default_factory=dict)
    parts: dict[UUID, PartInfo] = field(default_factory=dict)
    warehouses: dict[UUID, WarehouseInfo] = field(default_factory=dict)
    machines: dict[UUID, MachineInfo] = field(default_factory=dict)
    organizations: dict[UUID, OrganizationInfo] = field(default_factory=dict)
    movements_this_year: int = 0
    levels: dict[StockKey, Decimal] = field(default_factory=dict)
    reserved: dict[StockKey, Decimal] = field(default_factory=dict)
    # key: request hash, the result's JSON or the refusal's record, whether it is a refusal
    earlier: dict[str, tuple[bytes, str, bool]] = field(default_factory=dict)


# UUIDs to text in bulk by pydantic's serializer (native code): str(UUID) is Python code, and a
# stocktake turns about a thousand UUIDs into text (its levels' keys twice, its parts).
_UUID_TEXTS = TypeAdapter(list[UUID | None])


def uuid_array(values: Iterable[UUID | None]) -> str:
    """A PostgreSQL array literal of uuids: much cheaper to build than letting the driver adapt a list.

    From their JSON array: a uuid's text holds no quote, comma or brace, and `null` is NULL.
    """
    items = list(values)
    if not items:  # common (no machine, no organization), and the serializer's call costs more
        return "{}"
    return "{" + _UUID_TEXTS.dump_json(items)[1:-1].decode().replace('"', "") + "}"


def load_and_lock(conn: Connection, wanted: Wanted, year: int) -> Loaded:
    """Read the reference rows, this year's movement count and the keys' earlier results; lock the levels.

    Organizations are read only when `wanted.organization_ids` is given (with the Oraseas one).
    """
    keys = list(wanted.lock)  # locked in key order by the statement's ORDER BY (no sort here: slow)
    params = {
        "lock_w": uuid_array(k[0] for k in keys),
        "lock_p": uuid_array(k[1] for k in keys),
        "users": uuid_array(wanted.users),
        "parts": uuid_array(wanted.part_ids),
        "warehouses": uuid_array(wanted.warehouse_ids),
        "machines": uuid_array(wanted.machine_ids),
        "organizations": wanted.organization_ids is not None,
        "organization_ids": uuid_array(wanted.organization_ids or ()),
        "year": year,
        "keys": text_array(wanted.keys),
    }
    loaded = Loaded()
    known = 0
    same = _interned(wanted, keys)
    statement = _READ_AND_LOCK_MANY if len(keys) >= MANY_LEVELS else _READ_AND_LOCK
    for kind, row_id, row_ref, a, b, n, flag in execute(conn, statement, params, read=True).fetchall():
        id_: Any = same.get(row_id.int, row_id) if row_id is not None else None
        ref: Any = same.get(row_ref.int, row_ref) if row_ref is not None else None
        if kind == "l":
            loaded.levels[(id_, ref)] = n
            loaded.reserved[(id_, ref)] = Decimal(a)
        elif kind == "p":
            loaded.parts[id_] = PartInfo(id=id_, part_type=a, unit_of_measure=b, unit_price=n)
        elif kind == "w":
            loaded.warehouses[id_] = WarehouseInfo(id=id_, organization_id=ref, is_active=flag)
        elif kind == "u":
            loaded.actors[id_] = UserInfo(id=id_, organization_id=ref, is_active=bool(flag))
        elif kind == "m":
            loaded.machines[id_] = MachineInfo(id=id_, customer_organization_id=ref, owner_type=a, status=b)
        elif kind == "o":
            loaded.organizations[id_] = OrganizationInfo(id=id_, organization_type=a, name=b, is_active=flag)
        elif kind == "c":
            loaded.movements_this_year = int(n)
        elif kind == "i":
            loaded.earlier[a] = (bytes.fromhex(b[:64]), b[64:], bool(flag))
        elif kind == "x":
            known = int(n)  # the levels whose warehouse and part exist: each one locked
    if len(loaded.levels) != known:
        raise ConcurrencyConflict("a concurrent writer created a stock level first; try again")
    return loaded


def _interned(wanted: Wanted, keys: list[StockKey]) -> dict[int, UUID]:
    """The commands' own UUID objects by value: rows read back as these very objects, so the
    decision's dictionaries (levels by (warehouse, part), parts by id) match by identity instead
    of calling UUID.__eq__, which is Python code, twice per key."""
    same: dict[int, UUID] = {}
    for ids in (wanted.users, wanted.part_ids, wanted.warehouse_ids, wanted.machine_ids):
        for value in ids:
            same[value.int] = value
    for warehouse, part in keys:
        same.setdefault(warehouse.int, warehouse)
        same.setdefault(part.int, part)
    return same


def load_streams_of(conn: Connection, streams: Streams) -> tuple[dict[str, list[RecordedEvent]], Found]:
    """Read the command's streams in one statement (none when it reads none); fold them into states.

    The raw streams come back too: the append chains after their heads.
    """
    movement_ids = {movement_stream(t): t for t in streams.transaction_ids}
    raw = load_streams(conn, [*movement_ids, *streams.order_streams])
    movements: dict[UUID, MovementState] = {}
    orders: dict[UUID, OrderState] = {}
    for stream_id, events in raw.items():
        pairs = ((e.stream_version, e.event()) for e in events)
        if stream_id in movement_ids:
            movement = movement_state(pairs, events[0].metadata.performed_by_user_id if events else None)
            if movement is not None:
                movements[movement_ids[stream_id]] = movement
        elif (order := order_state(pairs)) is not None:
            orders[order.order_id] = order
    return raw, Found(movements=movements, orders=orders)


def load_movements(
    conn: Connection, transaction_ids: Iterable[UUID]
) -> tuple[dict[UUID, MovementState], dict[str, list[RecordedEvent]]]:
    """The movements with these ids, and their raw streams (for the stream heads)."""
    raw, found = load_streams_of(conn, Streams(transaction_ids=frozenset(transaction_ids)))
    return dict(found.movements), raw


def number_array(values: Iterable[int | Decimal]) -> str:
    """A PostgreSQL array literal of numbers (their decimal text)."""
    return "{" + ",".join(str(v) for v in values) + "}"
