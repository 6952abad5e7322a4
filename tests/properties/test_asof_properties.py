"""Stock at a past moment or position from the balance snapshots equals the Python fold of the log.

For any sequence of commands recorded by a clock that mostly runs forward but
sometimes goes back (recorded_at is the writer's clock, not the log's order),
with snapshots taken at arbitrary points or not at all, the SQL answer
(projections.tools.snapshots) equals ledger.postgres.history.stock_at, the fold of
the log prefix, at every event's moment, between them, before the first and
after the last; for every warehouse and for one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.policy import Policy
from ledger.postgres.history import stock_at
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.tools.snapshot_taking import advance
from projections.tools.snapshots import stock_at_moment, stock_at_position
from tests.fixtures.database import own_database
from tests.fixtures.ledger import Conn, make_site
from tests.fixtures.world import World
from tests.properties.test_ledger_properties import operations, to_command

pytestmark = [pytest.mark.db, pytest.mark.slow]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE = timedelta(microseconds=1)

# Per command: how far the clock moves (mostly forward, sometimes back), and whether a snapshot follows.
steps = st.lists(
    st.tuples(
        st.integers(-90_000_000, 3_600_000_000).map(lambda us: timedelta(microseconds=us)), st.booleans()
    ),
    min_size=20,
    max_size=20,
)


@pytest.fixture(scope="module")
def log_db(server_url: str, template_db: str) -> Iterator[Conn]:
    """One database for the module: its log and its snapshots grow from example to example."""
    with own_database(server_url, template_db, "abparts_asof") as conn:
        yield conn


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations(),
    clock=steps,
    snapshot_every=st.integers(1, 6),
    probes=st.lists(st.floats(0, 1), max_size=8),
)
def test_the_snapshot_answer_is_the_fold(
    log_db: Conn,
    ops: list[tuple[Any, ...]],
    clock: list[tuple[timedelta, bool]],
    snapshot_every: int,
    probes: list[float],
) -> None:
    conn = log_db
    site = make_site(World(conn))
    moment = [T0]
    ledger = PostgresLedger(Policy(approval_quantity_threshold=Decimal(15)), clock=lambda: moment[0])
    ids: list[uuid.UUID] = []
    for op, (step, snap) in zip(ops, clock, strict=False):
        moment[0] += step
        command = to_command(op, [site.a, site.b], [site.part, site.bulk], ids)
        if command is None:
            continue
        try:
            result = ledger.execute(conn, command, CommandMetadata(site.user))
        except LedgerError:
            continue
        ids.extend(t for t in result.transaction_ids if t not in ids)
        if snap:  # a mark, then (on a later call) the snapshot: at arbitrary points of the log
            advance(conn, interval=snapshot_every)

    rows = conn.execute("SELECT position, recorded_at FROM ledger_events ORDER BY position").fetchall()
    times = sorted({r[1] for r in rows})
    first, last = times[0], times[-1]
    moments = {first - ONE, last + ONE, T0 - ONE}
    for t in times[-12:] + times[:3]:  # this example's events, and the log's first ones
        moments |= {t - ONE, t, t + ONE}
    moments |= {first + (last - first) * p for p in probes}
    for at in sorted(moments):
        assert stock_at_moment(conn, at) == stock_at(conn, as_of=at), at
        assert stock_at_moment(conn, at, site.a) == stock_at(conn, as_of=at, warehouse_id=site.a), at
        assert stock_at_moment(conn, at, site.b, site.bulk) == stock_at(
            conn, as_of=at, warehouse_id=site.b, part_id=site.bulk
        ), at
    head = rows[-1][0]
    for position in {0, head, head - 1, *(int(head * p) for p in probes)}:
        assert stock_at_position(conn, position) == stock_at(conn, position=position), position
        assert stock_at_position(conn, position, site.b) == stock_at(
            conn, position=position, warehouse_id=site.b
        ), position
