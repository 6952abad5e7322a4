"""The business rules: decide(command, context, policy) returns the events to record, or raises.

Pure: no I/O. The store loads a DecisionContext (reference data, the streams
the command touches, the locked stock levels), calls decide, and appends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger import errors
from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    ConsumeStock,
    CorrectMovementDate,
    CountStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
    TransferStock,
)
from ledger.events import (
    Event,
    Movement,
    MovementApproved,
    MovementDateCorrected,
    MovementRejected,
    MovementReversed,
    StockAdjusted,
    StockConsumed,
    StockCreated,
    StockTransferred,
    movement_stream,
)
from ledger.fold import StockKey, stock_changes
from ledger.policy import NegativeStockPolicy, Policy
from ledger.state import DecisionContext, MovementState, PartInfo
from ledger.types import MAX_STOCK, decimal_places, is_whole

REVERSAL_REASON = "reversal"
STOCKTAKE_REASON = "stocktake"


@dataclass(frozen=True)
class Decision:
    """What a command records: events by stream, the versions it expects, and warnings."""

    events: tuple[tuple[str, Event], ...] = ()
    expected_versions: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def new_movements(self) -> int:
        """How many transactions (movement rows) this decision adds."""
        return sum(isinstance(event, Movement) for _, event in self.events)


@dataclass(frozen=True)
class Needs:
    """The reference data and streams a command reads."""

    part_ids: frozenset[UUID] = frozenset()
    warehouse_ids: frozenset[UUID] = frozenset()
    machine_ids: frozenset[UUID] = frozenset()
    transaction_ids: frozenset[UUID] = frozenset()


def needs(command: StockCommand) -> Needs:
    """What the store must load before deciding `command`."""
    if isinstance(command, ApproveMovement | RejectMovement | ReverseMovement | CorrectMovementDate):
        return Needs(transaction_ids=frozenset({command.transaction_id}))
    if isinstance(command, CountStock):
        return Needs(
            part_ids=frozenset(item.part_id for item in command.items),
            warehouse_ids=frozenset({command.warehouse_id}),
        )
    if isinstance(command, AdjustStock):
        return Needs(frozenset({command.part_id}), frozenset({command.warehouse_id}))
    warehouses = {w for w in _from_to(command) if w is not None}
    machines = {command.machine_id} if isinstance(command, ConsumeStock) and command.machine_id else set()
    return Needs(frozenset({command.part_id}), frozenset(warehouses), frozenset(machines))


def stock_keys(command: StockCommand, movements: dict[UUID, MovementState]) -> set[StockKey]:
    """The (warehouse, part) levels the command may change: the store locks them before deciding."""
    if isinstance(command, ApproveMovement | ReverseMovement):
        state = movements.get(command.transaction_id)
        if state is None:
            return set()
        m = state.movement
        return {(w, m.part_id) for w in (m.from_warehouse_id, m.to_warehouse_id) if w is not None}
    if isinstance(command, RejectMovement | CorrectMovementDate):
        return set()
    if isinstance(command, CountStock):
        return {(command.warehouse_id, item.part_id) for item in command.items}
    if isinstance(command, AdjustStock):
        return {(command.warehouse_id, command.part_id)}
    return {(w, command.part_id) for w in _from_to(command) if w is not None}


def _from_to(command: CreateStock | TransferStock | ConsumeStock) -> tuple[UUID | None, UUID | None]:
    if isinstance(command, CreateStock):
        return None, command.to_warehouse_id
    if isinstance(command, TransferStock):
        return command.from_warehouse_id, command.to_warehouse_id
    return command.from_warehouse_id, None


def decide(command: StockCommand, context: DecisionContext, policy: Policy) -> Decision:
    """Check every rule for `command` against `context`; return the events to record."""
    if context.actor is None or not context.actor.is_active:
        raise errors.UnknownUser("the acting user does not exist or is not active")
    if isinstance(command, ApproveMovement):
        events = _approve(command, context)
    elif isinstance(command, RejectMovement):
        events = _reject(command, context)
    elif isinstance(command, ReverseMovement):
        events = _reverse(command, context)
    elif isinstance(command, CorrectMovementDate):
        events = [_correct_date(command, context, policy)]
    elif isinstance(command, CountStock):
        events = _count(command, context, policy)
    else:
        events = [_record(command, context, policy)]
    return _check_stock(events, _expected_versions(command, context), context, policy)


def _new_id(context: DecisionContext) -> UUID:
    return context.new_id() if context.new_id is not None else uuid.uuid4()


def _expected_versions(command: StockCommand, context: DecisionContext) -> dict[str, int]:
    if not isinstance(command, ApproveMovement | RejectMovement | ReverseMovement | CorrectMovementDate):
        return {}
    state = context.movements[command.transaction_id]
    if command.expected_version is not None and command.expected_version != state.version:
        raise errors.ConcurrencyConflict(
            f"transaction {command.transaction_id} is at version {state.version}, "
            f"not {command.expected_version}",
            transaction_id=str(command.transaction_id),
            version=state.version,
        )
    return {movement_stream(command.transaction_id): state.version}


def _part(context: DecisionContext, part_id: UUID) -> PartInfo:
    part = context.parts.get(part_id)
    if part is None:
        raise errors.UnknownPart(f"part {part_id} does not exist", part_id=str(part_id))
    return part


def _movement_date(given: datetime | None, context: DecisionContext, policy: Policy) -> datetime:
    """The date a movement happened: now unless given; a given one lies in the policy's range.

    Checked here rather than at the edge so that every entry point (HTTP, CLI, library) is bound
    by it; the upper end moves with the clock, the lower end keeps dates every reader can show.
    """
    if given is None:
        return context.now
    latest = context.now + policy.max_future_skew
    try:
        in_range = policy.earliest_date <= given <= latest
    except OverflowError:  # an offset that takes it out of Python's years 1 to 9999
        in_range = False
    if not in_range:
        raise errors.DateOutOfRange(
            f"transaction_date must lie from {policy.earliest_date.isoformat()} to now "
            f"plus {policy.max_future_skew} ({latest.isoformat()})",
            field="transaction_date",
            earliest=policy.earliest_date.isoformat(),
            latest=latest.isoformat(),
        )
    return given


def _check_quantity(quantity: Decimal, part: PartInfo, *, allow_zero: bool = False) -> None:
    if not quantity.is_finite() or (quantity <= 0 and not (allow_zero and quantity == 0)):
        raise errors.InvalidQuantity(
            "quantity must be greater than zero", quantity=str(quantity), field="quantity"
        )
    if decimal_places(quantity) > 3:
        raise errors.InvalidQuantity(
            "quantity has more than 3 decimals", quantity=str(quantity), field="quantity"
        )
    if quantity > MAX_STOCK:
        raise errors.InvalidQuantity(
            f"quantity exceeds {MAX_STOCK}", quantity=str(quantity), field="quantity"
        )
    if part.part_type == "consumable" and not is_whole(quantity):
        raise errors.FractionalQuantity(
            f"part {part.id} is a consumable and is counted in whole units",
            part_id=str(part.id),
            quantity=str(quantity),
        )


def _unit(part: PartInfo, given: str | None) -> str:
    if given is not None and given.casefold() != part.unit_of_measure.casefold():
        raise errors.UnitOfMeasureMismatch(
            f"part {part.id} is measured in {part.unit_of_measure!r}, not {given!r}",
            part_id=str(part.id),
            expected=part.unit_of_measure,
            given=given,
        )
    return part.unit_of_measure


def _check_warehouse(context: DecisionContext, warehouse_id: UUID, *, receives: bool) -> None:
    warehouse = context.warehouses.get(warehouse_id)
    if warehouse is None:
        raise errors.UnknownWarehouse(
            f"warehouse {warehouse_id} does not exist", warehouse_id=str(warehouse_id)
        )
    if receives and not warehouse.is_active:
        raise errors.WarehouseInactive(
            f"warehouse {warehouse_id} is inactive and receives no stock",
            warehouse_id=str(warehouse_id),
        )


def _record(
    command: CreateStock | TransferStock | ConsumeStock | AdjustStock,
    context: DecisionContext,
    policy: Policy,
) -> Movement:
    part = _part(context, command.part_id)
    date = _movement_date(command.transaction_date, context, policy)
    common = {
        "transaction_id": _new_id(context),
        "part_id": part.id,
        "unit_of_measure": _unit(part, command.unit_of_measure),
        "transaction_date": date,
        "notes": command.notes,
        "reference_number": command.reference_number,
    }
    if isinstance(command, AdjustStock):
        return _adjustment(command, part, context, policy, common)
    _check_quantity(command.quantity, part)
    source, destination = _from_to(command)
    if source is not None and source == destination:
        raise errors.InvalidWarehouses("a transfer needs two different warehouses")
    if source is not None:
        _check_warehouse(context, source, receives=isinstance(command, ConsumeStock))
    if destination is not None:
        _check_warehouse(context, destination, receives=True)
    pending = policy.requires_approval(command.quantity, part.unit_price)
    fields = {
        **common,
        "from_warehouse_id": source,
        "to_warehouse_id": destination,
        "quantity": command.quantity,
        "requires_approval": pending,
        "approval_status": "pending" if pending else "approved",
    }
    if isinstance(command, CreateStock):
        return StockCreated.model_validate(fields)
    if isinstance(command, TransferStock):
        return StockTransferred.model_validate(fields)
    owner = _machine_owner(command, context)
    return StockConsumed.model_validate(
        {**fields, "machine_id": command.machine_id, "customer_organization_id": owner}
    )


def _machine_owner(command: ConsumeStock, context: DecisionContext) -> UUID | None:
    if command.machine_id is None:
        return None
    machine = context.machines.get(command.machine_id)
    if machine is None:
        raise errors.UnknownMachine(
            f"machine {command.machine_id} does not exist", machine_id=str(command.machine_id)
        )
    if machine.owner_type != "customer":
        raise errors.InvalidMachineUse(
            "machines can only be owned by customer organizations", machine_id=str(machine.id)
        )
    if machine.status == "decommissioned":
        raise errors.InvalidMachineUse(f"machine {machine.id} is decommissioned", machine_id=str(machine.id))
    warehouse = context.warehouses[command.from_warehouse_id]
    if warehouse.organization_id != machine.customer_organization_id:
        raise errors.MachineWarehouseMismatch(
            "parts used on a machine must come out of a warehouse of the machine's owner",
            machine_id=str(machine.id),
            warehouse_id=str(warehouse.id),
        )
    return machine.customer_organization_id


def _adjustment(
    command: AdjustStock,
    part: PartInfo,
    context: DecisionContext,
    policy: Policy,
    common: dict[str, object],
) -> StockAdjusted:
    change = command.quantity_adjusted
    if change == 0:
        raise errors.InvalidQuantity("quantity_adjusted must not be zero", field="quantity_adjusted")
    _check_quantity(abs(change), part)
    _check_warehouse(context, command.warehouse_id, receives=change > 0)
    pending = policy.requires_approval(abs(change), part.unit_price)
    return StockAdjusted.model_validate(
        {
            **common,
            **_adjustment_sides(command.warehouse_id, change),
            "reason_code": command.reason_code,
            "requires_approval": pending,
            "approval_status": "pending" if pending else "approved",
        }
    )


def _adjustment_sides(warehouse_id: UUID, change: Decimal) -> dict[str, object]:
    """The spec keeps quantities positive: a decrease leaves `from`, an increase enters `to`."""
    side = "from_warehouse_id" if change < 0 else "to_warehouse_id"
    return {side: warehouse_id, "quantity": abs(change)}


def _count(command: CountStock, context: DecisionContext, policy: Policy) -> list[Event]:
    if not command.items:
        raise errors.EmptyCommand("a stocktake needs at least one item", field="items")
    _check_warehouse(context, command.warehouse_id, receives=False)
    date = _movement_date(command.transaction_date, context, policy)
    seen: set[UUID] = set()
    events: list[Event] = []
    for item in command.items:
        if item.part_id in seen:
            raise errors.DuplicateItem(f"part {item.part_id} is counted twice", part_id=str(item.part_id))
        seen.add(item.part_id)
        part = _part(context, item.part_id)
        _check_quantity(item.counted_quantity, part, allow_zero=True)
        difference = item.counted_quantity - context.stock.get((command.warehouse_id, part.id), Decimal(0))
        if difference == 0:
            continue
        if difference > 0:
            _check_warehouse(context, command.warehouse_id, receives=True)
        events.append(
            StockAdjusted.model_validate(
                {
                    "transaction_id": _new_id(context),
                    "part_id": part.id,
                    **_adjustment_sides(command.warehouse_id, difference),
                    "unit_of_measure": part.unit_of_measure,
                    "transaction_date": date,
                    "notes": command.notes,
                    "reference_number": command.reference_number,
                    "reason_code": STOCKTAKE_REASON,
                    "counted_quantity": item.counted_quantity,
                }
            )
        )
    return events


def _movement(context: DecisionContext, transaction_id: UUID) -> MovementState:
    state = context.movements.get(transaction_id)
    if state is None:
        raise errors.UnknownTransaction(
            f"transaction {transaction_id} does not exist", transaction_id=str(transaction_id)
        )
    return state


def _pending(context: DecisionContext, transaction_id: UUID, action: str) -> MovementState:
    state = _movement(context, transaction_id)
    if state.status != "pending":
        raise errors.InvalidTransactionState(
            f"transaction {transaction_id} is {state.status}; only pending ones can be {action}",
            transaction_id=str(transaction_id),
            approval_status=state.status,
        )
    return state


def _approve(command: ApproveMovement, context: DecisionContext) -> list[Event]:
    m = _pending(context, command.transaction_id, "approved").movement
    if m.to_warehouse_id is not None:
        _check_warehouse(context, m.to_warehouse_id, receives=True)
    return [
        MovementApproved(
            transaction_id=m.transaction_id,
            part_id=m.part_id,
            from_warehouse_id=m.from_warehouse_id,
            to_warehouse_id=m.to_warehouse_id,
            quantity=m.quantity,
            notes=command.notes,
        )
    ]


def _reject(command: RejectMovement, context: DecisionContext) -> list[Event]:
    _pending(context, command.transaction_id, "rejected")
    return [MovementRejected(transaction_id=command.transaction_id, notes=command.notes)]


def _reverse(command: ReverseMovement, context: DecisionContext) -> list[Event]:
    state = _movement(context, command.transaction_id)
    m = state.movement
    refuse = None
    if state.status != "approved":
        refuse = f"it is {state.status}; reject a pending movement instead"
    elif state.reversed_by is not None:
        refuse = f"it was already reversed by {state.reversed_by}"
    elif m.reverses_transaction_id is not None:
        refuse = "it is itself a reversal; record a new movement instead"
    if refuse:
        raise errors.InvalidTransactionState(
            f"transaction {m.transaction_id} cannot be reversed: {refuse}",
            transaction_id=str(m.transaction_id),
        )
    if m.from_warehouse_id is not None:
        _check_warehouse(context, m.from_warehouse_id, receives=True)
    reversal = _compensation(m, _new_id(context), context, command.notes)
    return [
        reversal,
        MovementReversed(
            transaction_id=m.transaction_id,
            reversal_transaction_id=reversal.transaction_id,
            notes=command.notes,
        ),
    ]


def _correct_date(command: CorrectMovementDate, context: DecisionContext, policy: Policy) -> Event:
    """The repair of a movement's date: held to the same range as any new movement's date."""
    m = _movement(context, command.transaction_id).movement
    return MovementDateCorrected(
        transaction_id=m.transaction_id,
        transaction_date=_movement_date(command.transaction_date, context, policy),
        previous_transaction_date=m.transaction_date.isoformat(),
        notes=command.notes,
    )


def _compensation(m: Movement, transaction_id: UUID, context: DecisionContext, notes: str | None) -> Movement:
    common = {
        "transaction_id": transaction_id,
        "part_id": m.part_id,
        "from_warehouse_id": m.to_warehouse_id,
        "to_warehouse_id": m.from_warehouse_id,
        "quantity": m.quantity,
        "unit_of_measure": m.unit_of_measure,
        "transaction_date": context.now,
        "notes": notes,
        "reference_number": m.reference_number,
        "reverses_transaction_id": m.transaction_id,
    }
    if isinstance(m, StockTransferred):
        return StockTransferred.model_validate(common)
    return StockAdjusted.model_validate({**common, "reason_code": REVERSAL_REASON})


def _check_stock(
    events: list[Event],
    expected_versions: dict[str, int],
    context: DecisionContext,
    policy: Policy,
) -> Decision:
    """Apply the events to the locked levels in order: refuse or warn about negative stock."""
    levels = dict(context.stock)
    recorded: list[tuple[str, Event]] = []
    all_warnings: list[str] = []
    for event in events:
        warnings: list[str] = []
        for key, delta in stock_changes(event):
            before = levels.get(key, Decimal(0))
            after = before + delta
            if abs(after) > MAX_STOCK:
                raise errors.StockOutOfRange(
                    f"stock would reach {after}, beyond {MAX_STOCK}",
                    warehouse_id=str(key[0]),
                    part_id=str(key[1]),
                )
            if delta < 0 and after < 0:
                if policy.negative_stock is NegativeStockPolicy.REJECT:
                    raise errors.InsufficientStock(
                        f"warehouse {key[0]} holds {before} of part {key[1]}; {-delta} requested",
                        warehouse_id=str(key[0]),
                        part_id=str(key[1]),
                        available=str(before),
                        requested=str(-delta),
                    )
                warnings.append(f"negative_stock: part {key[1]} in warehouse {key[0]} goes to {after}")
            levels[key] = after
        if warnings:
            event = event.model_copy(update={"warnings": tuple(warnings)})
            all_warnings.extend(warnings)
        recorded.append((_stream_of(event), event))
    decision = Decision(tuple(recorded), expected_versions, tuple(all_warnings))
    cap = policy.limits.transactions_per_year
    if context.movements_this_year + decision.new_movements > cap:
        raise errors.LimitReached(
            f"the cap of {cap} transactions per year is reached", limit="transactions_per_year"
        )
    return decision


def _stream_of(event: Event) -> str:
    stream_id = getattr(event, "stream_id", None)
    if isinstance(stream_id, str):
        return stream_id
    transaction_id = getattr(event, "transaction_id", None)
    assert isinstance(transaction_id, UUID)
    return movement_stream(transaction_id)
