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

from dataclasses import dataclass

from ledger.events import MOVEMENT_TYPES

MOVEMENT_EVENTS = ", ".join(f"'{cls.__name__}'" for cls in MOVEMENT_TYPES)
TRANSACTION_TYPE = (
    "CASE event_type "
    + " ".join(f"WHEN '{cls.__name__}' THEN '{cls.transaction_type}'" for cls in MOVEMENT_TYPES)
    + " END::transaction_type_enum"
)

BATCH = """batch AS (
    SELECT position, transaction_id, stream_id, stream_version, event_type, payload,
        performed_by_user_id, recorded_at
    FROM ledger_events
    WHERE (transaction_id, position) > (%(lo_xid)s::text::xid8, %(lo_pos)s)
      AND (transaction_id, position) <= (%(hi_xid)s::text::xid8, %(hi_pos)s)
      -- Redundant, but the planner estimates it well: without it a row comparison is estimated
      -- from its first column only, and a batch of thousands looks like a quarter of the log.
      AND transaction_id BETWEEN %(lo_xid)s::text::xid8 AND %(hi_xid)s::text::xid8
)"""

# Movements that change stock in this batch: recorded approved, or approved now
# (then the movement itself, the first event of its stream, says what moves).
EFFECTIVE = f"""{BATCH},
effective AS (
    SELECT b.event_type, b.payload, b.performed_by_user_id, b.recorded_at
    FROM batch b
    WHERE b.event_type IN ({MOVEMENT_EVENTS}) AND b.payload->>'approval_status' = 'approved'
    UNION ALL
    SELECT m.event_type, m.payload, m.performed_by_user_id, b.recorded_at
    FROM batch b JOIN ledger_events m ON m.stream_id = b.stream_id AND m.stream_version = 1
    WHERE b.event_type = 'MovementApproved'
)"""

INVENTORY_ID = "md5({warehouse}::text || '/' || {part}::text)::uuid"


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

    @property
    def table_names(self) -> tuple[str, ...]:
        """The names of the tables it owns, parents first."""
        return tuple(t.name for t in self.tables)
