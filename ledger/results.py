"""What a command returns: the events it appended, their log positions, any warnings, and the movements
as it left them."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The text warnings were before they had fields; results stored under an idempotency key then
# still hold it, and recalling them must give the typed warning.
OLD_NEGATIVE_STOCK = re.compile(
    r"negative_stock: part (?P<part>[0-9a-f-]{36}) in warehouse (?P<warehouse>[0-9a-f-]{36}) "
    r"goes to (?P<stock>-?[0-9.]+(?:E[+-]?[0-9]+)?)"
)


class StockWarning(BaseModel):
    """Something a client may act on although the command was accepted (policy `warn`).

    `negative_stock`: stock went below zero. `stock_reserved`: the command took (or reserved)
    stock that customer orders had reserved, so `resulting_available` (on hand - reserved) is
    below zero.
    """

    model_config = ConfigDict(frozen=True)

    code: Literal["negative_stock", "stock_reserved"] = Field(
        description="Stable; what the warning is about."
    )
    part_id: UUID
    warehouse_id: UUID
    resulting_stock: Decimal = Field(description="The warehouse's stock of the part after the command.")
    detail: str = Field(description="The same for a person to read.")
    resulting_available: Decimal | None = Field(
        default=None, description="stock_reserved only: on hand minus reserved after the command."
    )

    @classmethod
    def negative_stock(cls, warehouse_id: UUID, part_id: UUID, resulting_stock: Decimal) -> StockWarning:
        """Stock of `part_id` in `warehouse_id` goes to `resulting_stock` (below zero)."""
        return cls(
            code="negative_stock",
            part_id=part_id,
            warehouse_id=warehouse_id,
            resulting_stock=resulting_stock,
            detail=f"negative_stock: part {part_id} in warehouse {warehouse_id} goes to {resulting_stock}",
        )

    @classmethod
    def stock_reserved(
        cls, warehouse_id: UUID, part_id: UUID, resulting_stock: Decimal, resulting_available: Decimal
    ) -> StockWarning:
        """Stock of `part_id` in `warehouse_id` reserved for orders was taken: available goes below zero."""
        return cls(
            code="stock_reserved",
            part_id=part_id,
            warehouse_id=warehouse_id,
            resulting_stock=resulting_stock,
            resulting_available=resulting_available,
            detail=f"stock_reserved: part {part_id} in warehouse {warehouse_id} has {resulting_stock} "
            f"on hand, available goes to {resulting_available}",
        )

    @classmethod
    def from_text(cls, text: str) -> StockWarning:
        """The typed warning a text warning of the old format states (ValueError for any other text)."""
        found = OLD_NEGATIVE_STOCK.fullmatch(text)
        if found is None:
            raise ValueError(f"not a warning this ledger writes: {text!r}")
        return cls(
            code="negative_stock",
            part_id=UUID(found["part"]),
            warehouse_id=UUID(found["warehouse"]),
            resulting_stock=Decimal(found["stock"]),
            detail=text,
        )


class AppendedEvent(BaseModel):
    """Where one appended event landed in the log."""

    model_config = ConfigDict(frozen=True)

    position: int
    stream_id: str
    stream_version: int
    event_type: str


class ResultingMovement(BaseModel):
    """A movement as the command that created or acted on it left it: what its answer shows.

    The ledger builds it from the streams it loaded and the events it appended, so the answer
    needs no read of the log. `recorded_at` and `recorded_by` are its first event's.
    """

    model_config = ConfigDict(frozen=True)

    transaction_type: str
    part_id: UUID
    from_warehouse_id: UUID | None
    to_warehouse_id: UUID | None
    machine_id: UUID | None
    quantity: Decimal
    unit_of_measure: str
    transaction_date: datetime
    notes: str | None
    reference_number: str | None
    requires_approval: bool
    approval_status: str
    recorded_at: datetime
    recorded_by: UUID


class CommandResult(BaseModel):
    """The outcome of an accepted command.

    `position` is the highest log position written (None when nothing was),
    `log_transaction_id` the writing transaction's xid8 (for read-your-writes),
    `transaction_ids` the movements created or acted on, in order; `movements` the same movements
    as the command left them (None when not known: a result stored before it was kept, or one
    not made by a batch's decision; then the answer reads them).
    """

    model_config = ConfigDict(frozen=True)

    position: int | None
    log_transaction_id: int | None
    events: tuple[AppendedEvent, ...]
    transaction_ids: tuple[UUID, ...]
    warnings: tuple[StockWarning, ...] = ()
    replayed: bool = False
    order_id: UUID | None = None
    movements: tuple[ResultingMovement, ...] | None = None

    @field_validator("warnings", mode="before")
    @classmethod
    def _read_old_texts(cls, value: object) -> object:
        # A result stored before warnings had fields holds their text.
        if isinstance(value, list | tuple):
            return [StockWarning.from_text(v) if isinstance(v, str) else v for v in value]
        return value


Model = TypeVar("Model", bound=BaseModel)
_set = object.__setattr__


def trusted(cls: type[Model], values: dict[str, object]) -> Model:
    """`cls.model_construct(**values)` with every field given, at a quarter of its cost: what it sets.

    Only for values the ledger built from validated ones (a stocktake's answer holds hundreds).
    """
    model = object.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
