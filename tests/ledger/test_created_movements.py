"""A decision that only creates movements is answered straight from its events, as the fold answers it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger.commands import CountedItem, CountStock, CreateStock
from ledger.events import MovementApproved
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import MovementState, created_movements, movement_state, resulting_movement
from tests.ledger.scenario import NOW, Scenario

D = Decimal
USER = uuid.uuid4()


def folded(decision: Decision) -> tuple[object, ...]:
    """The answer the fold gives: each movement's stream folded from the decision's own events."""
    out = []
    for transaction_id in decision.transaction_ids:
        pairs = [(1, e) for _, e in decision.events if getattr(e, "transaction_id", None) == transaction_id]
        state = movement_state(pairs, USER)
        assert isinstance(state, MovementState)
        out.append(resulting_movement(state, NOW))
    return tuple(out)


@pytest.fixture
def s() -> Scenario:
    return Scenario(policy=Policy(approval_quantity_threshold=D(15)))


def test_a_stocktake_and_a_creation_are_answered_from_their_events_as_folded(s: Scenario) -> None:
    a, b, c, wh = s.part(), s.part(), s.part(), s.warehouse()
    s.record(CreateStock(part_id=a, to_warehouse_id=wh, quantity=D(10)))
    items = tuple(CountedItem(part_id=p, counted_quantity=D(n)) for n, p in enumerate((a, b, c), start=3))
    for decision in (
        s.when(CountStock(warehouse_id=wh, items=items, notes="year end")),
        s.when(CreateStock(part_id=b, to_warehouse_id=wh, quantity=D(20))),  # held: pending
    ):
        answer = created_movements(decision.events, decision.transaction_ids, {}, USER, NOW)
        assert answer is not None and len(answer) == len(decision.transaction_ids)
        assert answer == folded(decision)
        assert [m.model_dump() for m in answer] == [m.model_dump() for m in folded(decision)]  # type: ignore[attr-defined]


def test_any_other_decision_is_left_to_the_fold(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    held = s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(20)))
    [(stream, _)] = held.events
    # A stream the batch read (the movement existed before): folded as extended.
    assert created_movements(held.events, held.transaction_ids, {stream: []}, USER, NOW) is None
    # An event that is not a movement's creation.
    movement = held.events[0][1]
    approval = MovementApproved(transaction_id=held.transaction_ids[0], part_id=part, to_warehouse_id=wh,
                                quantity=movement.quantity)  # type: ignore[attr-defined]  # fmt: skip
    approved = Decision(((stream, approval),), (), held.transaction_ids)
    assert created_movements(approved.events, approved.transaction_ids, {}, USER, NOW) is None
    # transaction_ids that are not one per event, in order.
    twice = Decision(held.events * 2, (), held.transaction_ids)
    assert created_movements(twice.events, twice.transaction_ids, {}, USER, NOW) is None
