"""Stock command routes: each turns a request into a ledger command and answers 201 with what it recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Request

from api.http.commanding import run_command
from api.http.deps import Connection, CurrentUser, IdempotencyKey, Ledger, RequestId
from api.http.stock import access, commands
from api.http.stock.schemas import (
    DecisionIn,
    PartUsageIn,
    Recorded,
    StockAdjustmentIn,
    StocktakeIn,
    TransactionIn,
)
from ledger.commands import ApproveMovement, RejectMovement, ReverseMovement, StockCommand

router = APIRouter(tags=["stock commands"])


def _run(
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    command: StockCommand,
    key: str | None,
    request_id: str | None,
) -> Recorded:
    access.check(conn, caller, command)
    result = run_command(request, conn, ledger, caller, command, key, request_id)
    return commands.recorded(conn, result)


@router.post("/transactions", status_code=201, response_model=Recorded, summary="Record a movement")
def post_transaction(
    body: TransactionIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> Recorded:
    """Record a creation, transfer, consumption or adjustment."""
    command = commands.transaction_command(body)
    return _run(request, conn, ledger, caller, command, key, request_id)


def _decision(
    kind: type[ApproveMovement | RejectMovement | ReverseMovement], summary: str
) -> Callable[..., Recorded]:
    def route(
        transaction_id: UUID,
        request: Request,
        conn: Connection,
        ledger: Ledger,
        caller: CurrentUser,
        body: Annotated[DecisionIn | None, Body()] = None,
        key: IdempotencyKey = None,
        request_id: RequestId = None,
    ) -> Recorded:
        decision = body or DecisionIn()
        command = kind(
            transaction_id=transaction_id, notes=decision.notes, expected_version=decision.expected_version
        )
        return _run(request, conn, ledger, caller, command, key, request_id)

    route.__doc__ = summary
    return route


for path, kind, summary in (
    ("approve", ApproveMovement, "Approve a pending movement (admins)."),
    ("reject", RejectMovement, "Reject a pending movement (admins)."),
    ("reverse", ReverseMovement, "Undo an approved movement with a compensating one (admins)."),
):
    router.add_api_route(
        f"/transactions/{{transaction_id}}/{path}",
        _decision(kind, summary),
        methods=["POST"],
        status_code=201,
        response_model=Recorded,
        summary=summary.rstrip("."),
        name=f"{path}_transaction",
    )


@router.post("/stock-adjustments", status_code=201, response_model=Recorded, summary="Adjust stock")
def post_stock_adjustment(
    body: StockAdjustmentIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> Recorded:
    """Correct one part's stock in one warehouse by a signed quantity, with a reason (admins)."""
    return _run(request, conn, ledger, caller, commands.adjustment_command(body), key, request_id)


@router.post("/stocktakes", status_code=201, response_model=Recorded, summary="Record a stocktake")
def post_stocktake(
    body: StocktakeIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> Recorded:
    """Counted quantities of one warehouse; each difference becomes an adjustment, atomically (admins)."""
    return _run(request, conn, ledger, caller, commands.stocktake_command(body), key, request_id)


@router.post("/part-usage", status_code=201, response_model=Recorded, summary="Record part usage")
def post_part_usage(
    body: PartUsageIn,
    request: Request,
    conn: Connection,
    ledger: Ledger,
    caller: CurrentUser,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> Recorded:
    """Parts used on a machine: a consumption out of one of the owner's warehouses."""
    return _run(request, conn, ledger, caller, commands.part_usage_command(body), key, request_id)
