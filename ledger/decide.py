"""The one dispatch table: every stock and order command, its handler, and what the store loads for it.

A handler is pure: `decide(command, context, policy) -> Decision`. The store
runs every command through the same path (ledger.postgres.service): read the
streams the handler names -> load and lock what it needs -> recall an earlier
result -> decide -> commit. Adding a command is a command type, a handler, and
one entry in COMMAND_HANDLERS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from ledger import approvals, corrections, movements, rules
from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    Command,
    ConsumeStock,
    CorrectMovementDate,
    CountStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
    TransferStock,
)
from ledger.fold import StockKey
from ledger.needs import Found, Needs, Streams
from ledger.orders import commands as c
from ledger.orders import decide as orders
from ledger.orders import needs as order_needs
from ledger.orders import requests
from ledger.orders.commands import OrderCommand
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import DecisionContext, MovementState

C = TypeVar("C", bound=Command)


def no_streams(command: Command) -> Streams:
    """A command that reads no stream: it only starts new ones."""
    return Streams()


@dataclass(frozen=True)
class Handler(Generic[C]):
    """How one command type is decided, and what the store loads for it first."""

    decide: Callable[[C, DecisionContext, Policy], Decision]
    needs: Callable[[C, Found], Needs]
    streams: Callable[[C], Streams] = no_streams


MOVEMENT = Handler(movements.record, movements.needs)

COMMAND_HANDLERS: Mapping[type[Command], Handler[Any]] = {
    CreateStock: MOVEMENT,
    TransferStock: MOVEMENT,
    ConsumeStock: MOVEMENT,
    AdjustStock: Handler(corrections.adjust, corrections.adjust_needs),
    CountStock: Handler(corrections.count, corrections.count_needs),
    ApproveMovement: Handler(approvals.approve, approvals.needs, approvals.streams),
    RejectMovement: Handler(approvals.reject, approvals.needs, approvals.streams),
    ReverseMovement: Handler(approvals.reverse, approvals.needs, approvals.streams),
    CorrectMovementDate: Handler(approvals.correct_date, approvals.needs, approvals.streams),
    c.RequestCustomerOrder: Handler(requests.request_customer, order_needs.needs, order_needs.streams),
    c.ConfirmCustomerOrder: Handler(orders.advance, order_needs.needs, order_needs.streams),
    c.CancelCustomerOrder: Handler(orders.cancel, order_needs.needs, order_needs.streams),
    c.ShipCustomerOrder: Handler(orders.ship, order_needs.needs, order_needs.streams),
    c.ReceiveCustomerOrder: Handler(orders.receive_customer, order_needs.needs, order_needs.streams),
    c.RequestSupplierOrder: Handler(requests.request_supplier, order_needs.needs, order_needs.streams),
    c.PlaceSupplierOrder: Handler(orders.advance, order_needs.needs, order_needs.streams),
    c.ReceiveSupplierOrder: Handler(orders.receive_supplier, order_needs.needs, order_needs.streams),
    c.CancelSupplierOrder: Handler(orders.cancel, order_needs.needs, order_needs.streams),
}


def handler_for(command: StockCommand | OrderCommand) -> Handler[Any]:
    """The command's handler (every command type has one: see tests/ledger/test_handlers.py)."""
    return COMMAND_HANDLERS[type(command)]


def decide(command: StockCommand | OrderCommand, context: DecisionContext, policy: Policy) -> Decision:
    """Check every rule for `command` against `context`; return the events to record, or raise."""
    rules.require_actor(context)
    return handler_for(command).decide(command, context, policy)


def stock_keys(
    command: StockCommand | OrderCommand, movements: Mapping[UUID, MovementState]
) -> set[StockKey]:
    """The (warehouse, part) levels the command may change: the store locks them before deciding."""
    return set(handler_for(command).needs(command, Found(movements=movements)).lock)
