"""What a command returns: the events it appended, their log positions, and any warnings."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict


class AppendedEvent(BaseModel):
    """Where one appended event landed in the log."""

    model_config = ConfigDict(frozen=True)

    position: int
    stream_id: str
    stream_version: int
    event_type: str


class CommandResult(BaseModel):
    """The outcome of an accepted command.

    `position` is the highest log position written (None when nothing was),
    `log_transaction_id` the writing transaction's xid8 (for read-your-writes),
    `transaction_ids` the movements created or acted on, in order.
    """

    model_config = ConfigDict(frozen=True)

    position: int | None
    log_transaction_id: int | None
    events: tuple[AppendedEvent, ...]
    transaction_ids: tuple[UUID, ...]
    warnings: tuple[str, ...] = ()
    replayed: bool = False
    order_id: UUID | None = None
