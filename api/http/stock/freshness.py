"""Read-your-writes for the read routes: `min_position` waits (bounded) for the projections to catch up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.http.problems import ApiError
from api.runtime.pooling import allow_longer
from api.runtime.settings import Settings
from ledger.postgres import queries
from ledger.postgres.connection import Connection
from projections.engine.freshness import wait_until_projected

MinPosition = Annotated[
    int | None,
    Query(ge=1, description="Wait until the projections include the event at this log position."),
]


def ensure_fresh(conn: Connection, settings: Settings, names: tuple[str, ...], position: int | None) -> None:
    """Return once `names` include `position`; a 503 `stale_read` after the configured wait."""
    if position is None:
        return
    ensure_given(conn, position)
    # The wait holds the connection; it is not the database being slow, so it does not count against it.
    allow_longer(conn, settings.read_wait_timeout)
    if not wait_until_projected(conn, names, position, settings.read_wait_timeout):
        raise ApiError(
            503,
            "stale_read",
            f"the projections have not reached position {position} yet; retry shortly",
            {"Retry-After": "1"},
            min_position=position,
        )


def ensure_given(conn: Connection, position: int, field: str = "min_position") -> None:
    """A 422 `unknown_position` unless an append has been given `position` (0, before any, always is)."""
    if position == 0:
        return
    head = queries.head_position(conn)
    if head is None or position > head:
        refusal = ApiError(422, "unknown_position", f"no event has position {position} yet")
        refusal.extra = {field: position}
        raise refusal
