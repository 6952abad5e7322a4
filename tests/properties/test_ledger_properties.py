"""Properties of the ledger for any sequence of commands, on a real PostgreSQL.

- the fold of the log equals the stock levels the ledger keeps, and the sum of
  the accepted movements worked out independently from each movement's final state;
- pending and rejected movements change nothing;
- a refused command appends nothing; an idempotent retry appends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    ConsumeStock,
    CountedItem,
    CountStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
    TransferStock,
)
from ledger.errors import LedgerError
from ledger.events import Movement, MovementApproved, MovementRejected
from ledger.fold import fold_stock
from ledger.policy import NegativeStockPolicy, Policy
from ledger.postgres.eventstore import load_streams
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from tests.fixtures.ledger import Conn, make_site
from tests.fixtures.world import World

pytestmark = pytest.mark.db

whole = st.integers(1, 30).map(Decimal)
fraction = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(30), places=3)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    ops: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 20))):
        kind = draw(
            st.sampled_from(
                [
                    "create",
                    "create",
                    "transfer",
                    "consume",
                    "adjust",
                    "count",
                    "approve",
                    "reject",
                    "reverse",
                    "retry",
                ]
            )
        )
        wh, other, part = draw(st.integers(0, 1)), draw(st.integers(0, 1)), draw(st.integers(0, 1))
        quantity = draw(whole if part == 0 else fraction)
        sign = draw(st.sampled_from([1, -1]))
        ops.append((kind, wh, other, part, quantity, sign, draw(st.integers(0, 50))))
    return ops


@dataclass
class Harness:
    conn: Conn
    ledger: PostgresLedger
    metadata: CommandMetadata

    def count(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert row is not None
        return int(row[0])


def to_command(
    op: tuple[Any, ...],
    whs: list[uuid.UUID],
    parts: list[uuid.UUID],
    ids: list[uuid.UUID],
    machine: uuid.UUID | None = None,
) -> StockCommand | None:
    """The command an operation stands for; a consumption is on `machine` half the time, if given."""
    kind, wh, other, part, quantity, sign, pick = op
    w, p = whs[wh], parts[part]
    if kind == "create":
        return CreateStock(part_id=p, to_warehouse_id=w, quantity=quantity)
    if kind == "transfer":
        return TransferStock(part_id=p, from_warehouse_id=w, to_warehouse_id=whs[other], quantity=quantity)
    if kind == "consume":
        on = machine if sign > 0 else None
        return ConsumeStock(part_id=p, from_warehouse_id=w, quantity=quantity, machine_id=on)
    if kind == "adjust":
        return AdjustStock(warehouse_id=w, part_id=p, quantity_adjusted=sign * quantity, reason_code="check")
    if kind == "count":
        return CountStock(warehouse_id=w, items=(CountedItem(part_id=p, counted_quantity=quantity - 1),))
    if not ids:
        return None
    target = ids[pick % len(ids)]
    if kind == "approve":
        return ApproveMovement(transaction_id=target)
    if kind == "reject":
        return RejectMovement(transaction_id=target)
    return ReverseMovement(transaction_id=target)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations(), reject=st.booleans())
def test_log_levels_and_accepted_movements_agree(
    conn: Conn, ops: list[tuple[Any, ...]], reject: bool
) -> None:
    site = make_site(World(conn))
    policy = Policy(
        negative_stock=NegativeStockPolicy.REJECT if reject else NegativeStockPolicy.WARN,
        approval_quantity_threshold=Decimal(15),
    )
    h = Harness(conn, PostgresLedger(policy), CommandMetadata(performed_by_user_id=site.user))
    whs, parts = [site.a, site.b], [site.part, site.bulk]
    ids: list[uuid.UUID] = []
    keyed: list[tuple[StockCommand, str]] = []
    for op in ops:
        if op[0] == "retry":
            if keyed:
                command, key = keyed[op[6] % len(keyed)]
                before = h.count()
                result = h.ledger.execute(conn, command, CommandMetadata(site.user, idempotency_key=key))
                assert result.replayed and h.count() == before
            continue
        command = to_command(op, whs, parts, ids)
        if command is None:
            continue
        key = f"prop-{uuid.uuid4()}"
        before = h.count()
        try:
            result = h.ledger.execute(conn, command, CommandMetadata(site.user, idempotency_key=key))
        except LedgerError:
            assert h.count() == before, "a refused command appended events"
            continue
        assert h.count() == before + len(result.events)
        keyed.append((command, key))
        ids.extend(t for t in result.transaction_ids if t not in ids)

    streams = load_streams(conn, [f"movement-{t}" for t in ids])
    events = [e.event() for stream in streams.values() for e in stream]
    rows = conn.execute(
        "SELECT warehouse_id, part_id, on_hand FROM ledger_stock_levels WHERE warehouse_id = ANY(%s)",
        [whs],
    ).fetchall()
    levels = {(r[0], r[1]): r[2] for r in rows if r[2] != 0}
    assert fold_stock(events) == levels == accepted_movements(streams)


def accepted_movements(streams: dict[str, Any]) -> dict[tuple[uuid.UUID, uuid.UUID], Decimal]:
    """Stock as the sum of movements whose final state is approved (pending/rejected count nothing)."""
    totals: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    for stream in streams.values():
        movement = stream[0].event()
        assert isinstance(movement, Movement)
        status: str = movement.approval_status
        for recorded in stream[1:]:
            later = recorded.event()
            if isinstance(later, MovementApproved):
                status = "approved"
            elif isinstance(later, MovementRejected):
                status = "rejected"
        if status != "approved":
            continue
        for side, sign in ((movement.from_warehouse_id, -1), (movement.to_warehouse_id, 1)):
            if side is not None:
                key = (side, movement.part_id)
                totals[key] = totals.get(key, Decimal(0)) + sign * movement.quantity
    return {k: v for k, v in totals.items() if v != 0}
