"""`GET /stocktakes`: the stocktakes recorded, with their counts and the adjustments they became.

Read from the log (through ledger.postgres.queries), not a projection: the read tables keep the
adjustments but not the counted quantity. A stocktake is listed as soon as it commits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.http.deps import Connection, CurrentUser
from api.http.pagination import DATED, Cursor, Limit, Page, dated_after, page
from api.http.stock.freshness import MinPosition, ensure_given
from ledger.postgres import queries

router = APIRouter(tags=["stock queries"])


class StocktakeCountOut(BaseModel):
    """One counted part: what was found on the shelf and what the ledger held before."""

    part_id: UUID
    counted_quantity: Decimal
    stock_before: Decimal = Field(description="counted_quantity minus the adjustment it became.")


class StocktakeAdjustmentOut(BaseModel):
    """The adjustment a count became (a stock_adjustments row with reason `stocktake`)."""

    transaction_id: UUID
    part_id: UUID
    quantity_adjusted: Decimal = Field(description="Signed: negative for a decrease.")


class StocktakeOut(BaseModel):
    """A stocktake of one warehouse, named by the id of its first adjustment."""

    id: UUID
    warehouse_id: UUID
    stocktake_date: datetime
    counted_by_user_id: UUID
    notes: str | None
    reference_number: str | None
    position: int = Field(description="Log position of its last adjustment.")
    counts: list[StocktakeCountOut]
    adjustments: list[StocktakeAdjustmentOut]


@router.get("/stocktakes", response_model=Page[StocktakeOut], summary="Stocktakes")
def stocktakes(
    conn: Connection,
    caller: CurrentUser,
    warehouse_id: UUID | None = None,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[StocktakeOut]:
    """Stocktakes of the caller's warehouses that changed stock, newest first.

    A stocktake whose every count matched the ledger appended nothing and is not listed.
    """
    after = dated_after(cursor)  # a bad cursor is refused before the position is looked at
    if min_position is not None:
        ensure_given(conn, min_position)  # read from the log: a given position is already readable
    params = {"scope": caller.scope_list(), "warehouse_id": warehouse_id, "limit": limit + 1}
    found = [_out(s) for s in queries.stocktakes(conn, params | after)]
    return page(found, limit, DATED, lambda s: (s.stocktake_date, s.id))


def _out(stocktake: queries.Stocktake) -> StocktakeOut:
    lines = stocktake.lines
    return StocktakeOut(
        id=stocktake.id,
        warehouse_id=stocktake.warehouse_id,
        stocktake_date=stocktake.stocktake_date,
        counted_by_user_id=stocktake.counted_by_user_id,
        notes=stocktake.notes,
        reference_number=stocktake.reference_number,
        position=stocktake.position,
        counts=[
            StocktakeCountOut(
                part_id=x.part_id,
                counted_quantity=x.counted_quantity,
                stock_before=x.counted_quantity - x.quantity_adjusted,
            )
            for x in lines
        ],
        adjustments=[
            StocktakeAdjustmentOut(
                transaction_id=x.transaction_id, part_id=x.part_id, quantity_adjusted=x.quantity_adjusted
            )
            for x in lines
        ],
    )
