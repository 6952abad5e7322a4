"""Step several projections in one transaction: a plan per distinct batch, only the statements it concerns.

The worker that keeps every projection (worker.py) steps them all at once, in three round trips
whatever their number: their checkpoints (with the caller's BEGIN and swap lock); one PLAN per
distinct batch (at the head of the log they all stand at one checkpoint: one PLAN); then the
writes, the checkpoints' advance, one NOTIFY naming every projection that advanced, and the
caller's COMMIT. A projection whose dependency stands at its own checkpoint and steps with it
takes that one's batch: the dependency reaches the batch's end in this very transaction, before
the dependent's statements run (they come later in the pipeline). One behind its dependencies is
bounded by where they stand now, as runner.PLAN bounds it, and catches up at the next step.

Of each projection, only the statements that name an event type the batch holds run
(projection.named_event_types: a statement filters the batch on the types it names, and one that
names none always runs); a batch with none of them only moves the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection, named_event_types
from projections.engine.runner import CHECKPOINTS, WORK_MEM, WORK_MEM_FROM, Batch

Place = tuple[int, int]  # (writer_xid, position): a place in the commit-safe order
START: Place = (0, 0)
END: Place = (2**64 - 1, 2**63 - 1)

CHECKPOINTS_OF = (
    "SELECT name, writer_xid::text::bigint, position FROM projection_checkpoints WHERE name = ANY(%s)"
)
# The application_name of the projectors' own sessions (workers, snapshotter): they never append to
# the log, so their transactions hold back no batch (HORIZON).
PROJECTORS = "abparts projector"
# The commit-safe horizon: the oldest transaction still running, the projectors' own left out. Every
# event below it is finished (a running transaction below it is a projector's, which appends none),
# and visible to this statement if committed; no later transaction gets an id below it. Without the
# projectors' sessions left out, each group's step (30-70 ms under load) and each balance snapshot
# held every other group's batches until it committed. A session seen here no longer running is left
# in: that can only lower the horizon.
HORIZON = """horizon AS (
    SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot())) AS xid
    FROM pg_snapshot_xip(pg_current_snapshot()) x
    WHERE x::xid <> ALL (ARRAY(
        SELECT backend_xid FROM pg_stat_activity
        WHERE application_name = %(projectors)s AND backend_xid IS NOT NULL
    ))
)"""
# runner.PLAN with its bounds given and HORIZON: the batch's last event, its size, the event types in
# it, and whether committed events wait beyond the horizon.
PLAN_FROM = f"""
WITH {HORIZON},
next AS (
    SELECT e.writer_xid, e.position, e.event_type FROM ledger_events e
    WHERE (e.writer_xid, e.position) > (%(lo_xid)s::text::xid8, %(lo_pos)s::bigint)
      AND (e.writer_xid, e.position) <= (%(b_xid)s::text::xid8, %(b_pos)s::bigint)
      AND e.writer_xid < (SELECT xid FROM horizon)
    ORDER BY e.writer_xid, e.position
    LIMIT %(limit)s
)
SELECT last.writer_xid::text::bigint, last.position, (SELECT count(*) FROM next),
    (SELECT coalesce(array_agg(DISTINCT event_type), '{{}}') FROM next),
    -- The log's last committed event, from the end of the commit-order index (an EXISTS over the
    -- events from the horizon on was planned as a scan of the whole log, every step): past the
    -- horizon, events wait behind it (the checkpoint always stands below the horizon).
    coalesce((SELECT e.writer_xid FROM ledger_events e ORDER BY e.writer_xid DESC LIMIT 1), '0'::xid8)
        >= (SELECT xid FROM horizon)
FROM (VALUES (1)) one LEFT JOIN LATERAL (
    SELECT writer_xid, position FROM next ORDER BY writer_xid DESC, position DESC LIMIT 1
) last ON true
"""
# The checkpoints' advance and one notification naming them all (runner.announced), in one statement.
ADVANCE_ALL = """
WITH advanced AS (
    INSERT INTO projection_checkpoints AS c (name, writer_xid, position, events_applied)
    SELECT n, x::xid8, p, k FROM unnest(%(names)s::text[], %(xids)s::text[], %(positions)s::bigint[],
        %(counts)s::bigint[]) AS a (n, x, p, k)
    ON CONFLICT (name) DO UPDATE SET writer_xid = EXCLUDED.writer_xid, position = EXCLUDED.position,
        events_applied = c.events_applied + EXCLUDED.events_applied, updated_at = now()
)
SELECT pg_notify(%(channel)s, array_to_string(%(names)s::text[], ','))
"""


def apply_together(conn: Connection, projections: Sequence[Projection], limit: int) -> dict[str, Batch]:
    """Apply up to `limit` new events to each projection, in the caller's transaction and pipeline."""
    wanted = {p.name for p in projections} | {d for p in projections for d in p.depends_on}
    rows = conn.execute(CHECKPOINTS_OF, [sorted(wanted)]).fetchall()
    bounds = batch_bounds(projections, {name: (xid, position) for name, xid, position in rows})
    distinct = list(dict.fromkeys(bounds.values()))
    cursors = [conn.execute(PLAN_FROM, _plan_params(lo, bound, limit)) for lo, bound in distinct]
    plans = {key: cursor.fetchone() for key, cursor in zip(distinct, cursors, strict=True)}
    by_name = {p.name: p for p in projections}
    done: dict[str, Batch] = {}
    moved: dict[str, list[Any]] = {"names": [], "xids": [], "positions": [], "counts": []}
    raised = False
    for name, key in bounds.items():  # dependencies first
        row = plans[key]
        assert row is not None  # one row, always
        hi_xid, hi_pos, count, types, held_back = row
        done[name] = Batch(int(count), bool(held_back))
        if not count:
            continue
        statements = [s for s in by_name[name].statements if _concerns(s, types)]
        if count >= WORK_MEM_FROM and statements and not raised:
            conn.execute(WORK_MEM)
            raised = True
        params = {"lo_xid": key[0][0], "lo_pos": key[0][1], "hi_xid": hi_xid, "hi_pos": hi_pos}
        for statement in statements:
            conn.execute(statement, params)
        for column, value in zip(moved, (name, str(hi_xid), hi_pos, count), strict=True):
            moved[column].append(value)
    if moved["names"]:
        conn.execute(ADVANCE_ALL, {**moved, "channel": CHECKPOINTS})
    return done


def batch_bounds(projections: Sequence[Projection], at: dict[str, Place]) -> dict[str, tuple[Place, Place]]:
    """Each projection's batch as (checkpoint, bound), dependencies first (see the module)."""
    bounds: dict[str, tuple[Place, Place]] = {}
    todo = list(projections)
    while todo:
        waiting = {p.name for p in todo}
        ready = [p for p in todo if not waiting & set(p.depends_on)]
        for projection in ready:
            lo, bound = at.get(projection.name, START), END
            for dependency in projection.depends_on:
                if dependency in bounds and bounds[dependency][0] == lo:
                    bound = min(bound, bounds[dependency][1])  # it steps with its dependency
                else:
                    bound = min(bound, at.get(dependency, START))
            bounds[projection.name] = (lo, bound)
        todo = [p for p in todo if p not in ready]
    return bounds


def _plan_params(lo: Place, bound: Place, limit: int) -> dict[str, Any]:
    return {
        "lo_xid": str(lo[0]),
        "lo_pos": lo[1],
        "b_xid": str(bound[0]),
        "b_pos": bound[1],
        "limit": limit,
        "projectors": PROJECTORS,
    }


@cache
def _named(statement: str) -> frozenset[str] | None:
    return named_event_types((statement,))


def _concerns(statement: str, types: list[str]) -> bool:
    """Whether `statement` may change anything for a batch holding events of `types`."""
    named = _named(statement)
    return named is None or not named.isdisjoint(types)
