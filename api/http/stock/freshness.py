"""Read-your-writes for the read routes: `min_position` waits (bounded) for the projections to catch up.

On a read replica the wait is on the replica's own copy of the checkpoints (they are replicated with
the read tables), so a read never shows a state older than the position; whether a position has been
given at all is asked of the primary, where a replica that has not yet replayed it would say no.
"""

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


def ensure_fresh(
    reads: Connection,
    settings: Settings,
    names: tuple[str, ...],
    position: int | None,
    *,
    primary: Connection,
) -> None:
    """Return once `names` on `reads` include `position`; a 503 `stale_read` after the configured wait.

    `primary` (the same connection without a replica) says whether `position` exists: a position the
    replica has not replayed yet is waited for, not refused as unknown.
    """
    if position is None:
        return
    ensure_given(primary, position)
    # The wait holds the connections; it is not the database being slow, so it does not count against it.
    allow_longer(reads, settings.read_wait_timeout)
    if primary is not reads:
        allow_longer(primary, settings.read_wait_timeout)
    # Woken by the checkpoints' NOTIFY on the primary; a standby refuses LISTEN, so a wait there polls.
    notified = primary is reads
    if not wait_until_projected(reads, names, position, settings.read_wait_timeout, notified=notified):
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
