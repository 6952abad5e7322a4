"""Stock command routes: each turns a request into a ledger command and answers 201 with what it recorded.

Their Idempotency-Keys are the ledger's alone (`LEDGER_KEPT`, see api/http/middleware/idempotency.py):
the result or the refusal is kept under the key in the command's own transaction, and a retry gets
the same answer rebuilt from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

import anyio
from fastapi import APIRouter, Body
from fastapi.routing import APIRoute

from api.http.deps import LazyCtx
from api.http.location import location
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


async def recorded(ctx: LazyCtx, command: StockCommand) -> tuple[Recorded, list[tuple[str, str]]]:
    """Check and execute `command` as the caller: the answer, and the headers of a 201 beyond the body's."""
    # Who may ask comes before the ledger decides whether it may be done; on the event loop, with
    # no connection taken, when that needs no reading (the caller sees every organization), else
    # in the worker-thread hop on the request's connection.
    if access.checked_at_once(ctx.caller, command):
        result = await ctx.execute(command)
    else:
        result = await ctx.execute(command, lambda conn: access.check(conn, ctx.caller, command))
    # The ledger's result carries its movements as it left them; only an old stored result does not.
    answer = commands.answered(result)
    if answer is None:
        answer = await anyio.to_thread.run_sync(commands.recorded, await ctx.connect(), result)
    headers = []
    if result.replayed:
        # The ledger alone keeps these routes' keys (the middleware passes them by): its replay says so.
        headers.append(("idempotent-replay", "true"))
    # The first movement is the one the command created (a reversal's compensation) or acted on.
    if answer.transactions:
        headers.append(("location", location("/transactions", answer.transactions[0].id)))
    return answer, headers


async def _run(ctx: LazyCtx, command: StockCommand) -> Recorded:
    answer, headers = await recorded(ctx, command)
    for name, value in headers:
        ctx.response.headers[name] = value
    return answer


@router.post("/transactions", status_code=201, response_model=Recorded, summary="Record a movement")
async def post_transaction(body: TransactionIn, ctx: LazyCtx) -> Recorded:
    """Record a creation, transfer, consumption or adjustment."""
    return await _run(ctx, commands.transaction_command(body))


def _decision(
    kind: type[ApproveMovement | RejectMovement | ReverseMovement], summary: str
) -> Callable[..., Awaitable[Recorded]]:
    async def route(
        transaction_id: UUID, ctx: LazyCtx, body: Annotated[DecisionIn | None, Body()] = None
    ) -> Recorded:
        decision = body or DecisionIn()
        command = kind(
            transaction_id=transaction_id, notes=decision.notes, expected_version=decision.expected_version
        )
        return await _run(ctx, command)

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
async def post_stock_adjustment(body: StockAdjustmentIn, ctx: LazyCtx) -> Recorded:
    """Correct one part's stock in one warehouse by a signed quantity, with a reason (admins)."""
    return await _run(ctx, commands.adjustment_command(body))


@router.post("/stocktakes", status_code=201, response_model=Recorded, summary="Record a stocktake")
async def post_stocktake(body: StocktakeIn, ctx: LazyCtx) -> Recorded:
    """Counted quantities of one warehouse; each difference becomes an adjustment, atomically (admins)."""
    return await _run(ctx, commands.stocktake_command(body))


@router.post("/part-usage", status_code=201, response_model=Recorded, summary="Record part usage")
async def post_part_usage(body: PartUsageIn, ctx: LazyCtx) -> Recorded:
    """Parts used on a machine: a consumption out of one of the owner's warehouses."""
    return await _run(ctx, commands.part_usage_command(body))


# The paths of this module's routes (every one a POST of a ledger command), for the middleware.
LEDGER_KEPT = tuple(r.path_regex for r in router.routes if isinstance(r, APIRoute) and r.methods == {"POST"})
