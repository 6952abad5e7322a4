"""Order commands over HTTP: build the ledger command from a body, run it, answer with the order."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.http.auth.principal import Principal
from api.http.commanding import run_command
from api.http.orders import queries as q
from api.http.orders.schemas import CustomerOrderIn, MovementIn, OrderOut, SupplierOrderIn
from ledger.orders import commands as c
from ledger.postgres.eventstore import Connection
from ledger.postgres.service import PostgresLedger


def items(body: CustomerOrderIn | SupplierOrderIn) -> tuple[c.OrderItem, ...]:
    """The ordered lines of a request body."""
    return tuple(
        c.OrderItem(part_id=i.part_id, quantity=i.quantity, unit_price=i.unit_price) for i in body.items
    )


def moves(body: MovementIn) -> tuple[c.MoveItem, ...]:
    """The shipped or received lines of a request body."""
    return tuple(c.MoveItem(part_id=i.part_id, quantity=i.quantity) for i in body.items)


def answer(
    request: Request,
    conn: Connection,
    ledger: PostgresLedger,
    caller: Principal,
    command: Any,
    kind: str,
    key: str | None,
    request_id: str | None,
) -> OrderOut:
    """Run `command` and describe its order as the order's stream now tells it."""
    result = run_command(request, conn, ledger, caller, command, key, request_id)
    assert result.order_id is not None
    return q.from_stream(conn, kind, result.order_id, result.position, list(result.warnings))
