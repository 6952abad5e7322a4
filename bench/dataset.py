"""A synthetic log for the benchmark: reference rows and N events written with set-based SQL.

Ids are derived (md5 of a name), so reference rows need no lookups while the
events are generated. Event i of the log is decided by `r = i mod 100`:

    r = 0        a pending movement (creation or transfer over the approval threshold)
    r = 50       the decision on the movement at i - 50 (stream version 2): 2/3 approved, 1/3 rejected
    r = 1..30    creations
    r = 31..60   transfers
    r = 61..87   consumptions, half of them on a machine (with its customer_organization_id)
    r = 88..99   adjustments (decreases and increases) with a reason code

Payloads have exactly the keys of `model_dump(mode="json")` of ledger/events.py
(null where unset). Hashes are placeholders: the benchmark never audits.
Transaction dates (and recorded_at) spread evenly over two years, so the
inventory's 90-day consumption window holds a realistic share of the log.
"""

from __future__ import annotations

from typing import Any

from ledger.events import event_from_stored
from ledger.postgres.connection import Connection

CUSTOMERS = 20
USERS = 60
WAREHOUSES = 100  # warehouse w belongs to customer w mod CUSTOMERS
PARTS = 200  # part k is bulk material (litres) when k mod 5 = 0
MACHINES = 40  # machine m belongs to customer m mod CUSTOMERS
SPAN_SECONDS = 2 * 365 * 86400
REASONS = "ARRAY['damaged', 'lost', 'found', 'stocktake', 'expired', 'correction']"

REFERENCE = f"""
INSERT INTO organizations (id, name, organization_type)
VALUES (md5('bench-org-oraseas')::uuid, 'Bench Oraseas EE', 'oraseas_ee');
INSERT INTO organizations (id, name, organization_type)
SELECT md5('bench-org-' || c)::uuid, 'Bench customer ' || c, 'customer'
FROM generate_series(0, {CUSTOMERS} - 1) c;
INSERT INTO users (id, organization_id, username, password_hash, email, role)
SELECT md5('bench-user-' || u)::uuid, md5('bench-org-' || mod(u, {CUSTOMERS}))::uuid, 'bench-user-' || u, 'x',
    'bench-user-' || u || '@example.com', 'admin'
FROM generate_series(0, {USERS} - 1) u;
INSERT INTO warehouses (id, organization_id, name)
SELECT md5('bench-wh-' || w)::uuid, md5('bench-org-' || mod(w, {CUSTOMERS}))::uuid, 'Bench warehouse ' || w
FROM generate_series(0, {WAREHOUSES} - 1) w;
INSERT INTO parts (id, part_number, name, part_type, is_proprietary, unit_of_measure,
    manufacturer_delivery_time_days, local_supplier_delivery_time_days, unit_price)
SELECT md5('bench-part-' || k)::uuid, 'BENCH-' || k, 'Bench part ' || k,
    CASE WHEN mod(k, 5) = 0 THEN 'bulk_material' ELSE 'consumable' END::part_type_enum, mod(k, 3) = 0,
    CASE WHEN mod(k, 5) = 0 THEN 'litres' ELSE 'pieces' END, 30 + mod(k, 30),
    CASE WHEN mod(k, 4) = 0 THEN NULL ELSE 5 + mod(k, 10) END, 1 + mod(k, 100)
FROM generate_series(0, {PARTS} - 1) k;
INSERT INTO machines (id, customer_organization_id, model_type, name, serial_number)
SELECT md5('bench-machine-' || m)::uuid, md5('bench-org-' || mod(m, {CUSTOMERS}))::uuid, 'V4.0',
    'Bench machine ' || m, 'BENCH-SN-' || m
FROM generate_series(0, {MACHINES} - 1) m;
"""

# h(i, seed): a well-mixed non-negative int from the event index.
EVENTS = f"""
WITH e AS (
    SELECT i, CASE WHEN mod(i, 100) = 50 THEN i - 50 ELSE i END AS j
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) i
),
a AS (
    SELECT i, j, mod(j, 100) AS r,
        (hashint8(j * 8 + 1) & 2147483647) AS h1, (hashint8(j * 8 + 2) & 2147483647) AS h2,
        (hashint8(j * 8 + 3) & 2147483647) AS h3, (hashint8(j * 8 + 4) & 2147483647) AS h4,
        (hashint8(j * 8 + 5) & 2147483647) AS h5,
        timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i * %(step)s) AS at_i,
        timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => j * %(step)s) AS at_j
    FROM e
),
k AS (
    SELECT a.*,
        CASE WHEN r = 0 THEN CASE WHEN mod(j / 100, 2) = 0 THEN 'StockCreated' ELSE 'StockTransferred' END
             WHEN r <= 30 THEN 'StockCreated' WHEN r <= 60 THEN 'StockTransferred'
             WHEN r <= 87 THEN 'StockConsumed' ELSE 'StockAdjusted' END AS movement,
        CASE WHEN mod(i, 100) <> 50 THEN NULL
             WHEN mod(j / 100, 3) = 0 THEN 'MovementRejected' ELSE 'MovementApproved' END AS decision,
        mod(h1, {PARTS}) AS part, mod(h4, {MACHINES}) AS machine,
        r BETWEEN 61 AND 87 AND mod(r, 2) = 0 AS on_machine
    FROM a
),
m AS (
    SELECT k.*,
        md5('bench-tx-' || j)::uuid AS tx,
        CASE WHEN on_machine THEN mod(machine, {CUSTOMERS}) + {CUSTOMERS} * mod(h2, {WAREHOUSES // CUSTOMERS})
             ELSE mod(h2, {WAREHOUSES}) END AS w1,
        CASE WHEN r = 0 THEN 500 + mod(h3, 500) ELSE 1 + mod(h3, 20) END
            * CASE WHEN mod(part, 5) = 0 THEN 1.125 ELSE 1 END AS qty
    FROM k
),
v AS (
    SELECT m.*,
        md5('bench-part-' || part)::uuid AS part_id,
        CASE WHEN mod(part, 5) = 0 THEN 'litres' ELSE 'pieces' END AS unit,
        CASE WHEN movement IN ('StockTransferred', 'StockConsumed')
                  OR (movement = 'StockAdjusted' AND mod(r, 2) = 0)
             THEN md5('bench-wh-' || w1)::uuid END AS from_w,
        CASE WHEN movement IN ('StockCreated', 'StockTransferred')
             THEN md5('bench-wh-' || mod(w1 + 1 + mod(h5, {WAREHOUSES} - 1), {WAREHOUSES}))::uuid
             WHEN movement = 'StockAdjusted' AND mod(r, 2) = 1 THEN md5('bench-wh-' || w1)::uuid END AS to_w,
        CASE WHEN on_machine THEN md5('bench-machine-' || machine)::uuid END AS machine_id,
        CASE WHEN on_machine THEN md5('bench-org-' || mod(machine, {CUSTOMERS}))::uuid END AS customer_id,
        trim_scale(qty)::text AS quantity
    FROM m
)
INSERT INTO ledger_events (stream_id, stream_version, event_type, payload, performed_by_user_id, recorded_at,
    previous_hash, hash)
SELECT 'movement-' || tx, CASE WHEN decision IS NULL THEN 1 ELSE 2 END, coalesce(decision, movement),
    CASE decision
    WHEN 'MovementApproved' THEN jsonb_build_object('notes', 'approved', 'part_id', part_id,
        'quantity', quantity, 'warnings', '[]'::jsonb, 'transaction_id', tx, 'to_warehouse_id', to_w,
        'from_warehouse_id', from_w)
    WHEN 'MovementRejected' THEN jsonb_build_object('notes', 'rejected', 'transaction_id', tx)
    ELSE jsonb_build_object('notes', NULL, 'part_id', part_id, 'quantity', quantity,
        'warnings', '[]'::jsonb, 'machine_id', machine_id, 'transaction_id', tx,
        'approval_status', CASE WHEN r = 0 THEN 'pending' ELSE 'approved' END, 'to_warehouse_id', to_w,
        'unit_of_measure', unit, 'reference_number', NULL,
        'transaction_date', to_char(at_j AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN date_trunc('second', at_j) = at_j THEN '' ELSE to_char(at_j, '.US') END || 'Z',
        'from_warehouse_id', from_w, 'requires_approval', r = 0, 'reverses_transaction_id', NULL)
        || CASE movement
           WHEN 'StockConsumed' THEN jsonb_build_object('customer_organization_id', customer_id)
           WHEN 'StockAdjusted' THEN jsonb_build_object(
               'reason_code', ({REASONS})[1 + mod(h4, 6)],
               'counted_quantity', CASE WHEN mod(h4, 6) = 3 THEN (mod(h5, 50))::text END)
           ELSE '{{}}'::jsonb END
    END,
    md5('bench-user-' || mod(h1 + i - j, {USERS}))::uuid, at_i, %(hash)s, %(hash)s
FROM v
ORDER BY i
"""

SAMPLE = """
SELECT event_type, payload FROM (
    SELECT event_type, payload, row_number() OVER (PARTITION BY event_type ORDER BY position) AS n
    FROM ledger_events WHERE position <= 20000
) s WHERE n <= %s
"""

PLACEHOLDER_HASH = bytes(32)


def create_reference(conn: Connection) -> None:
    """Insert the organizations, users, warehouses, parts and machines the events refer to."""
    with conn.transaction():
        conn.execute(REFERENCE)


def generate(conn: Connection, events: int, per_transaction: int = 10_000) -> None:
    """Append `events` events to the log, `per_transaction` per transaction (so transaction ids vary)."""
    step = max(per_transaction - per_transaction % 100, 100)  # a movement and its decision share a chunk
    params: dict[str, Any] = {"step": SPAN_SECONDS / max(events, 1), "hash": PLACEHOLDER_HASH}
    for lo in range(0, events, step):
        with conn.transaction():
            conn.execute(EVENTS, params | {"lo": lo, "hi": min(lo + step, events)}, prepare=False)
    conn.execute("VACUUM (ANALYZE) ledger_events")


class ShapeMismatch(AssertionError):
    """A generated payload is not what the ledger itself would have stored."""


def check_shapes(conn: Connection, per_type: int = 200) -> int:
    """Validate a sample of each event type with ledger/events.py; return how many were checked.

    Each payload must load into its event class and dump back to exactly the
    stored JSON, the way the ledger writes it (`model_dump(mode="json")`).
    """
    rows = conn.execute(SAMPLE, [per_type]).fetchall()
    for event_type, payload in rows:
        dumped = event_from_stored(event_type, payload).model_dump(mode="json")
        if dumped != payload:
            raise ShapeMismatch(f"{event_type}: generated {payload!r}, the ledger would store {dumped!r}")
    return len(rows)
