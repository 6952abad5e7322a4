"""All projections in one step: dependents step with their dependencies; statements skip what they ignore."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import AdjustStock, ConsumeStock, CreateStock
from projections.engine import freshness
from projections.engine.freshness import wait_until_projected
from projections.engine.projection import BATCH, Projection, concerning
from projections.engine.runner import CHECKPOINTS, announced, checkpoint
from projections.engine.together import END, PROJECTORS, START, apply_together, batch_bounds
from projections.engine.worker import grouped
from projections.read_models.inventory import PROJECTION as INVENTORY
from projections.read_models.stock_adjustments import PROJECTION as ADJUSTMENTS
from projections.registry import ALL
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World
from tests.projections.conftest import inventory, log_fold

D = Decimal

# Fails whenever it runs: a count is a row even over an empty batch.
FAILS_IF_RUN = f"WITH {BATCH} SELECT count(*) / 0 FROM batch WHERE event_type = 'SupplierOrderPlaced'"


def test_a_dependent_steps_with_its_dependency_at_its_checkpoint() -> None:
    bounds = batch_bounds((INVENTORY, ADJUSTMENTS), {"inventory": (7, 3), "stock_adjustments": (7, 3)})
    assert bounds == {"inventory": ((7, 3), END), "stock_adjustments": ((7, 3), END)}


def test_a_dependent_behind_its_dependency_is_bounded_by_where_it_stands() -> None:
    at = {"inventory": (9, 5), "stock_adjustments": (7, 3)}
    assert batch_bounds((INVENTORY, ADJUSTMENTS), at)["stock_adjustments"] == ((7, 3), (9, 5))
    # A dependency it does not step with (another worker's) bounds it too; none at all, at the start.
    assert batch_bounds((ADJUSTMENTS,), at) == {"stock_adjustments": ((7, 3), (9, 5))}
    assert batch_bounds((ADJUSTMENTS,), {}) == {"stock_adjustments": (START, START)}


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own, with a site in it."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        yield conn, make_site(World(conn))


@pytest.mark.db
def test_one_step_brings_every_projection_to_the_head(own: tuple[Conn, Site]) -> None:
    conn, site = own
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    adjusted = AdjustStock(
        warehouse_id=site.a, part_id=site.part, quantity_adjusted=D(-2), reason_code="damaged"
    )
    position = run(conn, adjusted, site).position
    with conn.pipeline(), conn.transaction():
        batches = apply_together(conn, ALL, 1000)
    assert {name: batch.events for name, batch in batches.items()} == {p.name: 2 for p in ALL}
    assert all(checkpoint(conn, p.name).position == position for p in ALL)
    assert inventory(conn) == log_fold(conn) == {(site.a, site.part): D(8)}
    # The adjustment's row found the inventory row it refers to, written earlier in the same step.
    row = conn.execute("SELECT count(*) FROM stock_adjustments").fetchone()
    assert row == (1,)
    with conn.pipeline(), conn.transaction():
        assert all(batch.events == 0 for batch in apply_together(conn, ALL, 1000).values())


@pytest.mark.db
def test_a_statement_naming_none_of_the_batch_events_does_not_run(own: tuple[Conn, Site]) -> None:
    conn, site = own
    position = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site).position
    # Its other statement reads the batch's StockCreated: statement by statement, the other is skipped.
    picky = Projection("picky", (), (FAILS_IF_RUN, *INVENTORY.statements))
    with conn.pipeline(), conn.transaction():
        assert apply_together(conn, (picky,), 1000)["picky"].events == 1
    assert checkpoint(conn, "picky").position == position
    reads_all = Projection("reads_all", (), (FAILS_IF_RUN.rsplit(" WHERE ", 1)[0],))
    with pytest.raises(psycopg.errors.DivisionByZero), conn.pipeline(), conn.transaction():
        apply_together(conn, (reads_all,), 1000)


@pytest.mark.db
def test_a_statement_concerning_fewer_types_than_it_names_runs_only_for_those(
    own: tuple[Conn, Site],
) -> None:
    conn, site = own
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(5)), site)
    # It names StockCreated, but says it concerns consumptions only: a batch of a creation skips it.
    fails_on_creations = FAILS_IF_RUN.replace("SupplierOrderPlaced", "StockCreated")
    narrow = Projection("narrow", (), (concerning(("StockConsumed",), fails_on_creations),))
    with conn.pipeline(), conn.transaction():
        assert apply_together(conn, (narrow,), 1000)["narrow"].events == 1
    run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1)), site)
    with pytest.raises(psycopg.errors.DivisionByZero), conn.pipeline(), conn.transaction():
        apply_together(conn, (narrow,), 1000)  # a batch with a consumption runs it
    with pytest.raises(ValueError):
        concerning(("StockCreatd",), fails_on_creations)


def test_the_hub_groups_each_projection_with_those_it_depends_on() -> None:
    groups = grouped(ALL, 2)
    assert len(groups) == 2
    assert sorted(p.name for g in groups for p in g) == sorted(p.name for p in ALL)
    for group in groups:
        names = [p.name for p in group]
        for projection in group:
            # Its dependencies are in its group, before it.
            assert all(names.index(d) < names.index(projection.name) for d in projection.depends_on)
    assert grouped(ALL, 1) == [ALL]


@pytest.mark.db
@pytest.mark.parametrize("application_name", [PROJECTORS, "abparts serve"])
def test_only_a_writer_s_open_transaction_holds_a_batch_back(
    own: tuple[Conn, Site], fresh_db_url: str, application_name: str
) -> None:
    """Another projector's step (or snapshot) appends nothing: the events after its id are not waited for."""
    conn, site = own
    with psycopg.connect(fresh_db_url, autocommit=True, application_name=application_name) as other:
        with other.transaction():
            other.execute("SELECT pg_current_xact_id()")  # an id older than the append's
            run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(4)), site)
            with conn.pipeline(), conn.transaction():
                batch = apply_together(conn, (INVENTORY,), 1000)["inventory"]
            projector = application_name == PROJECTORS
            assert (batch.events, batch.held_back) == ((1, False) if projector else (0, True))
        with conn.pipeline(), conn.transaction():
            apply_together(conn, (INVENTORY,), 1000)
    assert inventory(conn) == log_fold(conn) == {(site.a, site.part): D(4)}


@pytest.mark.db
def test_a_step_announces_every_advanced_projection_in_one_notification(
    own: tuple[Conn, Site], fresh_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn, site = own
    monkeypatch.setattr(freshness, "LONGEST_LOOK", 30.0)  # no look but the notified ones
    position = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1)), site).position
    assert position is not None
    last = ALL[-1].name  # a wait on any name of the notification, however far down its list, ends
    waited: list[float] = []

    def wait() -> None:
        with psycopg.connect(fresh_db_url, autocommit=True) as reads:
            t0 = time.monotonic()
            assert wait_until_projected(reads, [last], position, timeout=20, notified=True)
            waited.append(time.monotonic() - t0)

    with psycopg.connect(fresh_db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHECKPOINTS}")
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        time.sleep(0.3)  # the wait listens first
        with conn.pipeline(), conn.transaction():
            apply_together(conn, ALL, 1000)
        heard = list(listener.notifies(timeout=1.0))
        waiter.join(20)
    # One notification for the step, not one per projection to every listener; each name in it.
    assert len(heard) == 1
    assert sorted(announced(heard[0].payload)) == sorted(p.name for p in ALL)
    assert waited and waited[0] < 10
