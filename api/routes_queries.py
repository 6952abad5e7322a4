"""Read routes: the projections (and, for as-of and the raw log, the ledger), scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from api.cli_export import record
from api.deps import AppSettings, Connection, CurrentAdmin, CurrentUser
from api.pagination import DATED, STOCK, Cursor, Limit, Page, dated_after, page
from api.problems import ApiError, not_found
from api.stock import queries as q
from api.stock.freshness import MinPosition, ensure_fresh, ensure_given
from api.stock.models import TransactionOut, TransactionType
from api.stock.views import (
    AsOf,
    InventoryOut,
    InventorySummaryOut,
    LedgerEventOut,
    MachineUsageOut,
    PartUsageOut,
    ProjectionStatusOut,
    ReorderSuggestion,
    StockAdjustmentOut,
    StockLevel,
    TransactionApprovalOut,
)
from ledger.postgres.eventstore import row_to_event
from ledger.postgres.reader import read_events
from ledger.recorded import START, LogCheckpoint
from projections.registry import ALL
from projections.snapshots import stock_at_moment, stock_at_position
from projections.status import status

router = APIRouter(tags=["stock queries"])
DateFrom = Annotated[datetime | None, Query(description="On or after this moment.")]
DateTo = Annotated[datetime | None, Query(description="Before this moment.")]


@router.get("/inventory", response_model=Page[InventoryOut], summary="Current stock")
def inventory(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    organization_id: UUID | None = None,
    low_stock: bool = False,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InventoryOut]:
    """Stock per warehouse and part; `low_stock=true` keeps those at or below their recommendation."""
    ensure_fresh(conn, settings, ("inventory",), min_position)
    key = STOCK.decode(cursor)
    params = {
        "scope": caller.scope_list(),
        "warehouse_id": warehouse_id,
        "part_id": part_id,
        "organization_id": organization_id,
        "low_stock": low_stock,
        "after": list(key) if key else None,
        "limit": limit + 1,
    }
    found = [InventoryOut(**r) for r in q.rows(conn, q.INVENTORY, params)]
    return page(found, limit, STOCK, lambda r: (r.warehouse_id, r.part_id))


@router.get("/inventory/as-of", response_model=AsOf, summary="Stock at a past point")
def inventory_as_of(
    conn: Connection,
    caller: CurrentUser,
    at: datetime | None = None,
    position: Annotated[int | None, Query(ge=0)] = None,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
) -> AsOf:
    """Stock as the ledger stood at a moment (`at`) or a log position, from the nearest balance snapshot."""
    if (at is None) == (position is None):
        raise ApiError(422, "invalid_request", "give exactly one of `at` and `position`")
    # From the nearest balance snapshot by position or by recorded_at, plus the events after it.
    if position is not None:
        ensure_given(conn, position, "position")
        levels = stock_at_position(conn, position, warehouse_id, part_id)
    else:
        assert at is not None
        levels = stock_at_moment(conn, at, warehouse_id, part_id)
    visible = {r[0] for r in conn.execute(q.WAREHOUSES_IN_SCOPE, {"scope": caller.scope_list()}).fetchall()}
    items = [
        StockLevel(warehouse_id=w, part_id=p, current_stock=v)
        for (w, p), v in sorted(levels.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))
        if w in visible
    ]
    return AsOf(items=items, position=position, at=at)


@router.get("/transactions", response_model=Page[TransactionOut], summary="Movements")
def transactions(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    transaction_type: TransactionType | None = None,
    part_id: UUID | None = None,
    warehouse_id: UUID | None = None,
    machine_id: UUID | None = None,
    approval_status: Annotated[str | None, Query(pattern="^(approved|pending|rejected)$")] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TransactionOut]:
    """Movements touching the caller's warehouses, newest first."""
    ensure_fresh(conn, settings, ("transactions",), min_position)
    params = {
        "scope": caller.scope_list(),
        "transaction_type": transaction_type,
        "part_id": part_id,
        "warehouse_id": warehouse_id,
        "machine_id": machine_id,
        "approval_status": approval_status,
        "date_from": date_from,
        "date_to": date_to,
        "limit": limit + 1,
    } | dated_after(cursor)
    found = [TransactionOut(**r) for r in q.rows(conn, q.TRANSACTIONS, params)]
    return page(found, limit, DATED, lambda r: (r.transaction_date, r.id))


@router.get("/transactions/{transaction_id}", response_model=TransactionOut, summary="One movement")
def transaction(
    transaction_id: UUID,
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
) -> TransactionOut:
    """One movement, if it touches the caller's warehouses."""
    ensure_fresh(conn, settings, ("transactions",), min_position)
    found = q.rows(conn, q.TRANSACTION, {"id": transaction_id, "scope": caller.scope_list()})
    if not found:
        raise not_found("transaction")
    return TransactionOut(**found[0])


@router.get("/part-usage", response_model=Page[PartUsageOut], summary="Part usage on machines")
def part_usage(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    machine_id: UUID | None = None,
    part_id: UUID | None = None,
    customer_organization_id: UUID | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PartUsageOut]:
    """Consumptions on machines, newest first."""
    ensure_fresh(conn, settings, ("part_usage",), min_position)
    params = {
        "scope": caller.scope_list(),
        "machine_id": machine_id,
        "part_id": part_id,
        "customer_organization_id": customer_organization_id,
        "date_from": date_from,
        "date_to": date_to,
        "limit": limit + 1,
    } | dated_after(cursor)
    found = [PartUsageOut(**r) for r in q.rows(conn, q.PART_USAGE, params)]
    return page(found, limit, DATED, lambda r: (r.usage_date, r.id))


@router.get("/stock-adjustments", response_model=Page[StockAdjustmentOut], summary="Stock adjustments")
def stock_adjustments(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    reason_code: Annotated[str | None, Query(max_length=100)] = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[StockAdjustmentOut]:
    """Adjustments and stocktake differences, signed, newest first."""
    ensure_fresh(conn, settings, ("inventory", "stock_adjustments"), min_position)
    params = {
        "scope": caller.scope_list(),
        "warehouse_id": warehouse_id,
        "part_id": part_id,
        "reason_code": reason_code,
        "limit": limit + 1,
    } | dated_after(cursor)
    found = [StockAdjustmentOut(**r) for r in q.rows(conn, q.STOCK_ADJUSTMENTS, params)]
    return page(found, limit, DATED, lambda r: (r.adjustment_date, r.id))


@router.get("/transaction-approvals", response_model=Page[TransactionApprovalOut], summary="Approvals")
def transaction_approvals(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    transaction_id: UUID | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(approved|rejected|pending)$")] = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TransactionApprovalOut]:
    """Approvals and rejections of movements touching the caller's warehouses, newest first."""
    ensure_fresh(conn, settings, ("transactions", "transaction_approvals"), min_position)
    params = {
        "scope": caller.scope_list(),
        "transaction_id": transaction_id,
        "status": status_,
        "limit": limit + 1,
    } | dated_after(cursor)
    found = [TransactionApprovalOut(**r) for r in q.rows(conn, q.TRANSACTION_APPROVALS, params)]
    return page(found, limit, DATED, lambda r: (r.created_at, r.id))


@router.get("/ledger/events", response_model=Page[LedgerEventOut], summary="The raw log")
def ledger_events(
    conn: Connection,
    caller: CurrentAdmin,
    after: Annotated[int, Query(ge=0, description="Position of the last event already read.")] = 0,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LedgerEventOut]:
    """Events in commit-safe order after `after` or `cursor`, hashes included (admins: their own streams).

    `next_cursor` is the position of the page's last event, so it pages as `cursor` or as `after`.
    """
    if cursor is not None:
        if after:
            raise ApiError(422, "invalid_request", "give `after` or `cursor`, not both", field="cursor")
        if not (cursor.isascii() and cursor.isdigit()):
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued", field="cursor")
        after = int(cursor)
    start = START
    if after:
        row = conn.execute(q.EVENT_PLACE, [after]).fetchone()
        if row is None:
            raise ApiError(422, "invalid_request", f"no event at position {after}", field="after")
        start = LogCheckpoint(int(str(row[0])), after)
    found = [
        LedgerEventOut(**record(e)) for e in _visible_events(conn, caller.scope_list(), start, limit + 1)
    ]
    items = found[:limit]
    more = len(found) > limit
    return Page[LedgerEventOut](items=items, next_cursor=str(items[-1].position) if more else None)


def _visible_events(
    conn: Connection, scope: list[UUID] | None, start: LogCheckpoint, limit: int
) -> list[Any]:
    if scope is None:
        return read_events(conn, start, limit)
    params = {"xid": start.transaction_id, "position": start.position, "scope": scope, "limit": limit}
    return [row_to_event(r) for r in conn.execute(q.SCOPED_EVENTS, params).fetchall()]


@router.get("/projections/status", response_model=list[ProjectionStatusOut], summary="Projection lag")
def projections_status(conn: Connection, caller: CurrentAdmin) -> list[ProjectionStatusOut]:
    """Each projection's position, lag, and whether a worker is on it (admins)."""
    return [ProjectionStatusOut(**vars(s)) for s in status(conn, ALL)]


@router.get(
    "/reports/inventory-summary", response_model=list[InventorySummaryOut], summary="Inventory summary"
)
def inventory_summary(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[InventorySummaryOut]:
    """The spec's inventory_summary view for the caller's active warehouses."""
    ensure_fresh(conn, settings, ("inventory",), min_position)
    params = {"scope": caller.scope_list(), "organization_id": organization_id}
    return [InventorySummaryOut(**r) for r in q.rows(conn, q.INVENTORY_SUMMARY, params)]


@router.get("/reports/machine-usage", response_model=list[MachineUsageOut], summary="Machine usage")
def machine_usage(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[MachineUsageOut]:
    """The spec's machine_usage_summary view for the caller's machines."""
    ensure_fresh(conn, settings, ("part_usage",), min_position)
    params = {"scope": caller.scope_list(), "organization_id": organization_id}
    return [MachineUsageOut(**r) for r in q.rows(conn, q.MACHINE_USAGE, params)]


@router.get("/reports/reorder-suggestions", response_model=list[ReorderSuggestion], summary="What to reorder")
def reorder_suggestions(
    conn: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    warehouse_id: UUID | None = None,
    min_position: MinPosition = None,
) -> list[ReorderSuggestion]:
    """Parts at or below their minimum stock recommendation, per warehouse, with a quantity to order.

    The suggestion tops the stock up to twice the recommendation (which covers the lead time and a
    safety margin), in whole units for consumables.
    """
    ensure_fresh(conn, settings, ("inventory",), min_position)
    params = {"scope": caller.scope_list(), "warehouse_id": warehouse_id}
    return [ReorderSuggestion(**r) for r in q.rows(conn, q.REORDER_SUGGESTIONS, params)]
