"""A request's context, and running a ledger command for it: metadata, then wake-ups, metrics, a log line.

Idempotency keys are scoped to the caller, so two users' keys never collide. The events carry
the request id the logs carry: the client's X-Request-ID when sane, else the one made up for it.

`execute` is the one seam between the async routes and the ledger: today it runs the sync
pipeline (`PostgresLedger.execute` on the request's connection) in one worker-thread hop,
together with the route's access check; a group committer's `submit(command, metadata)` future
can take its place (`await asyncio.wrap_future(...)`) without touching a route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from fastapi import Request, Response

from api.http.auth.principal import Principal
from api.http.middleware.idempotency import LEDGER_REPLAY
from api.runtime.logs import request_id as current_request_id
from api.runtime.settings import Settings
from ledger.commands import StockCommand
from ledger.orders.commands import OrderCommand
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestContext:
    """What a command route works with: the request's connection, the ledger, the caller and headers."""

    request: Request  # for the app's projectors (wake-ups) and metrics
    response: Response  # for the headers of the answer (Location)
    conn: Connection
    ledger: PostgresLedger
    caller: Principal
    settings: Settings
    idempotency_key: str | None
    request_id: str | None

    def run(self, command: StockCommand | OrderCommand) -> CommandResult:
        """Execute `command` as the caller (see `run_command`)."""
        return run_command(self, command)

    async def execute(
        self, command: StockCommand | OrderCommand, check: Callable[[], None] | None = None
    ) -> CommandResult:
        """Execute `command` as the caller from the event loop (see the module docstring)."""
        return await execute(self, command, check)


async def execute(
    ctx: RequestContext, command: StockCommand | OrderCommand, check: Callable[[], None] | None = None
) -> CommandResult:
    """Run `check` (the route's access rules, raising an ApiError), then `command`; its result.

    Both in one hop to a worker thread, on the request's connection.
    """

    def checked() -> CommandResult:
        if check is not None:
            check()
        return run_command(ctx, command)

    return await anyio.to_thread.run_sync(checked)


def run_command(ctx: RequestContext, command: StockCommand | OrderCommand) -> CommandResult:
    """Execute `command` as `ctx.caller`; wake the projectors; count a new append.

    The wake-up follows every attempt, refused or replayed too: each took an xid, and while it
    ran the workers' commit-safe horizon held back later commits, which nothing else would
    announce once it ended (they would wait for the poll).
    """
    caller, key = ctx.caller, ctx.idempotency_key
    metadata = CommandMetadata(
        performed_by_user_id=caller.user_id,
        request_id=current_request_id.get() or ctx.request_id,
        idempotency_key=f"{caller.user_id}:{key}" if key else None,
    )
    projectors, metrics = ctx.request.app.state.projectors, ctx.request.app.state.metrics
    try:
        result = ctx.ledger.execute(ctx.conn, command, metadata)
    finally:
        if projectors is not None:
            projectors.appended()
    if result.replayed:
        # The ledger's own replay (the HTTP record of the key was lost): marked like the middleware's.
        setattr(ctx.request.state, LEDGER_REPLAY, True)
    else:
        metrics.commands.labels(type(command).__name__).inc()
        for event in result.events:
            metrics.events.labels(event.event_type).inc()
        # At DEBUG: a line per command at INFO cost about 5% of its CPU (py-spy, issue 12).
        log.debug("command recorded", extra={"command": type(command).__name__, "position": result.position})
    return result
