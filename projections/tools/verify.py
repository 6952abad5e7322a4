"""Verify: recompute every projection from the log, compare with the live tables, check the hash chains.

Runs in one REPEATABLE READ transaction, so the live tables, their checkpoints
and the log are read at one instant while workers go on. Each projection is
recomputed into temporary tables up to exactly its live checkpoint, with the
same SQL the workers run, and compared row by row; the live stock is also
(on hand and reserved) compared with the pure fold of the log (ledger.fold), the reference the SQL
must match; every movement's current date is one readers can show; and every
stream's hash chain and every seal is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ledger.events import EVENT_TYPES
from ledger.fold import StockKey, apply, reservation_changes
from ledger.postgres.connection import Connection
from ledger.postgres.dates import unreadable_dates
from ledger.postgres.history import stock_at
from ledger.postgres.reader import read_events
from ledger.postgres.seals import audit
from ledger.recorded import START, LogCheckpoint
from projections.engine.projection import Projection
from projections.engine.runner import apply_batch, checkpoint, ensure_checkpoints
from projections.tools.as_happened import misdated_snapshots
from projections.tools.shadow_tables import Difference, compare, create_copies, tables_of

LIVE_STOCK = """SELECT warehouse_id, part_id, current_stock, reserved_stock FROM public.inventory
WHERE current_stock <> 0 OR reserved_stock <> 0"""


@dataclass
class VerifyReport:
    """What verify found: an empty list of problems means the projections and the log agree."""

    checkpoints: dict[str, LogCheckpoint] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    events_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing differs and every chain holds."""
        return not self.differences and not self.problems


def verify(conn: Connection, projections: tuple[Projection, ...], batch_size: int = 50_000) -> VerifyReport:
    """Check `projections` against the log (autocommit connection)."""
    report = VerifyReport()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        report.checkpoints = {p.name: checkpoint(conn, p.name) for p in projections}
        create_copies(conn, None, projections)
        conn.execute("SET LOCAL search_path = pg_temp, public")
        ensure_checkpoints(conn, projections)
        for projection in projections:
            until = report.checkpoints[projection.name]
            while apply_batch(conn, projection, batch_size, until=until):
                pass
        for table in tables_of(projections):
            difference = compare(conn, table, "pg_temp")
            if difference is not None:
                report.differences.append(difference)
        if "inventory" in report.checkpoints:
            report.problems += _compare_with_fold(conn, report.checkpoints["inventory"])
            report.problems += _check_latest_snapshot(conn)
            report.problems += misdated_snapshots(conn)
        report.problems += [
            f"unreadable date: transaction {u.transaction_id} is dated {u.transaction_date}; "
            f"repair it with `abparts repair-date {u.transaction_id} --date ISO --by USERNAME`"
            for u in unreadable_dates(conn)
        ]
        chains = audit(conn)
        report.events_checked = chains.events_checked
        report.problems += chains.problems
    return report


def _compare_with_fold(conn: Connection, until: LogCheckpoint) -> list[str]:
    """Inventory's current_stock and reserved_stock against the pure fold of the log up to `until`."""
    levels: dict[StockKey, Decimal] = {}
    reserved: dict[StockKey, Decimal] = {}
    after = START
    while events := read_events(conn, after, 10_000):
        for event in events:
            if event.checkpoint > until:
                break
            if event.event_type in EVENT_TYPES:
                domain = event.event()
                apply(levels, domain)
                for key, delta in reservation_changes(domain):
                    reserved[key] = reserved.get(key, Decimal(0)) + delta
        else:
            after = events[-1].checkpoint
            continue
        break
    live = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(LIVE_STOCK).fetchall()}
    problems = []
    for key in sorted(levels.keys() | reserved.keys() | live.keys()):
        folded = (levels.get(key, Decimal(0)), reserved.get(key, Decimal(0)))
        found = live.get(key, (Decimal(0), Decimal(0)))
        if folded != found:
            problems.append(
                f"inventory {key[0]}/{key[1]}: current_stock {found[0]}, reserved_stock {found[1]}; "
                f"the fold of the log says {folded[0]}, {folded[1]}"
            )
    return problems


LATEST_SNAPSHOT = """
SELECT s.position, b.warehouse_id, b.part_id, b.quantity
FROM stock_snapshots s LEFT JOIN stock_snapshot_balances b ON b.position = s.position
WHERE s.position = (SELECT max(position) FROM stock_snapshots)
"""


def _check_latest_snapshot(conn: Connection) -> list[str]:
    """The latest balance snapshot must equal the pure fold of the log up to its position."""
    rows = conn.execute(LATEST_SNAPSHOT).fetchall()
    if not rows:
        return []
    position = rows[0][0]
    stored = {(r[1], r[2]): r[3] for r in rows if r[1] is not None}
    folded = stock_at(conn, position=position)
    if stored == folded:
        return []
    keys = sorted(k for k in stored.keys() | folded.keys() if stored.get(k) != folded.get(k))
    return [f"snapshot at position {position}: {len(keys)} balances differ from the fold, e.g. {keys[0]}"]
