"""Events: the immutable facts the ledger records. Each stock movement is a stream of its own.

The stored contract is versioned apart from the Python code: each concrete event
declares the literal `event_type` it is stored under (never derived from its
class name, so renaming a class cannot change the log) and its current
`schema_version`. An older payload is brought up to date when it is read, by the
upcasters registered for (event type, stored version); the log itself, and the
hashes over it, keep the payload exactly as it was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from ledger.types import Timestamp

ApprovalStatus = Literal["approved", "pending"]


class Event(BaseModel):
    """Base of every event: frozen; `schema_version` is bumped when the payload's shape changes.

    A concrete event sets `event_type`, the literal name it is stored under; a
    bump of `schema_version` comes with an upcaster from the previous version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


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

    event_type: ClassVar[str] = "StockCreated"
    transaction_type: ClassVar[str] = "creation"


class StockTransferred(Movement):
    """Stock moved from `from_warehouse_id` to `to_warehouse_id`."""

    event_type: ClassVar[str] = "StockTransferred"
    transaction_type: ClassVar[str] = "transfer"


class StockConsumed(Movement):
    """Stock left `from_warehouse_id` for use, on `machine_id` when given (part usage)."""

    event_type: ClassVar[str] = "StockConsumed"
    transaction_type: ClassVar[str] = "consumption"
    customer_organization_id: UUID | None = None


class StockAdjusted(Movement):
    """Stock was corrected: decreased out of `from_warehouse_id` or increased into `to_warehouse_id`."""

    event_type: ClassVar[str] = "StockAdjusted"
    transaction_type: ClassVar[str] = "adjustment"
    reason_code: str
    counted_quantity: Decimal | None = None

    @property
    def quantity_adjusted(self) -> Decimal:
        """The signed change: negative for a decrease."""
        return -self.quantity if self.from_warehouse_id is not None else self.quantity


class MovementApproved(Event):
    """A pending movement was approved; its stock change (repeated here) takes effect now."""

    event_type: ClassVar[str] = "MovementApproved"
    transaction_id: UUID
    part_id: UUID
    from_warehouse_id: UUID | None = None
    to_warehouse_id: UUID | None = None
    quantity: Decimal
    notes: str | None = None
    warnings: tuple[str, ...] = ()


class MovementRejected(Event):
    """A pending movement was rejected; it never changes stock."""

    event_type: ClassVar[str] = "MovementRejected"
    transaction_id: UUID
    notes: str | None = None


class MovementReversed(Event):
    """An approved movement was undone by the compensating movement `reversal_transaction_id`."""

    event_type: ClassVar[str] = "MovementReversed"
    transaction_id: UUID
    reversal_transaction_id: UUID
    notes: str | None = None


class MovementDateCorrected(Event):
    """An operator replaced the movement's date; readers show this one, the log keeps the first.

    `previous_transaction_date` is the date replaced, as the log held it (text: it may be one no
    reader can represent, which is why it was corrected).
    """

    event_type: ClassVar[str] = "MovementDateCorrected"

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

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# The stored name -> the class that reads it. Filled by register(): this module's events below,
# the order events once ledger.orders.events exists.
EVENT_TYPES: dict[str, type[Event]] = {}
# (event type, stored schema version) -> the payload one version up. Empty: no event has changed shape yet.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnreadableEvent(KeyError):
    """A stored event this version of the code cannot read: unknown type, or no way up from its version."""


def register(classes: tuple[type[Event], ...]) -> None:
    """Add events to EVENT_TYPES under their declared stored names (each name once)."""
    for cls in classes:
        name = cls.__dict__.get("event_type")
        if not isinstance(name, str):
            raise TypeError(f"{cls.__qualname__} declares no event_type of its own")
        if EVENT_TYPES.get(name, cls) is not cls:
            raise TypeError(f"{name!r} is already the stored name of {EVENT_TYPES[name].__qualname__}")
        EVENT_TYPES[name] = cls


def movement_stream(transaction_id: UUID) -> str:
    """The stream id of a movement."""
    return f"movement-{transaction_id}"


def upcast(
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    target: int,
    upcasters: Mapping[tuple[str, int], Upcaster],
) -> dict[str, Any]:
    """Bring a payload stored at `schema_version` up to `target`, one registered step at a time."""
    if schema_version > target:
        raise UnreadableEvent(f"{event_type} v{schema_version} is newer than this code's v{target}")
    for version in range(schema_version, target):
        step = upcasters.get((event_type, version))
        if step is None:
            raise UnreadableEvent(f"no upcaster for {event_type} from v{version}")
        payload = step(payload)
    return payload


def event_from_stored(
    event_type: str,
    payload: dict[str, Any],
    schema_version: int = 1,
    *,
    registry: Mapping[str, type[Event]] | None = None,
    upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
) -> Event:
    """Rebuild the current domain event from its stored type name, schema version and JSON payload."""
    registry = EVENT_TYPES if registry is None else registry
    cls = registry.get(event_type)
    if cls is None:
        raise UnreadableEvent(f"unknown event type {event_type!r}")
    current = upcast(
        event_type, schema_version, payload, cls.schema_version, UPCASTERS if upcasters is None else upcasters
    )
    return cls.model_validate(current)


def _register_order_events() -> None:
    # Order events live in ledger.orders, which builds on Event above: registered once both exist.
    from ledger.orders.events import ORDER_EVENT_TYPES

    register(ORDER_EVENT_TYPES)


register(MOVEMENT_TYPES + _DECISIONS)
_register_order_events()
