"""Rebuild projections from position 0 into shadow tables, then swap them in atomically.

Readers keep using the live tables, untouched, while the shadow copies in the
schema `abparts_rebuild` are built from the log. The swap is one transaction:
it takes the swap lock exclusively (live workers pause after their current
batch), brings the shadows up to the log's head, writes the rows that differ
into the live tables and moves the checkpoints; readers see the old tables
until it commits and the new ones after. Interrupted before the swap, a rebuild
resumes from the shadow checkpoints the next time it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from psycopg import sql

from ledger.postgres.connection import Connection
from ledger.recorded import LogCheckpoint
from projections.engine.projection import Projection
from projections.engine.runner import (
    ANNOUNCE,
    CHECKPOINTS,
    SWAP_LOCK,
    apply_batch,
    checkpoint,
    ensure_checkpoints,
)
from projections.tools.progress import Progress
from projections.tools.shadow_tables import create_copies, sync_into_live, tables_of

SHADOW = "abparts_rebuild"
REMAINING = """
SELECT count(*) FROM ledger_events WHERE (writer_xid, position) > (%s::text::xid8, %s)
"""
MOVE_CHECKPOINT = """
INSERT INTO public.projection_checkpoints (name, writer_xid, position, events_applied, updated_at)
SELECT name, writer_xid, position, events_applied, now() FROM abparts_rebuild.projection_checkpoints
WHERE name = %s
ON CONFLICT (name) DO UPDATE SET writer_xid = EXCLUDED.writer_xid, position = EXCLUDED.position,
    events_applied = EXCLUDED.events_applied, updated_at = now()
"""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did."""

    projections: tuple[str, ...]
    events: int
    resumed_from: LogCheckpoint


def rebuild(
    conn: Connection, projections: tuple[Projection, ...], out: TextIO, batch_size: int = 50_000
) -> RebuildResult:
    """Rebuild `projections` (autocommit connection) and swap them in; return what was done."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SHADOW)))
    create_copies(conn, SHADOW, projections)
    conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(SHADOW)))
    try:
        ensure_checkpoints(conn, projections)
        start = min(checkpoint(conn, p.name) for p in projections)
        row = conn.execute(REMAINING, [start.transaction_id, start.position]).fetchone()
        total = row[0] if row else 0
        label = "rebuild " + ", ".join(p.name for p in projections)
        with Progress(total, out, label) as progress:
            done = 0
            # Up to the head as it was at the start: under a steady load the head moves on for ever,
            # and the swap below brings the shadows up to wherever it is then.
            while done < total:
                with conn.transaction():
                    applied = _round(conn, projections, batch_size)
                done += applied
                progress.update(done)
                if applied == 0:
                    break
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [SWAP_LOCK])
                while applied := _round(conn, projections, batch_size):
                    done += applied
                sync_into_live(conn, SHADOW, projections)
                for projection in projections:
                    conn.execute(MOVE_CHECKPOINT, [projection.name])
                    conn.execute(ANNOUNCE, [CHECKPOINTS, projection.name])  # min_position waits look again
            progress.update(done, final=True)
    finally:
        conn.execute("RESET search_path")
    _drop_shadow(conn, projections)
    return RebuildResult(tuple(p.name for p in projections), done, start)


def _round(conn: Connection, projections: tuple[Projection, ...], batch_size: int) -> int:
    """One batch for each projection, dependencies first; the events the first of them took."""
    counts = [apply_batch(conn, p, batch_size) for p in projections]
    return max(counts)


def _drop_shadow(conn: Connection, projections: tuple[Projection, ...]) -> None:
    with conn.transaction():
        for table in reversed(tables_of(projections)):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SHADOW, table.name)))
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE name = ANY(%s)").format(
                sql.Identifier(SHADOW, "projection_checkpoints")
            ),
            [[p.name for p in projections]],
        )
