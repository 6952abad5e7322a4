"""GET /stock-reservations: the reservations of customer orders the caller may see, newest first."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.pagination import Page
from api.http.reservations import queries as q
from api.http.reservations.schemas import ReservationOut
from api.http.stock.reading import StockList

router = APIRouter(tags=["stock queries"])
Status = Annotated[
    Literal["open", "closed", "any"], Query(description="`open` (still holding stock), `closed`, or `any`.")
]


@router.get("/stock-reservations", response_model=Page[ReservationOut], summary="Stock reservations")
def stock_reservations(
    listing: StockList,
    status: Status = "open",
    warehouse_id: UUID | None = None,
    part_id: UUID | None = None,
    customer_order_id: UUID | None = None,
) -> Page[ReservationOut]:
    """Reservations in the caller's warehouses or for its own orders; the open ones unless asked."""
    filters = {
        "status": None if status == "any" else status,
        "warehouse_id": warehouse_id,
        "part_id": part_id,
        "customer_order_id": customer_order_id,
    }
    return listing.newest_first(
        ("stock_reservations",), q.RESERVATIONS, ReservationOut, filters, lambda r: (r.reserved_at, r.id)
    )
