"""What a decision needs to know: reference data snapshots and each movement's current state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger.events import (
    Event,
    Movement,
    MovementApproved,
    MovementDateCorrected,
    MovementRejected,
    MovementReversed,
)
from ledger.fold import StockKey
from ledger.orders.state import OrderState
from ledger.results import ResultingMovement, trusted


@dataclass(frozen=True)
class PartInfo:
    """The part attributes the rules use."""

    id: UUID
    part_type: str  # 'consumable' | 'bulk_material'
    unit_of_measure: str
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class WarehouseInfo:
    """The warehouse attributes the rules use."""

    id: UUID
    organization_id: UUID
    is_active: bool = True


@dataclass(frozen=True)
class MachineInfo:
    """The machine attributes the rules use."""

    id: UUID
    customer_organization_id: UUID
    owner_type: str  # organization_type_enum of the owner
    status: str = "active"


@dataclass(frozen=True)
class OrganizationInfo:
    """The organization attributes the order rules use."""

    id: UUID
    organization_type: str
    name: str
    is_active: bool = True


@dataclass(frozen=True)
class UserInfo:
    """The acting user."""

    id: UUID
    organization_id: UUID
    is_active: bool = True


@dataclass(frozen=True)
class MovementState:
    """A movement as its stream tells it now."""

    movement: Movement
    version: int
    status: str  # 'approved' | 'pending' | 'rejected'
    reversed_by: UUID | None = None
    # Who recorded it (its first event's performed_by): None when the caller does not know.
    recorded_by: UUID | None = None


def evolve(state: MovementState | None, event: Event, version: int) -> MovementState | None:
    """The movement's state after one more event of its stream."""
    if isinstance(event, Movement):
        return MovementState(movement=event, version=version, status=event.approval_status)
    if state is None:
        return None
    if isinstance(event, MovementApproved):
        return replace(state, version=version, status="approved")
    if isinstance(event, MovementRejected):
        return replace(state, version=version, status="rejected")
    if isinstance(event, MovementReversed):
        return replace(state, version=version, reversed_by=event.reversal_transaction_id)
    if isinstance(event, MovementDateCorrected):
        dated = state.movement.model_copy(update={"transaction_date": event.transaction_date})
        return replace(state, version=version, movement=dated)
    return replace(state, version=version)


def movement_state(
    events: Iterable[tuple[int, Event]], recorded_by: UUID | None = None
) -> MovementState | None:
    """Fold a movement stream's (version, event) pairs into its current state.

    `recorded_by` is the user who performed the stream's first event (events carry no metadata).
    """
    state: MovementState | None = None
    for version, event in events:
        state = evolve(state, event, version)
    return None if state is None else replace(state, recorded_by=recorded_by)


def resulting_movement(state: MovementState, recorded_at: datetime) -> ResultingMovement | None:
    """What a command's answer shows of the movement in `state` (None when who recorded it is unknown)."""
    if state.recorded_by is None:
        return None
    return _shown(state.movement, state.status, state.recorded_by, recorded_at)


def created_movements(
    events: tuple[tuple[str, Event], ...],
    transaction_ids: tuple[UUID, ...],
    read: Mapping[str, object],
    recorded_by: UUID,
    recorded_at: datetime,
) -> tuple[ResultingMovement, ...] | None:
    """What the answer shows of a decision whose every event creates a movement of its own (its
    `transaction_ids`, one per event, in order) in a stream not `read`: every line of a stocktake,
    each straight from its event. None for any other decision (then its streams are folded)."""
    created: list[Movement] = []
    for stream, event in events:
        if not isinstance(event, Movement) or stream in read:
            return None
        created.append(event)
    if tuple(m.transaction_id for m in created) != transaction_ids:
        return None
    return tuple(_shown(m, m.approval_status, recorded_by, recorded_at) for m in created)


def _shown(m: Movement, status: str, recorded_by: UUID, recorded_at: datetime) -> ResultingMovement:
    # Built from validated values: no second validation on the command's path.
    return trusted(
        ResultingMovement,
        {
            "transaction_type": m.transaction_type,
            "part_id": m.part_id,
            "from_warehouse_id": m.from_warehouse_id,
            "to_warehouse_id": m.to_warehouse_id,
            "machine_id": m.machine_id,
            "quantity": m.quantity,
            "unit_of_measure": m.unit_of_measure,
            "transaction_date": m.transaction_date,
            "notes": m.notes,
            "reference_number": m.reference_number,
            "requires_approval": m.requires_approval,
            "approval_status": status,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
        },
    )


@dataclass(frozen=True)
class DecisionContext:
    """Everything decide() reads: loaded by the store, then never changed."""

    now: datetime
    actor: UserInfo | None
    parts: Mapping[UUID, PartInfo] = field(default_factory=dict)
    warehouses: Mapping[UUID, WarehouseInfo] = field(default_factory=dict)
    machines: Mapping[UUID, MachineInfo] = field(default_factory=dict)
    movements: Mapping[UUID, MovementState] = field(default_factory=dict)
    stock: Mapping[StockKey, Decimal] = field(default_factory=dict)  # on hand, of the locked levels
    movements_this_year: int = 0
    new_id: Callable[[], UUID] | None = None
    organizations: Mapping[UUID, OrganizationInfo] = field(default_factory=dict)
    orders: Mapping[UUID, OrderState] = field(default_factory=dict)
    oraseas_id: UUID | None = None
    reserved: Mapping[StockKey, Decimal] = field(default_factory=dict)  # reserved, of the locked levels
