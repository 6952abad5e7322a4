"""Events: the immutable facts the ledger records. Each stock movement is a stream of its own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from ledger.types import Timestamp

ApprovalStatus = Literal["approved", "pending"]


class Event(BaseModel):
    """Base of every event: frozen; `schema_version` is bumped when the payload's shape changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: ClassVar[int] = 1

    @property
    def event_type(self) -> str:
        """The name the event is stored under."""
        return type(self).__name__


class Movement(Event):
    """A stock movement: one row of the spec's `transactions` table."""

    transaction_type: ClassVar[str]

    transaction_id: UUID
    part_id: UUID
    from_warehouse_id: UUID | None = None
    to_warehouse_id: UUID | None = None
    machine_id: UUID | None = None
    quantity: Decimal
    unit_of_measure: str
    transaction_date: Timestamp
    notes: str | None = None
    reference_number: str | None = None
    requires_approval: bool = False
    approval_status: ApprovalStatus = "approved"
    reverses_transaction_id: UUID | None = None
    warnings: tuple[str, ...] = ()

    @property
    def stream_id(self) -> str:
        """The stream this movement's life is recorded in."""
        return movement_stream(self.transaction_id)


class StockCreated(Movement):
    """New stock arrived in `to_warehouse_id`."""

    transaction_type: ClassVar[str] = "creation"


class StockTransferred(Movement):
    """Stock moved from `from_warehouse_id` to `to_warehouse_id`."""

    transaction_type: ClassVar[str] = "transfer"


class StockConsumed(Movement):
    """Stock left `from_warehouse_id` for use, on `machine_id` when given (part usage)."""

    transaction_type: ClassVar[str] = "consumption"
    customer_organization_id: UUID | None = None


class StockAdjusted(Movement):
    """Stock was corrected: decreased out of `from_warehouse_id` or increased into `to_warehouse_id`."""

    transaction_type: ClassVar[str] = "adjustment"
    reason_code: str
    counted_quantity: Decimal | None = None

    @property
    def quantity_adjusted(self) -> Decimal:
        """The signed change: negative for a decrease."""
        return -self.quantity if self.from_warehouse_id is not None else self.quantity


class MovementApproved(Event):
    """A pending movement was approved; its stock change (repeated here) takes effect now."""

    transaction_id: UUID
    part_id: UUID
    from_warehouse_id: UUID | None = None
    to_warehouse_id: UUID | None = None
    quantity: Decimal
    notes: str | None = None
    warnings: tuple[str, ...] = ()


class MovementRejected(Event):
    """A pending movement was rejected; it never changes stock."""

    transaction_id: UUID
    notes: str | None = None


class MovementReversed(Event):
    """An approved movement was undone by the compensating movement `reversal_transaction_id`."""

    transaction_id: UUID
    reversal_transaction_id: UUID
    notes: str | None = None


class MovementDateCorrected(Event):
    """An operator replaced the movement's date; readers show this one, the log keeps the first.

    `previous_transaction_date` is the date replaced, as the log held it (text: it may be one no
    reader can represent, which is why it was corrected).
    """

    transaction_id: UUID
    transaction_date: Timestamp
    previous_transaction_date: str
    notes: str | None = None


MOVEMENT_TYPES: tuple[type[Movement], ...] = (
    StockCreated,
    StockTransferred,
    StockConsumed,
    StockAdjusted,
)
_DECISIONS: tuple[type[Event], ...] = (
    MovementApproved,
    MovementRejected,
    MovementReversed,
    MovementDateCorrected,
)
EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in MOVEMENT_TYPES + _DECISIONS}


def movement_stream(transaction_id: UUID) -> str:
    """The stream id of a movement."""
    return f"movement-{transaction_id}"


def event_from_stored(event_type: str, payload: dict[str, Any]) -> Event:
    """Rebuild a domain event from its stored type name and JSON payload."""
    return EVENT_TYPES[event_type].model_validate(payload)


def _register_order_events() -> None:
    # Order events live in ledger.orders, which builds on Event above: registered once both exist.
    from ledger.orders.events import ORDER_EVENT_TYPES

    EVENT_TYPES.update({cls.__name__: cls for cls in ORDER_EVENT_TYPES})


_register_order_events()
