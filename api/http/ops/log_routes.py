"""Routes over the log itself: the raw events in commit-safe order, and how far each projection has read."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentAdmin, ReadConnection
from api.http.pagination import Cursor, Limit, Page
from api.http.problems import ApiError
from api.http.stock.schemas import LedgerEventOut, ProjectionStatusOut
from ledger.export import record
from ledger.postgres import queries
from ledger.postgres.reader import read_events
from ledger.recorded import START, LogCheckpoint, RecordedEvent
from projections.engine.status import status
from projections.registry import ALL

# The tag of the stock reads they were served with: the OpenAPI document stays as it was.
router = APIRouter(tags=["stock queries"])


@router.get("/ledger/events", response_model=Page[LedgerEventOut], summary="The raw log")
def ledger_events(
    conn: Connection,
    reads: ReadConnection,
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
        # Asked of the primary: a replica that has not replayed `after` yet would call it unknown.
        checkpoint = queries.checkpoint_at(conn, after)
        if checkpoint is None:
            raise ApiError(422, "invalid_request", f"no event at position {after}", field="after")
        start = checkpoint
    found = [
        LedgerEventOut(**record(e)) for e in _visible_events(reads, caller.scope_list(), start, limit + 1)
    ]
    items = found[:limit]
    more = len(found) > limit
    return Page[LedgerEventOut](items=items, next_cursor=str(items[-1].position) if more else None)


def _visible_events(
    conn: Connection, scope: list[UUID] | None, start: LogCheckpoint, limit: int
) -> list[RecordedEvent]:
    if scope is None:
        return read_events(conn, start, limit)
    return queries.events_in_scope(conn, scope, start, limit)


@router.get("/projections/status", response_model=list[ProjectionStatusOut], summary="Projection lag")
def projections_status(conn: Connection, caller: CurrentAdmin) -> list[ProjectionStatusOut]:
    """Each projection's position, lag, and whether a worker is on it (admins)."""
    return [ProjectionStatusOut(**vars(s)) for s in status(conn, ALL)]
