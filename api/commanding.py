"""Run a ledger command for an HTTP request: metadata from the caller, then wake-ups, metrics and a log line.

Idempotency keys are scoped to the caller, so two users' keys never collide. The events carry
the request id the logs carry: the client's X-Request-ID when sane, else the one made up for it.
"""

from __future__ import annotations

import logging

from fastapi import Request

from api.idempotency import LEDGER_REPLAY
from api.logs import request_id as current_request_id
from api.principal import Principal
from ledger.commands import StockCommand
from ledger.orders.commands import OrderCommand
from ledger.postgres.eventstore import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult

log = logging.getLogger(__name__)


def run_command(
    request: Request,
    conn: Connection,
    ledger: PostgresLedger,
    caller: Principal,
    command: StockCommand | OrderCommand,
    idempotency_key: str | None,
    request_id: str | None,
) -> CommandResult:
    """Execute `command` as `caller`; wake the projectors; count a new append.

    The wake-up follows every attempt, refused or replayed too: each took an xid, and while it
    ran the workers' commit-safe horizon held back later commits, which nothing else would
    announce once it ended (they would wait for the poll).
    """
    metadata = CommandMetadata(
        performed_by_user_id=caller.user_id,
        request_id=current_request_id.get() or request_id,
        idempotency_key=f"{caller.user_id}:{idempotency_key}" if idempotency_key else None,
    )
    projectors, metrics = request.app.state.projectors, request.app.state.metrics
    try:
        result = ledger.execute(conn, command, metadata)
    finally:
        if projectors is not None:
            projectors.appended()
    if result.replayed:
        # The ledger's own replay (the HTTP record of the key was lost): marked like the middleware's.
        setattr(request.state, LEDGER_REPLAY, True)
    else:
        metrics.commands.labels(type(command).__name__).inc()
        for event in result.events:
            metrics.events.labels(event.event_type).inc()
        log.info("command recorded", extra={"command": type(command).__name__, "position": result.position})
    return result
