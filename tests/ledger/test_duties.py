"""Segregation of duties and typed warnings, on the pure rules (no database)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger import errors
from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, RejectMovement
from ledger.events import Movement, MovementApproved, MovementRejected
from ledger.policy import Policy
from ledger.results import CommandResult, StockWarning
from ledger.state import UserInfo
from tests.ledger.scenario import Scenario

D = Decimal
HELD = Policy(approval_quantity_threshold=D(10))


def held_movement(s: Scenario) -> Movement:
    part, wh = s.part(), s.warehouse()
    [(_, event)] = s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(11))).events
    assert isinstance(event, Movement) and event.approval_status == "pending"
    return event


def test_the_recorder_of_a_held_movement_cannot_approve_it() -> None:
    s = Scenario(policy=HELD)
    held = held_movement(s)
    with pytest.raises(errors.SelfApproval) as refused:
        s.when(ApproveMovement(transaction_id=held.transaction_id))
    assert refused.value.code == "self_approval"
    assert refused.value.details["transaction_id"] == str(held.transaction_id)
    s.actor = UserInfo(uuid.uuid4(), uuid.uuid4())
    [(_, approved)] = s.record(ApproveMovement(transaction_id=held.transaction_id)).events
    assert isinstance(approved, MovementApproved)


def test_the_recorder_may_still_reject_her_own_held_movement() -> None:
    s = Scenario(policy=HELD)
    held = held_movement(s)
    [(_, rejected)] = s.record(RejectMovement(transaction_id=held.transaction_id)).events
    assert isinstance(rejected, MovementRejected)


def test_with_segregation_off_the_recorder_may_approve() -> None:
    s = Scenario(policy=HELD.model_copy(update={"segregate_approvals": False}))
    held = held_movement(s)
    [(_, approved)] = s.record(ApproveMovement(transaction_id=held.transaction_id)).events
    assert isinstance(approved, MovementApproved)


def test_segregation_is_on_by_default() -> None:
    assert Policy().segregate_approvals is True


def test_a_negative_stock_warning_has_fields_a_client_can_act_on() -> None:
    s = Scenario()
    part, wh = s.part(part_type="bulk_material", unit="litres"), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D("1.5")))
    decision = s.record(ConsumeStock(part_id=part, from_warehouse_id=wh, quantity=D("10.5")))
    assert decision.warnings == (
        StockWarning(
            code="negative_stock",
            part_id=part,
            warehouse_id=wh,
            resulting_stock=D("-9.0"),
            detail=f"negative_stock: part {part} in warehouse {wh} goes to -9.0",
        ),
    )


def test_a_result_stored_with_text_warnings_reads_as_typed_warnings() -> None:
    part, wh = uuid.uuid4(), uuid.uuid4()
    text = f"negative_stock: part {part} in warehouse {wh} goes to -9.000"
    stored = (
        '{"position": 7, "log_transaction_id": 3, "events": [], "transaction_ids": [],'
        f' "warnings": ["{text}"], "replayed": false, "order_id": null}}'
    )
    result = CommandResult.model_validate_json(stored)
    assert [w.model_dump() for w in result.warnings] == [
        {
            "code": "negative_stock",
            "part_id": part,
            "warehouse_id": wh,
            "resulting_stock": D("-9.000"),
            "detail": text,
            "resulting_available": None,
        }
    ]


def test_a_text_warning_of_no_known_form_is_refused() -> None:
    with pytest.raises(ValueError, match="not a warning"):
        StockWarning.from_text("something else")
