"""What every stock read route shares: the caller's scope, read-your-writes, a list's page and period.

Each is a typed dependency (a dataclass FastAPI fills from the request), so a route declares only its
own filters: `StockRead` for one row or a report, `StockList` for a paged list, `Period` for a dated
one. Their query parameters follow the route's own, in the order the fields are declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel

from api.http.deps import AppSettings, Connection, CurrentUser, ReadConnection
from api.http.pagination import DATED, Cursor, CursorKey, Limit, Page, dated_after, page
from api.http.stock import inventory_page
from api.http.stock import queries as q
from api.http.stock.freshness import MinPosition, ensure_fresh
from api.runtime.settings import Settings

R = TypeVar("R", bound=BaseModel)
K = TypeVar("K")


@dataclass(frozen=True)
class Reading:
    """A read of the stock projections by the caller, once they include `min_position`.

    `conn` is the read replica's when one is configured; `primary` is the caller's lookup's.
    """

    conn: ReadConnection
    primary: Connection
    settings: AppSettings
    caller: CurrentUser
    min_position: MinPosition = None

    def rows(self, names: tuple[str, ...], query: str, model: type[R], filters: dict[str, Any]) -> list[R]:
        """`query`'s rows as `model`s within the caller's scope, once the projections `names` are fresh."""
        ensure_fresh(self.conn, self.settings, names, self.min_position, primary=self.primary)
        return [model(**r) for r in q.rows(self.conn, query, {"scope": self.caller.scope_list()} | filters)]


@dataclass(frozen=True)
class Listing(Reading):
    """A paged read: at most `limit` rows after the `cursor`'s key."""

    limit: Limit = 50
    cursor: Cursor = None

    def paged(
        self,
        names: tuple[str, ...],
        query: str,
        model: type[R],
        filters: dict[str, Any],
        cursor_key: CursorKey[K],
        key: Callable[[R], K],
    ) -> Page[R]:
        """One page of `query`, whose `filters` hold the bounds of the cursor's `cursor_key`."""
        # The cursor is decoded before this runs, so a bad one is a 422 at once, not after the wait.
        found = self.rows(names, query, model, filters | {"limit": self.limit + 1})
        return page(found, self.limit, cursor_key, key)

    def newest_first(
        self,
        names: tuple[str, ...],
        query: str,
        model: type[R],
        filters: dict[str, Any],
        key: Callable[[R], tuple[datetime, UUID]],
    ) -> Page[R]:
        """One page of a newest-first list, by (moment, id) after the cursor's."""
        return self.paged(names, query, model, filters | dated_after(self.cursor), DATED, key)


@dataclass(frozen=True)
class Window:
    """A dated list's period: on or after `date_from`, before `date_to`."""

    date_from: Annotated[datetime | None, Query(description="On or after this moment.")] = None
    date_to: Annotated[datetime | None, Query(description="Before this moment.")] = None

    def bounds(self) -> dict[str, datetime | None]:
        """The period as the lists' SQL parameters."""
        return asdict(self)


def read_page(state: Any, filters: dict[str, Any], limit: int, min_position: int | None) -> bytes:
    """GET /inventory's page as JSON bytes (inventory_page.py), once the inventory includes `min_position`.

    `state` is the app's: on connections of its pools, taken and given back here, as a Reading's.
    """
    settings: Settings = state.settings
    with state.pool.connection() as primary:
        if state.read_pool is None:
            ensure_fresh(primary, settings, ("inventory",), min_position, primary=primary)
            return inventory_page.page_json(primary, filters, limit)
        with state.read_pool.connection() as reads:
            ensure_fresh(reads, settings, ("inventory",), min_position, primary=primary)
            return inventory_page.page_json(reads, filters, limit)


async def _reading(
    conn: ReadConnection,
    primary: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
) -> Reading:
    return Reading(conn, primary, settings, caller, min_position)


async def _listing(
    conn: ReadConnection,
    primary: Connection,
    settings: AppSettings,
    caller: CurrentUser,
    min_position: MinPosition = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Listing:
    return Listing(conn, primary, settings, caller, min_position, limit, cursor)


async def _window(
    date_from: Annotated[datetime | None, Query(description="On or after this moment.")] = None,
    date_to: Annotated[datetime | None, Query(description="Before this moment.")] = None,
) -> Window:
    return Window(date_from, date_to)


# Built by `async def` functions with the dataclasses' fields as parameters, in their order: FastAPI
# calls a class given as a dependency in a worker thread (a hop per request, and per dependency).
StockRead = Annotated[Reading, Depends(_reading)]
StockList = Annotated[Listing, Depends(_listing)]
Period = Annotated[Window, Depends(_window)]
