"""For any sequence of orders, reservations and movements, under `reject` or `warn`:

- under `reject`, no level ever has on hand below zero or below what is reserved (available >= 0),
  after every command;
- reserved stock (the write side's levels, the fold of the log, inventory.reserved_stock, the open
  stock_reservations rows) equals the sum of the open reservations of the orders, each folded from
  its own stream; an open reservation covers exactly what is left to ship of its line, a
  cancelled order holds nothing;
- every projection equals the reference fold and a rebuild; verify passes.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.commands import AdjustStock, ConsumeStock, CountedItem, CountStock, CreateStock, TransferStock
from ledger.errors import LedgerError
from ledger.fold import StockKey
from ledger.orders import commands as c
from ledger.orders.state import order_state
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.reader import follow
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from projections.registry import select
from projections.tools.rebuild import rebuild
from projections.tools.verify import verify
from tests.fixtures.database import _clone, _drop, _with_dbname
from tests.fixtures.ledger import Conn
from tests.fixtures.world import World
from tests.projections.conftest import catch_up, inventory, log_fold, log_reserved, reserved
from tests.projections.reference import expected_rows, projected_rows

pytestmark = [pytest.mark.db, pytest.mark.slow]
D = Decimal
KINDS = ["sale", "create", "consume", "transfer", "adjust", "count", "order", "order", "confirm", "confirm",
         "ship", "ship", "cancel", "receive", "sale"]  # fmt: skip
step = st.tuples(
    st.sampled_from(KINDS), st.integers(0, 1), st.integers(0, 1), st.integers(1, 9), st.integers(0, 30)
)


@pytest.fixture(scope="module")
def log_url(server_url: str, template_db: str) -> Iterator[str]:
    """One database for the module: its log grows from example to example (one Oraseas EE, as in life)."""
    name = _clone(server_url, template_db, "abparts_reserve_props")
    yield _with_dbname(server_url, name)
    _drop(server_url, name)


@pytest.fixture(scope="module")
def site(log_url: str) -> Trade:
    with psycopg.connect(log_url, autocommit=True) as conn:
        return trade(conn)


@dataclass
class Trade:
    oraseas: UUID
    user: UUID
    customer: UUID
    customer_user: UUID
    depots: list[UUID]
    store: UUID
    parts: list[UUID]


def trade(conn: Conn) -> Trade:
    """Oraseas EE with two depots, a customer with a store; each example takes new parts (`with_parts`)."""
    world = World(conn)
    oraseas, customer = world.organization("oraseas_ee"), world.organization("customer")
    return Trade(
        oraseas,
        world.user(oraseas),
        customer,
        world.user(customer),
        [world.warehouse(oraseas), world.warehouse(oraseas)],
        world.warehouse(customer),
        [],
    )


def with_parts(conn: Conn, t: Trade) -> Trade:
    world = World(conn)
    return replace(t, parts=[world.part("consumable"), world.part("bulk_material", unit="litres")])


def command_for(op: tuple[str, int, int, int, int], t: Trade, orders: list[tuple[UUID, int]]) -> Any:
    """The command of one step; `orders` are the orders requested so far, with their number of lines."""
    kind, p, d, q, pick = op
    part, depot, other, quantity = t.parts[p], t.depots[d], t.depots[1 - d], D(q)
    simple: dict[str, Callable[[], Any]] = {
        "create": lambda: CreateStock(part_id=part, to_warehouse_id=depot, quantity=quantity),
        "consume": lambda: ConsumeStock(part_id=part, from_warehouse_id=depot, quantity=quantity),
        "transfer": lambda: TransferStock(
            part_id=part, from_warehouse_id=depot, to_warehouse_id=other, quantity=quantity
        ),
        "adjust": lambda: AdjustStock(
            warehouse_id=depot,
            part_id=part,
            quantity_adjusted=quantity * (1 if q % 2 else -1),
            reason_code="x",
        ),
        "count": lambda: CountStock(
            warehouse_id=depot, items=(CountedItem(part_id=part, counted_quantity=quantity - 1),)
        ),
        "order": lambda: c.RequestCustomerOrder(
            customer_organization_id=t.customer,
            items=tuple(c.OrderItem(part_id=x, quantity=quantity) for x in t.parts[: 1 + pick % 2]),
        ),
    }
    if kind in simple:
        return simple[kind]()
    if not orders:
        return None
    # A part on the order, in small quantities, so that orders are often shipped in parts.
    order_id, lines = orders[pick % len(orders)]
    moved = (c.MoveItem(part_id=t.parts[p % lines], quantity=D(1 + q % 3)),)
    if kind == "confirm":
        return c.ConfirmCustomerOrder(
            order_id=order_id, reserve_warehouse_id=None if pick % 4 == 3 else depot
        )
    if kind == "ship":
        return c.ShipCustomerOrder(order_id=order_id, warehouse_id=depot, items=moved)
    if kind == "receive":
        return c.ReceiveCustomerOrder(order_id=order_id, warehouse_id=t.store, items=moved)
    return c.CancelCustomerOrder(order_id=order_id)


def commands_for(
    op: tuple[str, int, int, int, int], t: Trade, orders: list[tuple[UUID, int]]
) -> Iterator[Any]:
    """The step's commands; a `sale` is an order reserved in a depot and partly shipped from it at once.

    Lazy: each command is built after the one before ran, so a sale's confirmation finds its order.
    """
    kind, p, d, q, _ = op
    if kind != "sale":
        command = command_for(op, t, orders)
        if command is not None:
            yield command
        return
    items = (c.OrderItem(part_id=t.parts[p], quantity=D(q + 2)),)
    yield c.RequestCustomerOrder(customer_organization_id=t.customer, items=items)
    yield c.ConfirmCustomerOrder(order_id=orders[-1][0], reserve_warehouse_id=t.depots[d])
    shipped = (c.MoveItem(part_id=t.parts[p], quantity=D(1 + q % 3)),)
    yield c.ShipCustomerOrder(order_id=orders[-1][0], warehouse_id=t.depots[d], items=shipped)


def levels(conn: Conn) -> dict[StockKey, tuple[Decimal, Decimal]]:
    rows = conn.execute("SELECT warehouse_id, part_id, on_hand, reserved FROM ledger_stock_levels").fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def open_reservations(conn: Conn) -> dict[StockKey, Decimal]:
    """The orders' open reservations, each order folded from its own stream; checks each line's share."""
    streams: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for recorded in list(follow(conn)):  # read whole before any assertion can leave a query open
        if recorded.stream_id.startswith("customer-order-"):
            streams[recorded.stream_id].append((recorded.stream_version, recorded.event()))
    held: dict[StockKey, Decimal] = defaultdict(Decimal)
    for pairs in streams.values():
        state = order_state(pairs)
        if state is None or state.reserved_in is None:
            continue
        for line in state.lines.values():
            left = D(0) if state.status == "cancelled" else line.ordered - line.shipped
            assert line.reserved == left, (state.status, line)
            if line.reserved:
                held[(state.reserved_in, line.part_id)] += line.reserved
    return dict(held)


def projected_open(conn: Conn) -> dict[StockKey, Decimal]:
    rows = conn.execute(
        "SELECT warehouse_id, part_id, sum(open_quantity) FROM stock_reservations WHERE status = 'open'"
        " GROUP BY 1, 2"
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def run_flow(conn: Conn, t: Trade, ops: list[Any], policy: Policy) -> None:
    ledger = PostgresLedger(policy)
    orders: list[tuple[UUID, int]] = []
    for depot in t.depots:  # some stock to reserve from the start
        for part in t.parts:
            opening = CreateStock(part_id=part, to_warehouse_id=depot, quantity=D(12))
            ledger.execute(conn, opening, CommandMetadata(performed_by_user_id=t.user))
    for command in (command for op in ops for command in commands_for(op, t, orders)):
        user = (
            t.customer_user
            if isinstance(command, c.RequestCustomerOrder | c.ReceiveCustomerOrder)
            else t.user
        )
        try:
            result = ledger.execute(conn, command, CommandMetadata(performed_by_user_id=user))
        except LedgerError:
            continue
        if isinstance(command, c.RequestCustomerOrder) and result.order_id is not None:
            orders.append((result.order_id, len(command.items)))
        if policy.negative_stock is NegativeStockPolicy.REJECT:
            mine = {k: v for k, v in levels(conn).items() if k[1] in t.parts}  # this example's parts
            assert all(on_hand >= held >= 0 for on_hand, held in mine.values()), mine


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(step, min_size=3, max_size=30), reject=st.booleans(), batch=st.integers(1, 7))
def test_reserved_is_the_sum_of_open_reservations_and_projections_rebuild(
    log_url: str, site: Trade, ops: list[Any], reject: bool, batch: int
) -> None:
    with psycopg.connect(log_url, autocommit=True) as conn:  # each example on a connection of its own
        check_flow(conn, site, ops, reject, batch)


def check_flow(conn: Conn, site: Trade, ops: list[Any], reject: bool, batch: int) -> None:
    negative = NegativeStockPolicy.REJECT if reject else NegativeStockPolicy.WARN
    run_flow(
        conn, with_parts(conn, site), ops, Policy(negative_stock=negative, approval_value_threshold=None)
    )
    held = {k: v for k, (_, v) in levels(conn).items() if v}
    assert held == log_reserved(conn) == open_reservations(conn)
    assert {k: v for k, (v, _) in levels(conn).items() if v} == log_fold(conn)
    catch_up(conn, batch)
    assert reserved(conn) == held == projected_open(conn)
    assert inventory(conn) == log_fold(conn)
    assert projected_rows(conn) == expected_rows(follow(conn))
    report = verify(conn, select(["inventory", "stock_reservations"]))
    assert report.ok, report
    tables = ("inventory", "stock_reservations")
    before = {name: conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall() for name in tables}
    rebuild(conn, select(["inventory", "stock_reservations"]), io.StringIO(), batch_size=batch * 3)
    assert {name: conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall() for name in tables} == before
