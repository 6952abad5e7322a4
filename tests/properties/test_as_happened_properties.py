"""Stock as it happened and as it was known equals the fold, for any mix of current and backdated movements.

For any sequence of commands whose movements are dated up to the backdating
window before a clock that mostly runs forward, with snapshots at arbitrary
points: stock as of a date (projections.tools.as_happened) equals the fold of
the events that happened by then (ledger.fold.happened_at over the log), with
`known_at` the fold of those recorded by then too, and the projections equal
the fold and a recomputation from the log (verify).
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
from ledger.fold import StockKey, apply, happened_at
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.history import iter_events
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.registry import ALL
from projections.tools.as_happened import stock_happened_by
from projections.tools.snapshot_taking import advance
from projections.tools.verify import verify
from tests.fixtures.database import own_database
from tests.fixtures.ledger import Conn, make_site
from tests.fixtures.world import World
from tests.projections.conftest import catch_up
from tests.properties.test_ledger_properties import operations, to_command

pytestmark = [pytest.mark.db, pytest.mark.slow]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE = timedelta(microseconds=1)
WINDOW = timedelta(days=30)

# Per command: how far the clock moves, how far back its movements are dated, whether a snapshot follows.
steps = st.lists(
    st.tuples(
        st.integers(-3_600, 3 * 86_400).map(lambda s: timedelta(seconds=s)),
        st.one_of(st.just(timedelta(0)), st.integers(0, 30 * 86_400).map(lambda s: timedelta(seconds=s))),
        st.booleans(),
    ),
    min_size=20,
    max_size=20,
)


@pytest.fixture(scope="module")
def log_db(server_url: str, template_db: str) -> Iterator[Conn]:
    """One database for the module: its log and its snapshots grow from example to example."""
    with own_database(server_url, template_db, "abparts_as_happened") as conn:
        yield conn


def folded(conn: Conn, on: datetime, known_at: datetime | None) -> dict[StockKey, Decimal]:
    """The reference: fold the events recorded by `known_at` whose change happened by `on`."""
    levels: dict[StockKey, Decimal] = {}
    for recorded in iter_events(conn, recorded_until=known_at):
        event = recorded.event()
        when = happened_at(event, recorded.recorded_at)
        if when is not None and when <= on:
            apply(levels, event)
    return {k: v for k, v in levels.items() if v != 0}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations(),
    clock=steps,
    snapshot_every=st.integers(1, 6),
    reject=st.booleans(),
    probes=st.lists(st.tuples(st.floats(0, 1), st.one_of(st.none(), st.floats(0, 1))), max_size=6),
)
def test_as_of_a_date_is_the_fold_of_what_happened_by_then(
    log_db: Conn,
    ops: list[tuple[Any, ...]],
    clock: list[tuple[timedelta, timedelta, bool]],
    snapshot_every: int,
    reject: bool,
    probes: list[tuple[float, float | None]],
) -> None:
    conn = log_db
    site = make_site(World(conn))
    moment = [T0]
    policy = Policy(
        negative_stock=NegativeStockPolicy.REJECT if reject else NegativeStockPolicy.WARN,
        approval_quantity_threshold=Decimal(15),
        backdate_window=WINDOW,
    )
    ledger = PostgresLedger(policy, clock=lambda: moment[0])
    ids: list[uuid.UUID] = []
    for op, (step, back, snap) in zip(ops, clock, strict=False):
        moment[0] += step
        command = to_command(op, [site.a, site.b], [site.part, site.bulk], ids)
        if command is None:
            continue
        if "transaction_date" in type(command).model_fields and back:
            command = command.model_copy(update={"transaction_date": moment[0] - back})
        try:
            result = ledger.execute(conn, command, CommandMetadata(site.user))
        except LedgerError:
            continue
        ids.extend(t for t in result.transaction_ids if t not in ids)
        if snap:
            advance(conn, interval=snapshot_every)

    rows = conn.execute(
        "SELECT ledger_happened_at(event_type, payload, recorded_at), recorded_at FROM ledger_events"
    ).fetchall()
    dates = sorted({r[0] for r in rows if r[0] is not None})
    recorded = sorted({r[1] for r in rows})
    ons = {dates[0] - ONE, dates[-1] + ONE, *(t + d for t in dates[-8:] for d in (-ONE, timedelta(0), ONE))}
    checks: set[tuple[datetime, datetime | None]] = {(on, None) for on in ons}
    span, known_span = dates[-1] - dates[0], recorded[-1] - recorded[0]
    for p, k in probes:
        known = None if k is None else recorded[0] + known_span * k
        checks |= {(dates[0] + span * p, known), (dates[-1], known)}
    for on, known in sorted(checks, key=lambda c: (c[0], c[1] or datetime.max.replace(tzinfo=UTC))):
        assert stock_happened_by(conn, on, known) == folded(conn, on, known), (on, known)
    assert stock_happened_by(conn, dates[-1], None, site.a) == {
        k: v for k, v in folded(conn, dates[-1], None).items() if k[0] == site.a
    }
    catch_up(conn)
    report = verify(conn, ALL)
    assert report.ok, (report.differences, report.problems)
