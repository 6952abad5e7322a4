"""What the store loads for a command before deciding it: the streams it reads, then reference rows and locks.

Two steps, because some needs follow from what a stream says: approving a
movement locks the stock levels of that movement's warehouses, and shipping an
order reads the parts on the order's lines. Streams come first anyway: they must
be read before the transaction gets its xid (see ledger.postgres.context).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from ledger.fold import StockKey
from ledger.orders.state import OrderState
from ledger.state import MovementState


@dataclass(frozen=True)
class Streams:
    """The streams a command reads: movements by transaction id, orders by stream id."""

    transaction_ids: frozenset[UUID] = frozenset()
    order_streams: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Found:
    """The current state of the streams a command read (absent when a stream is empty)."""

    movements: Mapping[UUID, MovementState] = field(default_factory=dict)
    orders: Mapping[UUID, OrderState] = field(default_factory=dict)


@dataclass(frozen=True)
class Needs:
    """The reference rows a command reads and the stock levels it locks.

    `organization_ids` is None when the command reads no organizations at all;
    given, the Oraseas EE organization is read with them.
    """

    part_ids: frozenset[UUID] = frozenset()
    warehouse_ids: frozenset[UUID] = frozenset()
    machine_ids: frozenset[UUID] = frozenset()
    organization_ids: frozenset[UUID] | None = None
    lock: frozenset[StockKey] = frozenset()
