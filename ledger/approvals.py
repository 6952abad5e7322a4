"""The handlers of decisions on a recorded movement: approve, reject, reverse it, or correct its date.

Each reads the movement's stream; a command that pins the movement's version
(`expected_version`) is refused with ConcurrencyConflict when the stream moved on.
"""

from __future__ import annotations

from uuid import UUID

from ledger import errors, rules
from ledger.commands import ApproveMovement, CorrectMovementDate, RejectMovement, ReverseMovement
from ledger.events import (
    Event,
    Movement,
    MovementApproved,
    MovementDateCorrected,
    MovementRejected,
    MovementReversed,
    StockAdjusted,
    StockTransferred,
)
from ledger.needs import Found, Needs, Streams
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import DecisionContext, MovementState

REVERSAL_REASON = "reversal"

OnMovement = ApproveMovement | RejectMovement | ReverseMovement | CorrectMovementDate


def streams(command: OnMovement) -> Streams:
    """The movement's own stream."""
    return Streams(transaction_ids=frozenset({command.transaction_id}))


def needs(command: OnMovement, found: Found) -> Needs:
    """The movement's part and warehouses; approving or reversing it locks their levels."""
    state = found.movements.get(command.transaction_id)
    if state is None:
        return Needs()
    m = state.movement
    warehouses = frozenset(w for w in (m.from_warehouse_id, m.to_warehouse_id) if w is not None)
    changes_stock = not isinstance(command, RejectMovement | CorrectMovementDate)
    return Needs(
        part_ids=frozenset({m.part_id}),
        warehouse_ids=warehouses,
        lock=frozenset((w, m.part_id) for w in warehouses) if changes_stock else frozenset(),
    )


def approve(command: ApproveMovement, context: DecisionContext, policy: Policy) -> Decision:
    """A pending movement takes effect now (its destination must still receive stock).

    Under the policy's segregation of duties its recorder may not approve it (SelfApproval);
    rejecting it stays open to her, as ERPNext lets an owner cancel: a rejection moves no stock.
    """
    state = _pending(context, command.transaction_id, "approved")
    _check_duties(state, context, policy)
    m = state.movement
    if m.to_warehouse_id is not None:
        rules.check_warehouse(context, m.to_warehouse_id, receives=True)
    approved = MovementApproved(
        transaction_id=m.transaction_id,
        part_id=m.part_id,
        from_warehouse_id=m.from_warehouse_id,
        to_warehouse_id=m.to_warehouse_id,
        quantity=m.quantity,
        notes=command.notes,
    )
    return _settle(command, [approved], context, policy)


def reject(command: RejectMovement, context: DecisionContext, policy: Policy) -> Decision:
    """A pending movement never takes effect."""
    _pending(context, command.transaction_id, "rejected")
    rejected = MovementRejected(transaction_id=command.transaction_id, notes=command.notes)
    return _settle(command, [rejected], context, policy)


def reverse(command: ReverseMovement, context: DecisionContext, policy: Policy) -> Decision:
    """Undo an approved movement with a compensating one, once; a reversal is not reversed."""
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
        rules.check_warehouse(context, m.from_warehouse_id, receives=True)
    reversal = _compensation(m, rules.new_id(context), context, command.notes)
    reversed_ = MovementReversed(
        transaction_id=m.transaction_id,
        reversal_transaction_id=reversal.transaction_id,
        notes=command.notes,
    )
    return _settle(command, [reversal, reversed_], context, policy)


def correct_date(command: CorrectMovementDate, context: DecisionContext, policy: Policy) -> Decision:
    """The repair of a movement's date: held to the same range as any new movement's date."""
    m = _movement(context, command.transaction_id).movement
    corrected = MovementDateCorrected(
        transaction_id=m.transaction_id,
        transaction_date=rules.transaction_date(command.transaction_date, context, policy, backdating=False),
        previous_transaction_date=m.transaction_date.isoformat(),
        notes=command.notes,
    )
    return _settle(command, [corrected], context, policy)


def _settle(command: OnMovement, events: list[Event], context: DecisionContext, policy: Policy) -> Decision:
    """Refuse a pinned version that moved on, then settle the events like any others."""
    state = context.movements[command.transaction_id]
    if command.expected_version is not None and command.expected_version != state.version:
        raise errors.ConcurrencyConflict(
            f"transaction {command.transaction_id} is at version {state.version}, "
            f"not {command.expected_version}",
            transaction_id=str(command.transaction_id),
            version=state.version,
        )
    return rules.settle(events, context, policy)


def _check_duties(state: MovementState, context: DecisionContext, policy: Policy) -> None:
    actor = context.actor.id if context.actor is not None else None
    if policy.segregate_approvals and actor is not None and actor == state.recorded_by:
        raise errors.SelfApproval(
            f"transaction {state.movement.transaction_id} was recorded by this user; "
            "another admin must approve it",
            transaction_id=str(state.movement.transaction_id),
            recorded_by=str(actor),
        )


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
