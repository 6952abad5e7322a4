"""Every rule of decide(): given events, when a command, then events or an error."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledger import errors
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
from ledger.events import (
    Movement,
    MovementApproved,
    MovementRejected,
    MovementReversed,
    StockAdjusted,
    StockConsumed,
    StockCreated,
    StockTransferred,
)
from ledger.policy import Limits, NegativeStockPolicy, Policy
from ledger.recorded import canonical_text
from ledger.rules import Decision
from ledger.state import UserInfo
from ledger.types import random_uuid
from tests.ledger.scenario import NOW, Scenario

D = Decimal


def moved(decision: Decision) -> Movement:
    """The first event of a decision, which must be a movement."""
    event = decision.events[0][1]
    assert isinstance(event, Movement)
    return event


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def test_creation_records_an_approved_movement_in_the_parts_unit(s: Scenario) -> None:
    part, wh = s.part(unit="litres", part_type="bulk_material"), s.warehouse()
    decision = s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D("2.5")))
    [(stream, event)] = decision.events
    assert isinstance(event, StockCreated)
    assert stream == f"movement-{event.transaction_id}"
    assert (event.unit_of_measure, event.approval_status, event.transaction_date) == (
        "litres",
        "approved",
        NOW,
    )
    assert s.stock() == {(wh, part): D("2.5")}


@pytest.mark.parametrize("quantity", ["0", "-1", "1.0001", "10000000"])
def test_quantity_must_be_positive_with_three_decimals_in_range(s: Scenario, quantity: str) -> None:
    part, wh = s.part(part_type="bulk_material"), s.warehouse()
    with pytest.raises(errors.InvalidQuantity):
        s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(quantity)))


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "abc", ""])
def test_non_numbers_are_refused_by_the_command_type(quantity: str) -> None:
    with pytest.raises(ValidationError):
        CreateStock(part_id=uuid.uuid4(), to_warehouse_id=uuid.uuid4(), quantity=quantity)


def test_consumables_move_in_whole_units_bulk_in_decimals(s: Scenario) -> None:
    consumable, bulk, wh = s.part("consumable"), s.part("bulk_material"), s.warehouse()
    with pytest.raises(errors.FractionalQuantity):
        s.when(CreateStock(part_id=consumable, to_warehouse_id=wh, quantity=D("1.5")))
    s.record(CreateStock(part_id=consumable, to_warehouse_id=wh, quantity=D("2.000")))
    s.record(CreateStock(part_id=bulk, to_warehouse_id=wh, quantity=D("0.125")))
    assert s.stock() == {(wh, consumable): D(2), (wh, bulk): D("0.125")}


def test_unit_of_measure_must_be_the_parts(s: Scenario) -> None:
    part, wh = s.part(unit="pieces"), s.warehouse()
    with pytest.raises(errors.UnitOfMeasureMismatch) as raised:
        s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1), unit_of_measure="kg"))
    assert raised.value.details["expected"] == "pieces"
    event = moved(
        s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1), unit_of_measure="Pieces"))
    )
    assert isinstance(event, StockCreated) and event.unit_of_measure == "pieces"


def test_unknown_part_and_warehouse_are_refused(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    with pytest.raises(errors.UnknownPart):
        s.when(CreateStock(part_id=uuid.uuid4(), to_warehouse_id=wh, quantity=D(1)))
    with pytest.raises(errors.UnknownWarehouse):
        s.when(CreateStock(part_id=part, to_warehouse_id=uuid.uuid4(), quantity=D(1)))
    with pytest.raises(errors.UnknownWarehouse):
        s.when(TransferStock(part_id=part, from_warehouse_id=uuid.uuid4(), to_warehouse_id=wh, quantity=D(1)))


def test_inactive_warehouse_receives_nothing_but_can_be_emptied(s: Scenario) -> None:
    part, active, inactive = s.part(), s.warehouse(), s.warehouse(active=False)
    with pytest.raises(errors.WarehouseInactive):
        s.when(CreateStock(part_id=part, to_warehouse_id=inactive, quantity=D(1)))
    with pytest.raises(errors.WarehouseInactive):
        s.when(ConsumeStock(part_id=part, from_warehouse_id=inactive, quantity=D(1)))
    with pytest.raises(errors.WarehouseInactive):
        s.when(AdjustStock(warehouse_id=inactive, part_id=part, quantity_adjusted=D(1), reason_code="found"))
    transfer = s.when(
        TransferStock(part_id=part, from_warehouse_id=inactive, to_warehouse_id=active, quantity=D(1))
    )
    assert isinstance(transfer.events[0][1], StockTransferred)


def test_transfer_needs_two_different_warehouses(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    with pytest.raises(errors.InvalidWarehouses):
        s.when(TransferStock(part_id=part, from_warehouse_id=wh, to_warehouse_id=wh, quantity=D(1)))


def test_transfer_moves_stock_between_warehouses(s: Scenario) -> None:
    part, a, b = s.part(), s.warehouse(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=a, quantity=D(10)))
    s.record(TransferStock(part_id=part, from_warehouse_id=a, to_warehouse_id=b, quantity=D(4)))
    assert s.stock() == {(a, part): D(6), (b, part): D(4)}


def test_consumption_on_a_machine_is_part_usage_of_its_owner(s: Scenario) -> None:
    customer = uuid.uuid4()
    part, wh = s.part(), s.warehouse(customer)
    machine = s.machine(customer)
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(5)))
    event = s.record(ConsumeStock(part_id=part, from_warehouse_id=wh, machine_id=machine, quantity=D(2)))
    consumed = event.events[0][1]
    assert isinstance(consumed, StockConsumed)
    assert (consumed.machine_id, consumed.customer_organization_id) == (machine, customer)
    assert s.stock() == {(wh, part): D(3)}


def test_machine_rules(s: Scenario) -> None:
    customer = uuid.uuid4()
    part, own, other = s.part(), s.warehouse(customer), s.warehouse()
    cases = [
        (uuid.uuid4(), own, errors.UnknownMachine),
        (s.machine(customer), other, errors.MachineWarehouseMismatch),
        (s.machine(customer, owner_type="supplier"), own, errors.InvalidMachineUse),
        (s.machine(customer, status="decommissioned"), own, errors.InvalidMachineUse),
    ]
    for machine, warehouse, error in cases:
        with pytest.raises(error):
            s.when(ConsumeStock(part_id=part, from_warehouse_id=warehouse, machine_id=machine, quantity=D(1)))
    s.when(ConsumeStock(part_id=part, from_warehouse_id=own, machine_id=s.machine(customer), quantity=D(1)))


def test_negative_stock_warns_by_default(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1)))
    decision = s.record(ConsumeStock(part_id=part, from_warehouse_id=wh, quantity=D(3)))
    event = decision.events[0][1]
    assert isinstance(event, StockConsumed)
    [warning] = decision.warnings
    assert (warning.code, warning.warehouse_id, warning.part_id, warning.resulting_stock) == (
        "negative_stock",
        wh,
        part,
        D(-2),
    )
    assert event.warnings == (warning.detail,)
    assert s.stock() == {(wh, part): D(-2)}


def test_negative_stock_is_refused_under_reject() -> None:
    s = Scenario(policy=Policy(negative_stock=NegativeStockPolicy.REJECT))
    part, wh = s.part(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(2)))
    with pytest.raises(errors.InsufficientStock) as raised:
        s.when(ConsumeStock(part_id=part, from_warehouse_id=wh, quantity=D(3)))
    assert raised.value.details["available"] == "2"
    s.record(ConsumeStock(part_id=part, from_warehouse_id=wh, quantity=D(2)))
    assert s.stock() == {}


def test_stock_may_not_leave_the_specs_decimal_range(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(9_000_000)))
    with pytest.raises(errors.StockOutOfRange):
        s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1_000_000)))


def test_large_movements_wait_for_approval_and_move_nothing_until_then() -> None:
    s = Scenario(policy=Policy(approval_value_threshold=D(1000), approval_quantity_threshold=D(50)))
    cheap, dear, wh = s.part(price="1.00"), s.part(price="100.00"), s.warehouse()
    by_value = moved(s.record(CreateStock(part_id=dear, to_warehouse_id=wh, quantity=D(11))))
    by_quantity = moved(s.record(CreateStock(part_id=cheap, to_warehouse_id=wh, quantity=D(51))))
    small = moved(s.record(CreateStock(part_id=cheap, to_warehouse_id=wh, quantity=D(50))))
    assert isinstance(by_value, StockCreated) and isinstance(by_quantity, StockCreated)
    assert (by_value.approval_status, by_value.requires_approval) == ("pending", True)
    assert by_quantity.approval_status == "pending" and small.approval_status == "approved"
    assert s.stock() == {(wh, cheap): D(50)}

    s.actor = UserInfo(uuid.uuid4(), uuid.uuid4())  # another admin: the recorder may not approve
    approved = s.record(ApproveMovement(transaction_id=by_value.transaction_id, notes="ok"))
    assert isinstance(approved.events[0][1], MovementApproved)
    rejected = s.record(RejectMovement(transaction_id=by_quantity.transaction_id))
    assert isinstance(rejected.events[0][1], MovementRejected)
    assert s.stock() == {(wh, cheap): D(50), (wh, dear): D(11)}


def test_only_pending_movements_can_be_approved_or_rejected(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    created = moved(s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1))))
    transaction_id = created.transaction_id
    with pytest.raises(errors.InvalidTransactionState):
        s.when(ApproveMovement(transaction_id=transaction_id))
    with pytest.raises(errors.InvalidTransactionState):
        s.when(RejectMovement(transaction_id=transaction_id))
    with pytest.raises(errors.UnknownTransaction):
        s.when(ApproveMovement(transaction_id=uuid.uuid4()))


def test_approval_rechecks_stock_under_reject() -> None:
    s = Scenario(policy=Policy(negative_stock=NegativeStockPolicy.REJECT, approval_quantity_threshold=D(5)))
    part, wh = s.part(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(5)))
    pending = moved(s.record(ConsumeStock(part_id=part, from_warehouse_id=wh, quantity=D(6))))
    s.actor = UserInfo(uuid.uuid4(), uuid.uuid4())  # another admin: the recorder may not approve
    with pytest.raises(errors.InsufficientStock):
        s.when(ApproveMovement(transaction_id=pending.transaction_id))


def test_a_pinned_version_that_moved_on_is_a_conflict() -> None:
    s = Scenario(policy=Policy(approval_quantity_threshold=D(1)))
    part, wh = s.part(), s.warehouse()
    pending = moved(s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(2))))
    transaction_id = pending.transaction_id
    s.actor = UserInfo(uuid.uuid4(), uuid.uuid4())  # another admin: the recorder may not approve
    with pytest.raises(errors.ConcurrencyConflict):
        s.when(ApproveMovement(transaction_id=transaction_id, expected_version=2))
    decision = s.when(ApproveMovement(transaction_id=transaction_id, expected_version=1))
    assert [stream for stream, _ in decision.events] == [f"movement-{transaction_id}"]


@pytest.mark.parametrize(
    ("make", "compensation"),
    [
        (lambda p, a, b: CreateStock(part_id=p, to_warehouse_id=a, quantity=D(3)), StockAdjusted),
        (
            lambda p, a, b: TransferStock(part_id=p, from_warehouse_id=a, to_warehouse_id=b, quantity=D(3)),
            StockTransferred,
        ),
        (lambda p, a, b: ConsumeStock(part_id=p, from_warehouse_id=a, quantity=D(3)), StockAdjusted),
        (
            lambda p, a, b: AdjustStock(warehouse_id=a, part_id=p, quantity_adjusted=D(-3), reason_code="x"),
            StockAdjusted,
        ),
    ],
)
def test_reversal_compensates_exactly_and_only_once(s: Scenario, make: object, compensation: type) -> None:
    part, a, b = s.part(), s.warehouse(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=a, quantity=D(10)))
    before = s.stock()
    assert callable(make)
    original = moved(s.record(make(part, a, b)))
    reversal = s.record(ReverseMovement(transaction_id=original.transaction_id))
    (_, undo), (_, marker) = reversal.events
    assert isinstance(undo, compensation) and isinstance(marker, MovementReversed)
    assert isinstance(undo, Movement)
    assert undo.reverses_transaction_id == original.transaction_id
    assert marker.reversal_transaction_id == undo.transaction_id
    assert s.stock() == before
    with pytest.raises(errors.InvalidTransactionState, match="already reversed"):
        s.when(ReverseMovement(transaction_id=original.transaction_id))
    with pytest.raises(errors.InvalidTransactionState, match="itself a reversal"):
        s.when(ReverseMovement(transaction_id=undo.transaction_id))


def test_pending_movements_are_rejected_not_reversed() -> None:
    s = Scenario(policy=Policy(approval_quantity_threshold=D(1)))
    part, wh = s.part(), s.warehouse()
    pending = moved(s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(2))))
    with pytest.raises(errors.InvalidTransactionState, match="pending"):
        s.when(ReverseMovement(transaction_id=pending.transaction_id))


def test_adjustments_keep_positive_quantities_on_the_right_side(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    up = s.record(AdjustStock(warehouse_id=wh, part_id=part, quantity_adjusted=D(5), reason_code="found"))
    down = s.record(
        AdjustStock(warehouse_id=wh, part_id=part, quantity_adjusted=D(-2), reason_code="damaged")
    )
    increase, decrease = up.events[0][1], down.events[0][1]
    assert isinstance(increase, StockAdjusted) and isinstance(decrease, StockAdjusted)
    assert (increase.to_warehouse_id, increase.from_warehouse_id, increase.quantity) == (wh, None, D(5))
    assert (decrease.from_warehouse_id, decrease.to_warehouse_id, decrease.quantity) == (wh, None, D(2))
    assert (increase.quantity_adjusted, decrease.quantity_adjusted) == (D(5), D(-2))
    assert decrease.reason_code == "damaged"
    with pytest.raises(errors.InvalidQuantity):
        s.when(AdjustStock(warehouse_id=wh, part_id=part, quantity_adjusted=D(0), reason_code="x"))


def test_stocktake_adjusts_each_difference(s: Scenario) -> None:
    a, b, c, wh = s.part(), s.part(), s.part(), s.warehouse()
    s.record(CreateStock(part_id=a, to_warehouse_id=wh, quantity=D(10)))
    s.record(CreateStock(part_id=b, to_warehouse_id=wh, quantity=D(4)))
    decision = s.record(
        CountStock(
            warehouse_id=wh,
            items=(
                CountedItem(part_id=a, counted_quantity=D(7)),
                CountedItem(part_id=b, counted_quantity=D(4)),
                CountedItem(part_id=c, counted_quantity=D(2)),
            ),
        )
    )
    adjustments = [event for _, event in decision.events if isinstance(event, StockAdjusted)]
    assert len(adjustments) == len(decision.events) == 2
    assert all(e.reason_code == "stocktake" for e in adjustments)
    assert [e.quantity_adjusted for e in adjustments] == [D(-3), D(2)]
    assert s.stock() == {(wh, a): D(7), (wh, b): D(4), (wh, c): D(2)}


def test_a_stocktakes_events_are_what_validation_would_make(s: Scenario) -> None:
    # count() builds its events without validating each (a big stocktake's CPU): they must be
    # exactly the validated ones, or the payloads, and the hashes over them, would differ.
    up, down, wh = s.part(), s.part("bulk_material", unit="litres"), s.warehouse()
    s.record(CreateStock(part_id=down, to_warehouse_id=wh, quantity=D("4.5")))
    decision = s.record(
        CountStock(
            warehouse_id=wh,
            items=(
                CountedItem(part_id=up, counted_quantity=D("3.00")),
                CountedItem(part_id=down, counted_quantity=D("1.25")),
            ),
            transaction_date=NOW - timedelta(hours=1),
            notes='a "note" \\ é',
            reference_number="REF-1",
        )
    )
    for _, event in decision.events:
        validated = StockAdjusted.model_validate(event.model_dump())
        assert event.__dict__ == validated.__dict__
        assert list(event.__dict__) == list(validated.__dict__)
        assert canonical_text(event.model_dump(mode="json")) == canonical_text(
            validated.model_dump(mode="json")
        )


def test_stocktake_errors(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    with pytest.raises(errors.EmptyCommand):
        s.when(CountStock(warehouse_id=wh, items=()))
    with pytest.raises(errors.DuplicateItem):
        item = CountedItem(part_id=part, counted_quantity=D(1))
        s.when(CountStock(warehouse_id=wh, items=(item, item)))
    with pytest.raises(errors.InvalidQuantity):
        s.when(CountStock(warehouse_id=wh, items=(CountedItem(part_id=part, counted_quantity=D(-1)),)))


def test_yearly_transaction_cap() -> None:
    s = Scenario(policy=Policy(limits=Limits(transactions_per_year=2)))
    part, wh = s.part(), s.warehouse()
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1)))
    s.record(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1)))
    with pytest.raises(errors.LimitReached):
        s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1)))


def test_future_dates_are_refused_past_ones_kept(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    with pytest.raises(errors.InvalidDate):
        s.when(
            CreateStock(
                part_id=part, to_warehouse_id=wh, quantity=D(1), transaction_date=NOW + timedelta(days=1)
            )
        )
    past = NOW - timedelta(days=30)
    event = s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1), transaction_date=past))
    assert moved(event).transaction_date == past


def test_unknown_or_inactive_actor_is_refused(s: Scenario) -> None:
    part, wh = s.part(), s.warehouse()
    for actor in (None, UserInfo(uuid.uuid4(), uuid.uuid4(), is_active=False)):
        s.actor = actor
        with pytest.raises(errors.UnknownUser):
            s.when(CreateStock(part_id=part, to_warehouse_id=wh, quantity=D(1)))


def test_fresh_ids_are_random_version_4_uuids() -> None:
    ids = [random_uuid() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 and uuid.UUID(str(i)) == i for i in ids)
    assert all(i.is_safe == uuid.SafeUUID.unknown and hash(i) == hash(uuid.UUID(int=i.int)) for i in ids)
