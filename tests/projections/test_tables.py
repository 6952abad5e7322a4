"""Each projection's rows, movement by movement: what a user reads after each kind of command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    ConsumeStock,
    CountedItem,
    CountStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    TransferStock,
)
from ledger.policy import Policy
from projections.engine.together import apply_together
from projections.registry import ALL
from tests.fixtures.ledger import Conn, Site, run
from tests.projections.conftest import catch_up, inventory, log_fold

pytestmark = pytest.mark.db
D = Decimal
NEEDS_APPROVAL = Policy(approval_quantity_threshold=D(100))


def test_movements_become_transactions_and_inventory(conn: Conn, site: Site) -> None:
    created = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    moved = run(
        conn,
        TransferStock(
            part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(4), notes="to b"
        ),
        site,
    )
    catch_up(conn)
    assert inventory(conn, [site.a, site.b]) == {(site.a, site.part): D(6), (site.b, site.part): D(4)}
    row = conn.execute(
        "SELECT transaction_type::text, from_warehouse_id, to_warehouse_id, quantity, unit_of_measure,"
        " performed_by_user_id, notes, approval_status, requires_approval FROM transactions WHERE id = %s",
        [moved.transaction_ids[0]],
    ).fetchone()
    assert row == ("transfer", site.a, site.b, D(4), "pieces", site.user, "to b", "approved", False)
    kinds = conn.execute(
        "SELECT transaction_type::text FROM transactions WHERE id = %s", [created.transaction_ids[0]]
    ).fetchone()
    assert kinds == ("creation",)
    unit = conn.execute(
        "SELECT unit_of_measure FROM inventory WHERE warehouse_id = %s AND part_id = %s", [site.b, site.part]
    ).fetchone()
    assert unit == ("pieces",)


def test_a_pending_movement_moves_stock_only_once_approved(conn: Conn, site: Site) -> None:
    result = run(
        conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(500)), site, NEEDS_APPROVAL
    )
    [tid] = result.transaction_ids
    catch_up(conn)
    assert inventory(conn, [site.a]) == {}
    status = "SELECT approval_status, requires_approval FROM transactions WHERE id = %s"
    assert conn.execute(status, [tid]).fetchone() == ("pending", True)

    run(conn, ApproveMovement(transaction_id=tid, notes="ok"), site, NEEDS_APPROVAL)
    catch_up(conn)
    assert inventory(conn, [site.a]) == {(site.a, site.part): D(500)}
    assert conn.execute(status, [tid]).fetchone() == ("approved", True)
    approval = conn.execute(
        "SELECT approver_id, status::text, notes FROM transaction_approvals WHERE transaction_id = %s", [tid]
    ).fetchall()
    assert approval == [(site.approver, "approved", "ok")]  # who decided, not who recorded


def step(conn: Conn) -> None:
    """One step of every projection together, statement by statement as a worker applies them."""
    with conn.pipeline(), conn.transaction():
        apply_together(conn, ALL, 1000)


def test_a_consumption_and_an_adjustment_approved_later_reach_every_table(conn: Conn, site: Site) -> None:
    # The approvals come in a step of their own, holding no consumption or adjustment: the
    # statements that keep one movement type (projection.concerning) must run for it all the same.
    machine = site.world.machine(site.org)
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1000)), site)
    consumed = ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(300), machine_id=machine)
    adjusted = AdjustStock(
        warehouse_id=site.a, part_id=site.part, quantity_adjusted=D(-200), reason_code="damaged"
    )
    held = [run(conn, c, site, NEEDS_APPROVAL).transaction_ids[0] for c in (consumed, adjusted)]
    step(conn)
    counts = (
        "SELECT (SELECT count(*) FROM part_usage WHERE warehouse_id = %(w)s),"
        " (SELECT count(*) FROM stock_adjustments s JOIN inventory i ON i.id = s.inventory_id"
        "  WHERE i.warehouse_id = %(w)s),"
        " (SELECT count(*) FROM inventory_consumption_daily WHERE warehouse_id = %(w)s)"
    )
    assert conn.execute(counts, {"w": site.a}).fetchone() == (0, 0, 0)
    for tid in held:
        run(conn, ApproveMovement(transaction_id=tid), site, NEEDS_APPROVAL)
    step(conn)
    assert conn.execute(counts, {"w": site.a}).fetchone() == (1, 1, 1)
    assert inventory(conn, [site.a]) == {(site.a, site.part): D(500)}


def test_a_rejected_movement_never_moves_stock(conn: Conn, site: Site) -> None:
    [tid] = run(
        conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(500)), site, NEEDS_APPROVAL
    ).transaction_ids
    run(conn, RejectMovement(transaction_id=tid), site, NEEDS_APPROVAL)
    catch_up(conn)
    assert inventory(conn, [site.a]) == {}
    assert conn.execute("SELECT approval_status FROM transactions WHERE id = %s", [tid]).fetchone() == (
        "rejected",
    )
    statuses = conn.execute(
        "SELECT status::text FROM transaction_approvals WHERE transaction_id = %s", [tid]
    ).fetchall()
    assert statuses == [("rejected",)]


def test_consumption_on_a_machine_is_part_usage(conn: Conn, site: Site) -> None:
    machine = site.world.machine(site.org)
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    used = run(
        conn,
        ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(3), machine_id=machine),
        site,
    )
    run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(1)), site)  # no machine
    catch_up(conn)
    rows = conn.execute(
        "SELECT id, customer_organization_id, machine_id, warehouse_id, quantity, recorded_by_user_id"
        " FROM part_usage WHERE part_id = %s",
        [site.part],
    ).fetchall()
    assert rows == [(used.transaction_ids[0], site.org, machine, site.a, D(3), site.user)]
    summary = conn.execute(
        "SELECT total_parts_consumed FROM machine_usage_summary WHERE machine_id = %s", [machine]
    ).fetchone()
    assert summary == (D(3),)


def test_a_reversed_consumption_is_no_longer_part_usage(conn: Conn, site: Site) -> None:
    machine = site.world.machine(site.org)
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    kept, undone = (
        run(
            conn,
            ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(q), machine_id=machine),
            site,
        ).transaction_ids[0]
        for q in (2, 3)
    )
    run(conn, ReverseMovement(transaction_id=undone), site)
    catch_up(conn)
    rows = conn.execute("SELECT id FROM part_usage WHERE machine_id = %s", [machine]).fetchall()
    assert rows == [(kept,)]
    summary = conn.execute(
        "SELECT total_parts_consumed FROM machine_usage_summary WHERE machine_id = %s", [machine]
    ).fetchone()
    assert summary == (D(2),)
    assert inventory(conn, [site.a]) == {(site.a, site.part): D(8)}


def test_adjustments_and_stocktakes_are_signed_stock_adjustments(conn: Conn, site: Site) -> None:
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    run(
        conn,
        AdjustStock(warehouse_id=site.a, part_id=site.part, quantity_adjusted=D(-2), reason_code="damaged"),
        site,
    )
    run(
        conn,
        CountStock(warehouse_id=site.a, items=(CountedItem(part_id=site.part, counted_quantity=D(11)),)),
        site,
    )
    catch_up(conn)
    rows = conn.execute(
        "SELECT a.quantity_adjusted, a.reason_code, a.user_id, i.warehouse_id, i.part_id"
        " FROM stock_adjustments a JOIN inventory i ON i.id = a.inventory_id"
        " WHERE i.warehouse_id = %s ORDER BY a.created_at, a.quantity_adjusted",
        [site.a],
    ).fetchall()
    assert rows == [
        (D(-2), "damaged", site.user, site.a, site.part),
        (D(3), "stocktake", site.user, site.a, site.part),
    ]
    assert inventory(conn, [site.a]) == {(site.a, site.part): D(11)}


def test_a_reversal_is_a_compensating_transaction(conn: Conn, site: Site) -> None:
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
    [moved] = run(
        conn,
        TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(4)),
        site,
    ).transaction_ids
    reversal = run(conn, ReverseMovement(transaction_id=moved), site)
    catch_up(conn)
    assert inventory(conn, [site.a, site.b]) == {(site.a, site.part): D(10)}
    count = conn.execute(
        "SELECT count(*) FROM transactions WHERE id = ANY(%s)", [[moved, *reversal.transaction_ids]]
    ).fetchone()
    assert count == (2,)


def test_inventory_summary_values_stock_at_the_part_price(conn: Conn, site: Site) -> None:
    run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D("2.5")), site)
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(3)), site)  # unpriced
    catch_up(conn)
    row = conn.execute(
        "SELECT total_parts, low_stock_parts, total_value FROM inventory_summary WHERE warehouse_id = %s",
        [site.a],
    ).fetchone()
    assert row == (2, 0, D("31.25"))  # 2.5 litres at 12.50; the unpriced part counts 0


def test_minimum_stock_follows_the_consumption_rate_and_lead_time(conn: Conn, site: Site) -> None:
    conn.execute("UPDATE parts SET local_supplier_delivery_time_days = 23 WHERE id = %s", [site.part])
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1000)), site)
    today = datetime.now(UTC)
    # 45 units in the window and 500 long before it (outside the 90 days before the latest consumption),
    # recorded by a deployment that lets movements be backdated that far.
    backdating = Policy(backdate_window=timedelta(days=365))
    for days_ago, quantity in ((200, 500), (30, 20), (1, 25)):
        when = today - timedelta(days=days_ago)
        run(
            conn,
            ConsumeStock(
                part_id=site.part, from_warehouse_id=site.a, quantity=D(quantity), transaction_date=when
            ),
            site,
            backdating,
        )
    catch_up(conn)
    row = conn.execute(
        "SELECT minimum_stock_recommendation, reorder_threshold_set_by FROM inventory"
        " WHERE warehouse_id = %s AND part_id = %s",
        [site.a, site.part],
    ).fetchone()
    # 45 / 90 days = 0.5 a day, x (23 days lead time + 7 safety) = 15
    assert row == (D(15), "system")


def test_a_later_batch_updates_the_recommendation_unless_it_was_set_by_hand(conn: Conn, site: Site) -> None:
    conn.execute("UPDATE parts SET local_supplier_delivery_time_days = 23 WHERE id = %s", [site.part])
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(1000)), site)
    run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1000)), site)
    catch_up(conn)  # the rows exist before any consumption: the recommendation comes in a later batch
    conn.execute(
        "UPDATE inventory SET minimum_stock_recommendation = 7, reorder_threshold_set_by = 'admin'"
        " WHERE warehouse_id = %s AND part_id = %s",
        [site.b, site.part],
    )
    for warehouse in (site.a, site.b):
        run(conn, ConsumeStock(part_id=site.part, from_warehouse_id=warehouse, quantity=D(45)), site)
    catch_up(conn)
    rows = conn.execute(
        "SELECT warehouse_id, minimum_stock_recommendation, reorder_threshold_set_by,"
        " last_recommendation_update IS NOT NULL, current_stock FROM inventory WHERE part_id = %s",
        [site.part],
    ).fetchall()
    # 45 / 90 days = 0.5 a day, x (23 + 7) = 15 where the system sets it; the hand-set 7 stays.
    assert sorted(rows) == sorted(
        [(site.a, D(15), "system", True, D(955)), (site.b, D(7), "admin", False, D(955))]
    )


def test_every_projection_matches_the_fold_of_the_log(conn: Conn, site: Site) -> None:
    run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=D("7.125")), site)
    catch_up(conn)
    assert inventory(conn) == log_fold(conn)
