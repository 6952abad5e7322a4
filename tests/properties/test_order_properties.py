"""Random order flows mixed with other movements: stock is conserved; order projections rebuild exactly.

For every part: the stock in all warehouses plus the quantity in transit equals
what was created (including supplier receipts) minus what was consumed plus
the net adjustments. Counted from the log's events, independently of the
projections, and compared with them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.commands import AdjustStock, ConsumeStock, CreateStock
from ledger.errors import LedgerError
from ledger.events import StockAdjusted, StockConsumed, StockCreated
from ledger.orders import commands as c
from ledger.policy import Policy
from ledger.postgres.reader import follow
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.registry import ALL, select
from projections.tools.rebuild import rebuild
from projections.tools.verify import verify
from tests.fixtures.ledger import Conn
from tests.fixtures.world import World
from tests.projections.conftest import catch_up, inventory

pytestmark = [pytest.mark.db, pytest.mark.slow]
D = Decimal
ORDER_TABLES = ("customer_orders", "customer_order_items", "supplier_orders", "supplier_order_items")


@pytest.fixture(scope="module")
def trade_db(server_url: str, template_db: str) -> Iterator[tuple[Conn, dict[str, Any]]]:
    """One database with Oraseas EE (two depots), a customer (one store), a supplier and two parts."""
    from tests.fixtures.database import _clone, _drop, _with_dbname

    name = _clone(server_url, template_db, "abparts_orders")
    with psycopg.connect(_with_dbname(server_url, name), autocommit=True) as conn:
        world = World(conn)
        oraseas, customer = world.organization("oraseas_ee"), world.organization("customer")
        yield (
            conn,
            {
                "oraseas": oraseas,
                "user": world.user(oraseas),
                "customer": customer,
                "supplier": world.organization("supplier", parent=oraseas),
                "depots": [world.warehouse(oraseas), world.warehouse(oraseas)],
                "store": world.warehouse(customer),
                "parts": [world.part("consumable"), world.part("bulk_material", unit="litres")],
            },
        )
    _drop(server_url, name)


step = st.tuples(
    st.sampled_from(["create", "consume", "adjust", "order", "ship", "receive", "supply", "cancel"]),
    st.integers(0, 1),  # part
    st.integers(0, 1),  # depot
    st.integers(1, 9),  # quantity
    st.integers(0, 20),  # which order
)


def command_for(op: tuple[str, int, int, int, int], w: dict[str, Any], orders: list[UUID]) -> Any:
    kind, p, d, q, pick = op
    part, depot, quantity = w["parts"][p], w["depots"][d], D(q)
    if kind == "create":
        return CreateStock(part_id=part, to_warehouse_id=depot, quantity=quantity)
    if kind == "consume":
        return ConsumeStock(part_id=part, from_warehouse_id=depot, quantity=quantity)
    if kind == "adjust":
        return AdjustStock(
            warehouse_id=depot,
            part_id=part,
            quantity_adjusted=quantity * (1 if q % 2 else -1),
            reason_code="count",
        )
    if kind == "order":
        return c.RequestCustomerOrder(
            customer_organization_id=w["customer"], items=(c.OrderItem(part_id=part, quantity=quantity),)
        )
    if kind == "supply":
        return c.RequestSupplierOrder(
            ordering_organization_id=w["oraseas"],
            supplier_organization_id=w["supplier"],
            items=(c.OrderItem(part_id=part, quantity=quantity),),
        )
    if not orders:
        return None
    order_id = orders[pick % len(orders)]
    moved = (c.MoveItem(part_id=part, quantity=quantity),)
    if kind == "ship":
        return c.ShipCustomerOrder(order_id=order_id, warehouse_id=depot, items=moved)
    if kind == "receive":
        return c.ReceiveCustomerOrder(order_id=order_id, warehouse_id=w["store"], items=moved)
    return c.CancelCustomerOrder(order_id=order_id)


def conservation(conn: Conn, parts: list[UUID]) -> dict[UUID, tuple[Decimal, Decimal]]:
    """Per part: (held + in transit, per the projections; created - consumed + adjusted, per the log)."""
    expected = dict.fromkeys(parts, D(0))
    for recorded in follow(conn):
        if recorded.event_type not in ("StockCreated", "StockConsumed", "StockAdjusted"):
            continue
        event = recorded.event()
        if isinstance(event, StockCreated | StockConsumed | StockAdjusted) and event.part_id in expected:
            sign = -1 if isinstance(event, StockConsumed) else 1
            change = event.quantity_adjusted if isinstance(event, StockAdjusted) else event.quantity
            expected[event.part_id] += sign * change
    held: dict[UUID, Decimal] = dict.fromkeys(parts, D(0))
    for (_, part), quantity in inventory(conn).items():
        if part in held:
            held[part] += quantity
    for part, transit in conn.execute(
        "SELECT part_id, sum(shipped_quantity - received_quantity) FROM customer_order_items GROUP BY part_id"
    ).fetchall():
        if part in held:
            held[part] += transit
    return {p: (held[p], expected[p]) for p in parts}


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(step, min_size=1, max_size=25))
def test_stock_is_conserved_through_order_flows(
    trade_db: tuple[Conn, dict[str, Any]], ops: list[Any]
) -> None:
    conn, w = trade_db
    ledger = PostgresLedger(Policy(approval_value_threshold=None))
    metadata = CommandMetadata(performed_by_user_id=w["user"])
    orders: list[UUID] = []
    for op in ops:
        command = command_for(op, w, orders)
        if command is None:
            continue
        try:
            if isinstance(command, c.ShipCustomerOrder):  # ship only confirmed orders: confirm first
                ledger.execute(conn, c.ConfirmCustomerOrder(order_id=command.order_id), metadata)
        except LedgerError:
            pass
        try:
            result = ledger.execute(conn, command, metadata)
        except LedgerError:
            continue
        if isinstance(command, c.RequestCustomerOrder) and result.order_id:
            orders.append(result.order_id)
        if isinstance(command, c.RequestSupplierOrder) and result.order_id:
            supplied = result.order_id
            ledger.execute(conn, c.PlaceSupplierOrder(order_id=supplied), metadata)
            half = command.items[0].quantity // 2
            for part_quantity in (half, command.items[0].quantity - half):
                if part_quantity:
                    receipt = c.ReceiveSupplierOrder(
                        order_id=supplied,
                        warehouse_id=w["depots"][0],
                        items=(c.MoveItem(part_id=command.items[0].part_id, quantity=part_quantity),),
                    )
                    ledger.execute(conn, receipt, metadata)
    catch_up(conn, 7)
    for held, expected in conservation(conn, w["parts"]).values():
        assert held == expected
    assert verify(conn, ALL).ok
    before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ORDER_TABLES}
    rebuild(conn, select(["customer_orders", "supplier_orders"]), io.StringIO(), batch_size=5)
    assert {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ORDER_TABLES} == before
