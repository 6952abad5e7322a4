"""The FastAPI application factory: wiring of settings, the connection pool, the ledger and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import (
    openapi,
    problems,
    routes_auth,
    routes_customer_orders,
    routes_health,
    routes_machines,
    routes_organizations,
    routes_parts,
    routes_queries,
    routes_stock,
    routes_supplier_orders,
    routes_users,
    routes_warehouses,
)
from api.bodies import StorableTextMiddleware
from api.idempotency import IdempotencyMiddleware
from api.idempotency_retention import IdempotencyPruner
from api.logs import RequestIdMiddleware, stamp_request_ids
from api.metrics import LatencyMiddleware, Metrics
from api.pooling import WatchedPool, api_conninfo
from api.projectors import InProcessProjectors
from api.settings import Settings
from ledger.postgres.service import PostgresLedger


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """Build the HTTP app for an already migrated database at `database_url`."""
    # Autocommit: a request's writes are explicit transactions, committed before the response is sent.
    # Bounded holds: a database that stops answering costs a request at most `database_timeout` (then 503).
    pool = WatchedPool(
        api_conninfo(database_url, settings.database_timeout),
        hold_timeout=settings.database_timeout,
        min_size=2,
        max_size=settings.pool_size,
        kwargs={"autocommit": True},
        timeout=settings.pool_timeout,
        open=False,
    )
    running = 0  # lifespans entered and not yet left: an app served by two clients starts once

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal running
        if running == 0:
            pool.open(wait=True, timeout=30)
            app.state.projectors = InProcessProjectors(settings, database_url)
            app.state.projectors.start()
            app.state.pruner = IdempotencyPruner(
                database_url, settings.idempotency_retention, settings.idempotency_prune_interval
            )
            app.state.pruner.start()
        running += 1
        try:
            yield
        finally:
            running -= 1
            if running == 0:
                if app.state.projectors is not None:
                    app.state.projectors.stop()
                    app.state.projectors = None
                app.state.pruner.stop()
                pool.close()

    app = FastAPI(
        title="ABParts Ledger",
        version="0.1.0",
        description="Event-sourced inventory ledger for the AutoBoss parts business.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.projectors = None  # set while the app runs
    app.state.ledger = PostgresLedger(settings.policy())
    app.state.metrics = metrics = Metrics(pool)
    stamp_request_ids()
    problems.install(app)
    openapi.install(app)
    # Added last is outermost: the request id is set before anything else runs.
    app.add_middleware(StorableTextMiddleware)
    app.add_middleware(IdempotencyMiddleware, pool=pool)
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    # routes_auth first: its /users/me must win over /users/{user_id}.
    for module in (
        routes_health,
        routes_auth,
        routes_organizations,
        routes_users,
        routes_warehouses,
        routes_parts,
        routes_machines,
        routes_stock,
        routes_queries,
        routes_customer_orders,
        routes_supplier_orders,
    ):
        app.include_router(module.router)
    return app
