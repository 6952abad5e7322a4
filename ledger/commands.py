"""Commands: what a client asks the ledger to do. Small immutable values; the rules live in decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.types import ClientTimestamp, ReasonCode, ShortText, Text, Unit


class Command(BaseModel):
    """Base of every command: frozen, no unknown fields, strict-ish decimals."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _Movement(Command):
    part_id: UUID
    quantity: Decimal
    unit_of_measure: Unit | None = None
    transaction_date: ClientTimestamp | None = None
    notes: Text | None = None
    reference_number: ShortText | None = None


class CreateStock(_Movement):
    """Bring new stock into a warehouse (a `creation`)."""

    to_warehouse_id: UUID


class TransferStock(_Movement):
    """Move stock from one warehouse to another (a `transfer`)."""

    from_warehouse_id: UUID
    to_warehouse_id: UUID


class ConsumeStock(_Movement):
    """Take stock out of a warehouse for use, optionally on a machine (part usage)."""

    from_warehouse_id: UUID
    machine_id: UUID | None = None


class AdjustStock(Command):
    """Correct stock by a signed amount, with a reason (an `adjustment`)."""

    warehouse_id: UUID
    part_id: UUID
    quantity_adjusted: Decimal
    reason_code: ReasonCode
    unit_of_measure: Unit | None = None
    transaction_date: ClientTimestamp | None = None
    notes: Text | None = None
    reference_number: ShortText | None = None


class CountedItem(Command):
    """One line of a stocktake: the quantity found on the shelf."""

    part_id: UUID
    counted_quantity: Decimal


class CountStock(Command):
    """A stocktake: each counted quantity becomes an adjustment of the difference."""

    warehouse_id: UUID
    items: Annotated[tuple[CountedItem, ...], Field(max_length=10_000)]
    transaction_date: ClientTimestamp | None = None
    notes: Text | None = None
    reference_number: ShortText | None = None


class _Decision(Command):
    transaction_id: UUID
    notes: Text | None = None
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse unless the movement is at this version."
    )


class ApproveMovement(_Decision):
    """Approve a pending movement: its stock change takes effect now."""


class RejectMovement(_Decision):
    """Reject a pending movement: it never changes stock."""


class ReverseMovement(_Decision):
    """Undo an approved movement with a compensating one; nothing is deleted."""


class CorrectMovementDate(_Decision):
    """Repair a movement's date (one recorded before dates were bounded): the log keeps both."""

    transaction_date: ClientTimestamp


StockCommand = (
    CreateStock
    | TransferStock
    | ConsumeStock
    | AdjustStock
    | CountStock
    | ApproveMovement
    | RejectMovement
    | ReverseMovement
    | CorrectMovementDate
)
