"""Reservations racing on real connections: the last unit goes to exactly one of two confirmations, or
to one of a confirmation and a consumption, with no global lock: the per-(warehouse, part) level row."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from ledger import errors
from ledger.commands import ConsumeStock, CreateStock
from ledger.orders import commands as c
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn
from tests.fixtures.world import World

pytestmark = [pytest.mark.db, pytest.mark.slow]
D = Decimal
LEDGER = PostgresLedger(Policy(negative_stock=NegativeStockPolicy.REJECT))
ROUNDS = 8


@dataclass
class Depot:
    url: str
    conn: Conn
    world: World
    oraseas_user: UUID
    customer: UUID
    customer_user: UUID
    depot: UUID

    def run(self, conn: Conn, command: Any, user: UUID | None = None) -> CommandResult:
        return LEDGER.execute(conn, command, CommandMetadata(performed_by_user_id=user or self.oraseas_user))

    def job(self, command: Any) -> Callable[[Conn], object]:
        """`command`, to be run on a connection of its own."""
        return lambda conn: self.run(conn, command)

    def last_unit(self) -> UUID:
        """A new part with exactly one unit in the depot."""
        part = self.world.part("consumable")
        self.run(self.conn, CreateStock(part_id=part, to_warehouse_id=self.depot, quantity=D(1)))
        return part

    def order(self, part: UUID) -> UUID:
        items = (c.OrderItem(part_id=part, quantity=D(1)),)
        placed = self.run(
            self.conn,
            c.RequestCustomerOrder(customer_organization_id=self.customer, items=items),
            self.customer_user,
        )
        assert placed.order_id is not None
        return placed.order_id

    def reserve(self, order_id: UUID) -> c.ConfirmCustomerOrder:
        return c.ConfirmCustomerOrder(order_id=order_id, reserve_warehouse_id=self.depot)

    def level(self, part: UUID) -> tuple[Decimal, Decimal]:
        row = self.conn.execute(
            "SELECT on_hand, reserved FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s",
            [self.depot, part],
        ).fetchone()
        assert row is not None
        return row[0], row[1]


@pytest.fixture
def depot(fresh_db_url: str) -> Iterator[Depot]:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        world = World(conn)
        oraseas, customer = world.organization("oraseas_ee"), world.organization("customer")
        yield Depot(
            fresh_db_url,
            conn,
            world,
            world.user(oraseas),
            customer,
            world.user(customer),
            world.warehouse(oraseas),
        )


def race(url: str, jobs: list[Callable[[Conn], object]]) -> list[str]:
    """Run the jobs at once, each on its own connection: 'won', or the code of the LedgerError it got."""
    barrier = threading.Barrier(len(jobs))

    def one(job: Callable[[Conn], object]) -> str:
        with psycopg.connect(url, autocommit=True) as conn:
            barrier.wait()
            try:
                job(conn)
            except errors.LedgerError as error:
                return error.code
            return "won"

    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(one, job) for job in jobs]]


def test_two_confirmations_race_for_the_last_unit(depot: Depot) -> None:
    for _ in range(ROUNDS):
        part = depot.last_unit()
        first, second = depot.order(part), depot.order(part)
        outcomes = race(depot.url, [depot.job(depot.reserve(first)), depot.job(depot.reserve(second))])
        assert sorted(outcomes) == ["stock_reserved", "won"]
        assert depot.level(part) == (D(1), D(1))


def test_a_consumption_races_a_reservation_for_the_last_unit(depot: Depot) -> None:
    for _ in range(ROUNDS):
        part = depot.last_unit()
        order_id = depot.order(part)
        consume = ConsumeStock(part_id=part, from_warehouse_id=depot.depot, quantity=D(1))
        outcomes = race(depot.url, [depot.job(depot.reserve(order_id)), depot.job(consume)])
        assert outcomes.count("won") == 1, outcomes
        if outcomes[0] == "won":  # the reservation won: the consumption may not take reserved stock
            assert outcomes[1] == "stock_reserved" and depot.level(part) == (D(1), D(1))
        else:  # the consumption won: nothing is left to reserve
            assert outcomes[0] == "insufficient_stock" and depot.level(part) == (D(0), D(0))


def test_a_confirmation_waits_for_the_level_and_decides_on_what_the_other_writer_committed(
    depot: Depot,
) -> None:
    part = depot.last_unit()
    order_id = depot.order(part)
    outcome: list[str] = []
    with psycopg.connect(depot.url) as holder:
        # Another writer mid-command: it holds the level's row lock, then reserves the unit itself.
        holder.execute(
            "SELECT 1 FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s FOR UPDATE",
            [depot.depot, part],
        )

        def confirm() -> None:
            with psycopg.connect(depot.url, autocommit=True) as conn:
                try:
                    depot.run(conn, depot.reserve(order_id))
                    outcome.append("won")
                except errors.LedgerError as error:
                    outcome.append(error.code)

        waiter = threading.Thread(target=confirm)
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and outcome == []  # blocked on the one row, not deciding on stale state
        holder.execute(
            "UPDATE ledger_stock_levels SET reserved = 1 WHERE warehouse_id = %s AND part_id = %s",
            [depot.depot, part],
        )
        holder.commit()
        waiter.join(timeout=30)
    assert outcome == ["stock_reserved"]
