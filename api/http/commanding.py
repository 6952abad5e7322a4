"""A request's context, and running a ledger command for it: metadata, then wake-ups, metrics, a log line.

Idempotency keys are scoped to the caller, so two users' keys never collide. The events carry
the request id the logs carry: the client's X-Request-ID when sane, else the one made up for it.

`execute` is the one seam between the async routes and the ledger. With group commit (the
default, ABPARTS_COMMITTERS >= 1) the command is submitted to the process's committers, which
decide and append the commands that arrive together in one transaction, and the route awaits its
own result; the wait is bounded by ABPARTS_DATABASE_TIMEOUT like any hold of a connection (then a
503 `database_unavailable`; a command not yet started is withdrawn). With 0 committers the sync
pipeline runs on the request's connection in one worker-thread hop, with the access check.

The request's connection is taken only for what uses it: an access check that reads, the
0-committers pipeline, `run` (the sync routes' `Ctx` has taken it already). A command by a caller
the principal cache holds whose check needs no SQL takes none (the committer has its own).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from fastapi import Request, Response

from api.http.auth.principal import Principal
from api.http.deadlines import Deadlines
from api.http.middleware.idempotency import LEDGER_REPLAY
from api.http.problems import ApiError
from api.runtime.logs import request_id as current_request_id
from api.runtime.pooling import RequestConnection
from api.runtime.settings import Settings
from ledger.commands import StockCommand
from ledger.orders.commands import OrderCommand
from ledger.postgres.committer import CommitterClosed
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
    connection: RequestConnection  # taken on first need, given back when the request ends
    ledger: PostgresLedger
    caller: Principal
    settings: Settings
    idempotency_key: str | None
    request_id: str | None

    @property
    def conn(self) -> Connection:
        """The request's connection, once taken (by `Ctx`, or `connect`)."""
        return self.connection.current

    async def connect(self) -> Connection:
        """The request's connection, taken from the pool (or waited for) on the first call."""
        return await self.connection.get()

    def run(self, command: StockCommand | OrderCommand) -> CommandResult:
        """Execute `command` as the caller (see `run_command`)."""
        return run_command(self, command)

    async def execute(
        self, command: StockCommand | OrderCommand, check: Check | None = None
    ) -> CommandResult:
        """Execute `command` as the caller from the event loop (see the module docstring)."""
        return await execute(self, command, check)


# The route's access rules on the request's connection, raising an ApiError; run in a worker thread.
Check = Callable[[Connection], None]


async def execute(
    ctx: RequestContext, command: StockCommand | OrderCommand, check: Check | None = None
) -> CommandResult:
    """Run `check`, then `command`; its result. The connection is taken only for a check, or 0 committers."""
    committer = ctx.request.app.state.committer
    if committer is None:
        conn = await ctx.connect()

        def checked() -> CommandResult:
            if check is not None:
                check(conn)
            return run_command(ctx, command)

        return await anyio.to_thread.run_sync(checked)
    if check is not None:
        await anyio.to_thread.run_sync(check, await ctx.connect())
    # Answered on this loop with the rest of its batch, in one wake-up (ledger/postgres/awaited.py).
    awaited = committer.enqueue(command, _metadata(ctx))
    deadlines: Deadlines | None = ctx.request.app.state.deadlines
    try:
        if deadlines is None or not deadlines.serves(awaited):  # no lifespan on this loop: a timer
            async with asyncio.timeout(ctx.settings.database_timeout):
                result: CommandResult = await awaited.answer
        else:  # one timer for every wait (deadlines.py), which fails this one with TimeoutError
            deadlines.watch(awaited)
            result = await awaited.answer
    except TimeoutError:
        raise ApiError(
            503, "database_unavailable", "the database is not answering; retry shortly", {"Retry-After": "2"}
        ) from None
    except CommitterClosed:
        raise ApiError(
            503, "shutting_down", "the server is stopping; retry shortly", {"Retry-After": "1"}
        ) from None
    finally:
        if awaited.answer.cancelled():  # the wait was given up: withdrawn if its batch has not started
            awaited.withdraw()
        _appended(ctx)
    return _recorded(ctx, command, result)


def _metadata(ctx: RequestContext) -> CommandMetadata:
    caller, key = ctx.caller, ctx.idempotency_key
    return CommandMetadata(
        performed_by_user_id=caller.user_id,
        request_id=current_request_id.get() or ctx.request_id,
        idempotency_key=f"{caller.user_id}:{key}" if key else None,
    )


def _appended(ctx: RequestContext) -> None:
    projectors = ctx.request.app.state.projectors
    if projectors is not None:
        projectors.appended()


def run_command(ctx: RequestContext, command: StockCommand | OrderCommand) -> CommandResult:
    """Execute `command` as `ctx.caller` on the request's connection; wake the projectors; count it.

    The wake-up follows every attempt, refused or replayed too: each took an xid, and while it
    ran the workers' commit-safe horizon held back later commits, which nothing else would
    announce once it ended (they would wait for the poll).
    """
    try:
        result = ctx.ledger.execute(ctx.conn, command, _metadata(ctx))
    finally:
        _appended(ctx)
    return _recorded(ctx, command, result)


def _recorded(
    ctx: RequestContext, command: StockCommand | OrderCommand, result: CommandResult
) -> CommandResult:
    """Mark the ledger's own replay, or count the new append."""
    if result.replayed:
        # The ledger's own replay (the HTTP record of the key was lost): marked like the middleware's.
        setattr(ctx.request.state, LEDGER_REPLAY, True)
    else:
        metrics = ctx.request.app.state.metrics
        metrics.recorded(type(command).__name__, (event.event_type for event in result.events))
        # At DEBUG: a line per command at INFO cost about 5% of its CPU (py-spy, issue 12).
        log.debug("command recorded", extra={"command": type(command).__name__, "position": result.position})
    return result
