"""Stock read routes: inventory now and as of a past point, movements, usage, adjustments and approvals.

They read the projections, scoped to the caller; the reports are in report_routes, the raw log in
api/http/ops/log_routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from api.http.auth.principal import Principal, load_principal
from api.http.deps import Connection, CurrentUser, find_principal, oauth2
from api.http.pagination import STOCK, Cursor, Limit, Page
from api.http.problems import ApiError, not_found
from api.http.stock import queries as q
from api.http.stock.freshness import MinPosition, ensure_given
from api.http.stock.page_cache import PageCache
from api.http.stock.reading import Period, StockList, StockRead, read_page
from api.http.stock.schemas import (
    AsOf,
    InventoryOut,
    PartUsageOut,
    StockAdjustmentOut,
    StockLevel,
    TransactionApprovalOut,
    TransactionOut,
    TransactionType,
)
from api.runtime.names import lookup
from api.runtime.pooling import WatchedPool
from projections.tools.as_happened import stock_happened_by
from projections.tools.snapshots import stock_at_moment, stock_at_position

router = APIRouter(tags=["stock queries"])


async def _page_caller(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    # CurrentUser, but a pooled connection only for a lookup the principal cache misses.
    pool: WatchedPool = request.app.state.pool

    def load(digest: str) -> Principal | None:
        with pool.connection() as conn:
            return load_principal(conn, digest)

    return await find_principal(request, token, load)


@router.get("/inventory", response_model=Page[InventoryOut], summary="Current stock")
async def inventory(
    request: Request,
    caller: Annotated[Principal, Depends(_page_caller)],
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    organization_id: UUID | None = None,
    low_stock: bool = False,
    part_text: Annotated[
        str | None,
        Query(alias="q", min_length=1, max_length=100, description="In the part number or name."),
    ] = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Stock per warehouse and part; `low_stock=true` keeps those at or below their recommendation.

    `q` keeps the parts whose number or name contains it, ignoring case (`%` and `_` literally).
    """
    # The parameters are StockList's, declared here: a page the cache has costs no connection
    # (issue 12: the dependencies were most of a cached page's time).
    scope, after = caller.scope_list(), STOCK.decode(cursor)
    filters = {
        "scope": scope,
        "warehouse_id": warehouse_id,
        "part_id": part_id,
        "organization_id": organization_id,
        "low_stock": low_stock,
        "q": part_text,
        "after": after,
    }
    # The page's JSON from PostgreSQL, sent as it is (inventory_page.py): the declared response_model
    # documents it; nothing validates it again. Kept per process while unchanged (page_cache.py).
    cache: PageCache = request.app.state.page_cache
    query = (warehouse_id, part_id, organization_id, low_stock, part_text, after, limit)
    key = (None if scope is None else tuple(scope), query)

    async def read() -> bytes:
        # The statement (and any min_position wait) in one worker-thread hop.
        return await anyio.to_thread.run_sync(read_page, request.app.state, filters, limit, min_position)

    body = await (read() if min_position is not None else cache.read_through(key, read))
    return Response(body, media_type="application/json")


AS_OF_DESCRIPTION = """Stock at a past point, from the nearest balance snapshot plus the events after it.

Give `position` (a log position) or a moment on one or both time axes:

- `at`: stock **as it happened** by then, by the dates stock changes happened (a movement's
  `transaction_date`, which may be backdated within `ABPARTS_BACKDATE_WINDOW`; a held movement's
  approval; an order's shipment and receipt). Changed: `at` used to mean the moment the events were
  recorded, which is now `known_at`.
- `known_at`: stock **as the ledger knew it** then: only the events recorded by then.
- both: stock as it happened by `at`, as the ledger knew it at `known_at` (bitemporal).
"""


@router.get(
    "/inventory/as-of", response_model=AsOf, summary="Stock at a past point", description=AS_OF_DESCRIPTION
)
def inventory_as_of(
    conn: Connection,
    caller: CurrentUser,
    at: Annotated[
        datetime | None,
        Query(description="as it happened: stock changes dated at or before (changed: was `known_at`)"),
    ] = None,
    known_at: Annotated[
        datetime | None, Query(description="as the ledger knew it: events recorded at or before")
    ] = None,
    position: Annotated[int | None, Query(ge=0)] = None,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
) -> AsOf:
    """Stock by log position, or as it happened (`at`) and/or as it was known (`known_at`)."""
    if (at is None and known_at is None) == (position is None):
        raise ApiError(422, "invalid_request", "give either `position`, or `at` and/or `known_at`")
    # From the nearest balance snapshot by position, recorded_at or date, plus the events after it. On
    # the primary, not a replica: a replica that has not replayed up to `position` would sum too few.
    if position is not None:
        ensure_given(conn, position, "position")
        levels = stock_at_position(conn, position, warehouse_id, part_id)
    elif at is not None:
        levels = stock_happened_by(conn, at, known_at, warehouse_id, part_id)
    else:
        assert known_at is not None
        levels = stock_at_moment(conn, known_at, warehouse_id, part_id)
    visible = {r[0] for r in conn.execute(q.WAREHOUSES_IN_SCOPE, {"scope": caller.scope_list()}).fetchall()}
    shown = sorted(((w, p) for w, p in levels if w in visible), key=lambda k: (str(k[0]), str(k[1])))
    names = lookup(conn, parts=(p for _, p in shown), warehouses=(w for w, _ in shown))
    items = [
        StockLevel(
            warehouse_id=w, part_id=p, current_stock=levels[w, p], **names.part(p) | names.warehouse(w)
        )
        for w, p in shown
    ]
    return AsOf(items=items, position=position, at=at, known_at=known_at)


@router.get("/transactions", response_model=Page[TransactionOut], summary="Movements")
def transactions(
    period: Period,
    listing: StockList,
    transaction_type: TransactionType | None = None,
    part_id: UUID | None = None,
    warehouse_id: UUID | None = None,
    machine_id: UUID | None = None,
    approval_status: Annotated[str | None, Query(pattern="^(approved|pending|rejected)$")] = None,
) -> Page[TransactionOut]:
    """Movements touching the caller's warehouses, newest first."""
    filters = {
        "transaction_type": transaction_type,
        "part_id": part_id,
        "warehouse_id": warehouse_id,
        "machine_id": machine_id,
        "approval_status": approval_status,
    } | period.bounds()
    return listing.newest_first(
        ("transactions",), q.TRANSACTIONS, TransactionOut, filters, lambda r: (r.transaction_date, r.id)
    )


@router.get("/transactions/{transaction_id}", response_model=TransactionOut, summary="One movement")
def transaction(transaction_id: UUID, reading: StockRead) -> TransactionOut:
    """One movement, if it touches the caller's warehouses."""
    found = reading.rows(("transactions",), q.TRANSACTION, TransactionOut, {"id": transaction_id})
    if not found:
        raise not_found("transaction")
    return found[0]


@router.get("/part-usage", response_model=Page[PartUsageOut], summary="Part usage on machines")
def part_usage(
    period: Period,
    listing: StockList,
    machine_id: UUID | None = None,
    part_id: UUID | None = None,
    customer_organization_id: UUID | None = None,
) -> Page[PartUsageOut]:
    """Consumptions on machines, newest first."""
    filters = {
        "machine_id": machine_id,
        "part_id": part_id,
        "customer_organization_id": customer_organization_id,
    } | period.bounds()
    return listing.newest_first(
        ("part_usage",), q.PART_USAGE, PartUsageOut, filters, lambda r: (r.usage_date, r.id)
    )


@router.get("/stock-adjustments", response_model=Page[StockAdjustmentOut], summary="Stock adjustments")
def stock_adjustments(
    listing: StockList,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    reason_code: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[StockAdjustmentOut]:
    """Adjustments and stocktake differences, signed, newest first."""
    filters = {"warehouse_id": warehouse_id, "part_id": part_id, "reason_code": reason_code}
    return listing.newest_first(
        ("inventory", "stock_adjustments"),
        q.STOCK_ADJUSTMENTS,
        StockAdjustmentOut,
        filters,
        lambda r: (r.adjustment_date, r.id),
    )


@router.get("/transaction-approvals", response_model=Page[TransactionApprovalOut], summary="Approvals")
def transaction_approvals(
    listing: StockList,
    transaction_id: UUID | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(approved|rejected|pending)$")] = None,
) -> Page[TransactionApprovalOut]:
    """Approvals and rejections of movements touching the caller's warehouses, newest first."""
    return listing.newest_first(
        ("transactions", "transaction_approvals"),
        q.TRANSACTION_APPROVALS,
        TransactionApprovalOut,
        {"transaction_id": transaction_id, "status": status_},
        lambda r: (r.created_at, r.id),
    )
