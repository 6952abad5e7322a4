"""Operations: liveness (/health), readiness (/ready) and Prometheus metrics (/metrics)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.http.deps import AppSettings, Connection
from api.http.problems import ApiError
from projections.engine.status import status
from projections.registry import watched

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    """The process serves HTTP. It does not touch the database: an outage there is no reason to restart."""
    return {"status": "ok"}


@router.get("/ready", summary="Readiness")
def ready(conn: Connection, settings: AppSettings) -> dict[str, object]:
    """The database answers and every projection (and the feed, if set) is within the lag limit; else 503.

    The limit is `ABPARTS_READY_MAX_LAG_SECONDS`.
    """
    rows = status(conn, watched(feed=settings.nats_url is not None))
    lagging = {
        r.name: round(r.lag_seconds, 3) for r in rows if r.lag_seconds > settings.ready_max_lag_seconds
    }
    if lagging:
        raise ApiError(
            503,
            "projections_lagging",
            "projections are behind the log",
            {"Retry-After": "5"},
            lag_seconds=lagging,
        )
    return {"status": "ready", "lag_seconds": {r.name: round(r.lag_seconds, 3) for r in rows}}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request latency by route, commands and events by type, errors by code, projection lag."""
    body = request.app.state.metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
