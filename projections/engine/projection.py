"""What a projection is: the read tables it owns and the set-based SQL that applies one batch of the log.

A batch is the slice of the log between two checkpoints (lo, hi] in the
commit-safe order. Every projection's statements read it through the `batch`
CTE and write their tables with set-based SQL, so applying a million events is
a handful of statements, not a million round trips. The statements run with
unqualified table names, so the same SQL builds the live tables (search_path
public) and the shadow tables of a rebuild or a verify.

Row ids are derived from the log (a movement's transaction id, or a hash of a
stream position), so a rebuild reproduces every row exactly, ids included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ledger.events import EVENT_TYPES, MOVEMENT_TYPES

MOVEMENT_EVENTS = ", ".join(f"'{cls.event_type}'" for cls in MOVEMENT_TYPES)
TRANSACTION_TYPE = (
    "CASE event_type "
    + " ".join(f"WHEN '{cls.event_type}' THEN '{cls.transaction_type}'" for cls in MOVEMENT_TYPES)
    + " END::transaction_type_enum"
)

BATCH_COLUMNS = """position, writer_xid, stream_id, stream_version, event_type, payload,
        performed_by_user_id, recorded_at"""

BATCH = f"""batch AS (
    SELECT {BATCH_COLUMNS}
    FROM ledger_events
    WHERE (writer_xid, position) > (%(lo_xid)s::text::xid8, %(lo_pos)s)
      AND (writer_xid, position) <= (%(hi_xid)s::text::xid8, %(hi_pos)s)
      -- Redundant, but the planner estimates it well: without it a row comparison is estimated
      -- from its first column only, and a batch of thousands looks like a quarter of the log.
      AND writer_xid BETWEEN %(lo_xid)s::text::xid8 AND %(hi_xid)s::text::xid8
)"""


def effective(batch: str) -> str:
    """CTEs: `batch` as given, then `effective`, the movements that change stock in it.

    A movement changes stock when recorded approved, or when approved later
    (then the movement itself, the first event of its stream, says what moves).
    """
    return f"""{batch},
effective AS (
    SELECT b.event_type, b.payload, b.performed_by_user_id, b.recorded_at
    FROM batch b
    WHERE b.event_type IN ({MOVEMENT_EVENTS}) AND b.payload->>'approval_status' = 'approved'
    UNION ALL
    SELECT m.event_type, m.payload, m.performed_by_user_id, b.recorded_at
    FROM batch b JOIN ledger_events m ON m.stream_id = b.stream_id AND m.stream_version = 1
    WHERE b.event_type = 'MovementApproved'
)"""


def stock_changes(batch: str) -> str:
    """CTEs: `batch`, `effective`, then `changes`: (warehouse_id, part_id, delta, recorded_at) rows.

    The SQL twin of ledger.fold.stock_changes: effective movements, and customer
    order shipments (out of the shipping warehouse) and receipts (into the customer's).
    """
    return f"""{effective(batch)},
changes AS (
    SELECT (payload->>'from_warehouse_id')::uuid AS warehouse_id, (payload->>'part_id')::uuid AS part_id,
        -(payload->>'quantity')::numeric AS delta, recorded_at
    FROM effective WHERE payload->>'from_warehouse_id' IS NOT NULL
    UNION ALL
    SELECT (payload->>'to_warehouse_id')::uuid, (payload->>'part_id')::uuid,
        (payload->>'quantity')::numeric, recorded_at
    FROM effective WHERE payload->>'to_warehouse_id' IS NOT NULL
    UNION ALL
    SELECT (b.payload->>'warehouse_id')::uuid, (line->>'part_id')::uuid,
        CASE WHEN b.event_type = 'CustomerOrderShipped' THEN -(line->>'quantity')::numeric
             ELSE (line->>'quantity')::numeric END,
        b.recorded_at
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type IN ('CustomerOrderShipped', 'CustomerOrderReceived')
)"""


def date_corrections(table: str, column: str) -> str:
    """SQL that sets `table`.`column` to the latest MovementDateCorrected of each row's movement.

    Run after the statements that insert the rows. It looks at the movements the batch corrects
    or approves: a row of part_usage or stock_adjustments appears only when its movement takes
    effect, perhaps batches after the correction. Later corrections win; none beyond the batch's
    end is read, so a rebuild or a verify up to a checkpoint sees what the workers saw.
    """
    return f"""
WITH {BATCH},
touched AS (
    SELECT DISTINCT stream_id FROM batch WHERE event_type IN ('MovementDateCorrected', 'MovementApproved')
),
latest AS (
    SELECT DISTINCT ON (e.stream_id) (e.payload->>'transaction_id')::uuid AS id,
        (e.payload->>'transaction_date')::timestamptz AS corrected
    FROM touched t JOIN ledger_events e ON e.stream_id = t.stream_id
    WHERE e.event_type = 'MovementDateCorrected'
      AND (e.writer_xid, e.position) <= (%(hi_xid)s::text::xid8, %(hi_pos)s)
    ORDER BY e.stream_id, e.stream_version DESC
)
UPDATE {table} r SET {column} = l.corrected FROM latest l WHERE r.id = l.id
"""


EFFECTIVE = effective(BATCH)
STOCK_CHANGES = stock_changes(BATCH)

INVENTORY_ID = "md5({warehouse}::text || '/' || {part}::text)::uuid"

QUOTED = re.compile(r"'(\w+)'")
# A statement's first line may narrow the event types it concerns to fewer than it names (`concerning`).
CONCERNS = re.compile(r"\A-- concerns: ([\w, ]+)\n")


def concerning(types: tuple[str, ...], statement: str) -> str:
    """`statement`, said to change nothing for a batch holding none of `types`.

    For a statement on `effective` that keeps one movement type: `effective` names every movement
    type (and MovementApproved), so by its names alone it would run for every batch of movements
    and find nothing in most (about a third of a projector step's statements under a load of
    creations, issue 12). `types` must cover every event that can bring the statement rows: the
    movement's own type and MovementApproved (a pending one approved later).
    """
    unknown = set(types) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"not event types: {sorted(unknown)}")
    return f"-- concerns: {', '.join(types)}\n{statement}"


def named_event_types(statements: tuple[str, ...]) -> frozenset[str] | None:
    """The stored event names quoted in `statements`, or None when one of them names none.

    Every statement filters the batch on the event types it names (tests/projections/
    test_payload_contract.py holds each payload key to those events), so a batch holding none of
    them changes nothing; a statement naming none may read any event. A statement made by
    `concerning` counts the types it was given instead.
    """
    found: set[str] = set()
    for statement in statements:
        declared = CONCERNS.match(statement)
        if declared is not None:
            found |= {t.strip() for t in declared.group(1).split(",")}
            continue
        named = {word for word in QUOTED.findall(statement) if word in EVENT_TYPES}
        if not named:
            return None
        found |= named
    return frozenset(found)


@dataclass(frozen=True)
class Table:
    """A read table a projection owns: its name, its key, and columns verify does not compare."""

    name: str
    key: tuple[str, ...] = ("id",)
    not_compared: tuple[str, ...] = ()


@dataclass(frozen=True)
class Projection:
    """A named projection: its tables (parents first), its batch statements, what it must follow."""

    name: str
    tables: tuple[Table, ...]
    statements: tuple[str, ...]
    depends_on: tuple[str, ...] = ()

    @cached_property
    def event_types(self) -> frozenset[str] | None:
        """The events its statements read (None: any); a batch with none of them only moves the checkpoint."""
        return named_event_types(self.statements)

    @property
    def table_names(self) -> tuple[str, ...]:
        """The names of the tables it owns, parents first."""
        return tuple(t.name for t in self.tables)
