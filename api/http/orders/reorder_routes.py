"""`POST /reports/reorder-suggestions/drafts`: a warehouse's reorder suggestions as draft supplier orders.

The rules (grouping by last supplier, the supplier left to fill in, once per day and warehouse)
are in api.runtime.reorder, shared with `abparts reorder`; this route checks who asks and for
which warehouse, runs the commands through `ctx.run` and answers the orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import count
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.http.commanding import RequestContext
from api.http.deps import Ctx
from api.http.location import created
from api.http.orders import access
from api.http.orders import queries as q
from api.http.orders.schemas import OrderOut
from api.runtime import reorder
from ledger.orders.commands import RequestSupplierOrder
from ledger.results import CommandResult

router = APIRouter(tags=["supplier orders"])


class ReorderDraftsIn(BaseModel):
    """Which warehouse to draft the reorders of (an Oraseas EE warehouse)."""

    model_config = ConfigDict(extra="forbid")
    warehouse_id: UUID


class ReorderDraftsOut(BaseModel):
    """The day's draft supplier orders of a warehouse; `created` is false when an earlier call made them."""

    warehouse_id: UUID
    day: date
    created: bool
    orders: list[OrderOut]


def numbered(ctx: RequestContext) -> Callable[[RequestSupplierOrder], CommandResult]:
    """`ctx.run`, each command under its own ledger key (`<Idempotency-Key>/<n>`) when a key was sent.

    One request runs several commands here; under the one key the second would be refused as a
    different command (idempotency_conflict).
    """
    counter = count(1)

    def run(command: RequestSupplierOrder) -> CommandResult:
        key = ctx.idempotency_key
        return (replace(ctx, idempotency_key=f"{key}/{next(counter)}") if key else ctx).run(command)

    return run


@router.post(
    "/reports/reorder-suggestions/drafts",
    status_code=201,
    response_model=ReorderDraftsOut,
    summary="Draft supplier orders from the reorder suggestions",
)
def draft_reorders(body: ReorderDraftsIn, ctx: Ctx) -> ReorderDraftsOut:
    """Turn the warehouse's reorder suggestions into `requested` supplier orders, once a day (UTC).

    One order per supplier each part was last ordered from; parts never ordered go to one order
    whose `supplier_name` is `(supplier to fill in)` (no supplier organization). A second call the
    same day for the same warehouse creates nothing and answers the same orders (200, `created`
    false); with no suggestion, nothing is created and `orders` is empty (200). Oraseas EE admins.
    """
    ordering = access.reorder_warehouse(ctx.conn, ctx.caller, body.warehouse_id)
    drafts = reorder.draft(ctx.conn, body.warehouse_id, ordering, numbered(ctx))
    if drafts.created:
        created(ctx.response, "/supplier-orders", drafts.order_ids[0])
    else:
        ctx.response.status_code = 200
    orders = [q.one_order(ctx.conn, "supplier", order_id, log=ctx.conn) for order_id in drafts.order_ids]
    return ReorderDraftsOut(
        warehouse_id=drafts.warehouse_id, day=drafts.day, created=drafts.created, orders=orders
    )
