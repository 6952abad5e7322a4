"""The baseline: the same read tables folded from the whole log in one set-based statement per table.

The statements write UNLOGGED tables without indexes in the schema
`bench_fold`, with the live tables' column names, so the projections' output
can be compared with them row for row. This is the floor a projector can
hope for: no batches, no checkpoints, no indexes, no WAL.

The fold computes what the projections are meant to compute (see their
docstrings): a rejected movement's status is 'rejected'.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg import sql

from ledger.events import MOVEMENT_TYPES
from ledger.postgres.connection import Connection
from projections.engine.projection import MOVEMENT_EVENTS, TRANSACTION_TYPE
from projections.read_models.inventory import DEFAULT_LEAD_DAYS, SAFETY_DAYS, WINDOW_DAYS

SCHEMA = "bench_fold"

EFFECTIVE = f"""effective AS (
    SELECT event_type, payload, performed_by_user_id, recorded_at FROM ledger_events
    WHERE event_type IN ({MOVEMENT_EVENTS}) AND payload->>'approval_status' = 'approved'
    UNION ALL
    SELECT m.event_type, m.payload, m.performed_by_user_id, d.recorded_at
    FROM ledger_events d JOIN ledger_events m ON m.stream_id = d.stream_id AND m.stream_version = 1
    WHERE d.event_type = 'MovementApproved'
)"""

INVENTORY = f"""
CREATE UNLOGGED TABLE bench_fold.inventory AS
WITH {EFFECTIVE},
changes AS (
    SELECT (payload->>'from_warehouse_id')::uuid AS warehouse_id, (payload->>'part_id')::uuid AS part_id,
        -(payload->>'quantity')::numeric AS delta, recorded_at, event_type
    FROM effective WHERE payload->>'from_warehouse_id' IS NOT NULL
    UNION ALL
    SELECT (payload->>'to_warehouse_id')::uuid, (payload->>'part_id')::uuid,
        (payload->>'quantity')::numeric, recorded_at, event_type
    FROM effective WHERE payload->>'to_warehouse_id' IS NOT NULL
)
SELECT md5(c.warehouse_id::text || '/' || c.part_id::text)::uuid AS id, c.warehouse_id, c.part_id,
    sum(c.delta)::numeric(10, 3) AS current_stock, 0::numeric(10, 3) AS minimum_stock_recommendation,
    p.unit_of_measure, NULL::varchar(50) AS reorder_threshold_set_by,
    max(c.recorded_at) FILTER (WHERE c.event_type = 'StockConsumed') AS last_recommendation_update,
    max(c.recorded_at) AS last_updated, min(c.recorded_at) AS created_at,
    0::numeric(10, 3) AS reserved_stock  -- the generated log reserves nothing
FROM changes c JOIN parts p ON p.id = c.part_id
GROUP BY c.warehouse_id, c.part_id, p.unit_of_measure
"""

CONSUMPTION = f"""
CREATE UNLOGGED TABLE bench_fold.inventory_consumption_daily AS
WITH {EFFECTIVE}
SELECT (payload->>'from_warehouse_id')::uuid AS warehouse_id, (payload->>'part_id')::uuid AS part_id,
    ((payload->>'transaction_date')::timestamptz AT TIME ZONE 'UTC')::date AS day,
    sum((payload->>'quantity')::numeric)::numeric(16, 3) AS quantity
FROM effective
WHERE event_type = 'StockConsumed'
GROUP BY 1, 2, 3
"""

RECOMMENDATION = f"""
UPDATE bench_fold.inventory i
SET minimum_stock_recommendation = least(9999999.999, CASE p.part_type
        WHEN 'consumable' THEN ceil(r.daily * (r.lead + {SAFETY_DAYS}))
        ELSE ceil(r.daily * (r.lead + {SAFETY_DAYS}) * 1000) / 1000 END),
    reorder_threshold_set_by = 'system'
FROM (
    SELECT d.warehouse_id, d.part_id,
        sum(d.quantity) FILTER (WHERE d.day > d.last - {WINDOW_DAYS}) / {WINDOW_DAYS} AS daily,
        coalesce(CASE WHEN p.is_proprietary THEN p.manufacturer_delivery_time_days
                      ELSE p.local_supplier_delivery_time_days END, {DEFAULT_LEAD_DAYS}) AS lead
    FROM (SELECT *, max(day) OVER (PARTITION BY warehouse_id, part_id) AS last
          FROM bench_fold.inventory_consumption_daily) d
    JOIN parts p ON p.id = d.part_id
    GROUP BY d.warehouse_id, d.part_id, p.is_proprietary, p.manufacturer_delivery_time_days,
        p.local_supplier_delivery_time_days
) r JOIN parts p ON p.id = r.part_id
WHERE i.warehouse_id = r.warehouse_id AND i.part_id = r.part_id
"""

TRANSACTIONS = f"""
CREATE UNLOGGED TABLE bench_fold.transactions AS
SELECT (m.payload->>'transaction_id')::uuid AS id, {TRANSACTION_TYPE.replace("event_type", "m.event_type")}
        AS transaction_type,
    (m.payload->>'part_id')::uuid AS part_id, (m.payload->>'from_warehouse_id')::uuid AS from_warehouse_id,
    (m.payload->>'to_warehouse_id')::uuid AS to_warehouse_id, (m.payload->>'machine_id')::uuid AS machine_id,
    (m.payload->>'quantity')::numeric(10, 3) AS quantity, (m.payload->>'unit_of_measure')::varchar(50)
        AS unit_of_measure,
    m.performed_by_user_id, (m.payload->>'transaction_date')::timestamptz AS transaction_date,
    m.payload->>'notes' AS notes, (m.payload->>'reference_number')::varchar(100) AS reference_number,
    (m.payload->>'requires_approval')::boolean AS requires_approval,
    (CASE d.event_type WHEN 'MovementApproved' THEN 'approved' WHEN 'MovementRejected' THEN 'rejected'
        ELSE m.payload->>'approval_status' END)::varchar(50) AS approval_status,
    m.recorded_at AS created_at
FROM ledger_events m
LEFT JOIN ledger_events d ON d.stream_id = m.stream_id AND d.stream_version > 1
    AND d.event_type IN ('MovementApproved', 'MovementRejected')
WHERE m.event_type IN ({MOVEMENT_EVENTS})
"""

PART_USAGE = f"""
CREATE UNLOGGED TABLE bench_fold.part_usage AS
WITH {EFFECTIVE}
SELECT (payload->>'transaction_id')::uuid AS id,
    (payload->>'customer_organization_id')::uuid AS customer_organization_id,
    (payload->>'part_id')::uuid AS part_id, (payload->>'transaction_date')::timestamptz AS usage_date,
    (payload->>'quantity')::numeric(10, 3) AS quantity, (payload->>'machine_id')::uuid AS machine_id,
    performed_by_user_id AS recorded_by_user_id, (payload->>'from_warehouse_id')::uuid AS warehouse_id,
    payload->>'notes' AS notes, recorded_at AS created_at, recorded_at AS updated_at
FROM effective
WHERE event_type = 'StockConsumed' AND payload->>'machine_id' IS NOT NULL
"""

ADJUSTMENTS = f"""
CREATE UNLOGGED TABLE bench_fold.stock_adjustments AS
WITH {EFFECTIVE}
SELECT (payload->>'transaction_id')::uuid AS id,
    md5(coalesce(payload->>'from_warehouse_id', payload->>'to_warehouse_id')::uuid::text || '/'
        || (payload->>'part_id')::uuid::text)::uuid AS inventory_id,
    performed_by_user_id AS user_id, (payload->>'transaction_date')::timestamptz AS adjustment_date,
    (CASE WHEN payload->>'from_warehouse_id' IS NOT NULL
        THEN -(payload->>'quantity')::numeric ELSE (payload->>'quantity')::numeric END)::numeric(10, 3)
        AS quantity_adjusted,
    (payload->>'reason_code')::varchar(100) AS reason_code, payload->>'notes' AS notes,
    recorded_at AS created_at, recorded_at AS updated_at
FROM effective
WHERE event_type = 'StockAdjusted'
"""

APPROVALS = """
CREATE UNLOGGED TABLE bench_fold.transaction_approvals AS
SELECT md5(stream_id || ':' || stream_version)::uuid AS id,
    (payload->>'transaction_id')::uuid AS transaction_id,
    performed_by_user_id AS approver_id,
    (CASE event_type WHEN 'MovementApproved' THEN 'approved' ELSE 'rejected' END)
        ::transaction_approval_status_enum AS status,
    payload->>'notes' AS notes, recorded_at AS created_at
FROM ledger_events
WHERE event_type IN ('MovementApproved', 'MovementRejected')
"""

STATEMENTS: tuple[tuple[str, str], ...] = (
    ("inventory", INVENTORY),
    ("inventory_consumption_daily", CONSUMPTION),
    ("inventory (recommendation)", RECOMMENDATION),
    ("transactions", TRANSACTIONS),
    ("part_usage", PART_USAGE),
    ("stock_adjustments", ADJUSTMENTS),
    ("transaction_approvals", APPROVALS),
)
TABLES = (
    "inventory",
    "inventory_consumption_daily",
    "transactions",
    "part_usage",
    "stock_adjustments",
    "transaction_approvals",
)
assert len(MOVEMENT_TYPES) == 4  # the fold knows these four movement kinds

COLUMNS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position
"""


@dataclass(frozen=True)
class FoldResult:
    """How long each baseline statement took, in seconds."""

    seconds: dict[str, float]

    @property
    def total(self) -> float:
        """All statements together."""
        return sum(self.seconds.values())


def fold(conn: Connection) -> FoldResult:
    """Drop any previous fold and fold the whole log into `bench_fold` (autocommit connection)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    seconds: dict[str, float] = {}
    for name, statement in STATEMENTS:
        started = time.perf_counter()
        conn.execute(statement, prepare=False)
        seconds[name] = time.perf_counter() - started
    return FoldResult(seconds)


def differences(conn: Connection) -> dict[str, int]:
    """Rows that differ between each live read table and its fold (both ways); 0 everywhere when equal."""
    found: dict[str, int] = {}
    for table in TABLES:
        cols = [row[0] for row in conn.execute(COLUMNS, [table]).fetchall()]
        listed = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        live = sql.Identifier("public", table)
        folded = sql.Identifier(SCHEMA, table)
        query = sql.SQL(
            """
            SELECT (SELECT count(*) FROM (SELECT {cols} FROM {live} EXCEPT ALL SELECT {cols} FROM {folded}) a)
                 + (SELECT count(*) FROM (SELECT {cols} FROM {folded} EXCEPT ALL SELECT {cols} FROM {live}) b)
            """
        ).format(cols=listed, live=live, folded=folded)
        row = conn.execute(query).fetchone()
        found[table] = int(row[0]) if row else -1
    return found


def drop(conn: Connection) -> None:
    """Remove the fold's tables."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
