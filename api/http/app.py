"""The FastAPI application factory: wiring of settings, the connection pool, the ledger and the routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import psycopg
from fastapi import FastAPI
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from starlette.routing import BaseRoute

from api.http import openapi, problems
from api.http.auth import routes as routes_auth
from api.http.auth.cache import PrincipalCache, PrincipalCacheMiddleware
from api.http.deadlines import Deadlines
from api.http.middleware.bodies import StorableTextMiddleware
from api.http.middleware.idempotency import IdempotencyMiddleware
from api.http.middleware.idempotency_retention import IdempotencyPruner
from api.http.middleware.metrics import Metrics
from api.http.middleware.requests import RequestMiddleware
from api.http.ops import docs_routes
from api.http.ops import log_routes as routes_log
from api.http.ops import routes as routes_health
from api.http.orders import customer_routes as routes_customer_orders
from api.http.orders import reorder_routes as routes_reorder_drafts
from api.http.orders import supplier_routes as routes_supplier_orders
from api.http.reference.machines import routes as routes_machines
from api.http.reference.organizations import routes as routes_organizations
from api.http.reference.parts import routes as routes_parts
from api.http.reference.users import routes as routes_users
from api.http.reference.warehouses import routes as routes_warehouses
from api.http.reservations import routes as routes_reservations
from api.http.stock import fast_path
from api.http.stock import reads as routes_queries
from api.http.stock import report_routes as routes_reports
from api.http.stock import routes as routes_stock
from api.http.stock import stocktake_routes as routes_stocktakes
from api.http.stock.page_cache import PageCache
from api.http.ui import reads as routes_ui_reads
from api.http.ui import routes as routes_ui
from api.runtime.logs import stamp_request_ids
from api.runtime.pooling import WatchedPool, api_conninfo
from api.runtime.projectors import InProcessProjectors
from api.runtime.settings import Settings
from ledger.postgres.committer import Committers
from ledger.postgres.service import PostgresLedger
from projections.registry import watched

# routes_auth first: its /users/me must win over /users/{user_id}.
ROUTERS = (
    routes_health,
    routes_auth,
    routes_organizations,
    routes_users,
    routes_warehouses,
    routes_parts,
    routes_machines,
    routes_stock,
    routes_queries,
    routes_stocktakes,
    routes_log,
    routes_reports,
    routes_customer_orders,
    routes_supplier_orders,
    routes_reorder_drafts,
    routes_reservations,
    docs_routes,
    routes_ui_reads,
    routes_ui,
)
# Their routes match nothing another router's does (the health and stock-query paths are their own).
HOT = (routes_health, routes_queries, routes_stock)


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """Build the HTTP app for an already migrated database at `database_url`."""
    pool = _api_pool(settings, database_url)
    # Reads of the projections may go to a streaming replica; everything that writes stays on `pool`.
    read_pool = (
        None if settings.read_database_url is None else _api_pool(settings, settings.read_database_url)
    )
    app = FastAPI(
        title="ABParts Ledger",
        version="0.1.0",
        description="Event-sourced inventory ledger for the AutoBoss parts business.",
        lifespan=_lifespan(pool, read_pool, settings, database_url),
        docs_url=None,  # served by docs_routes from packaged assets, not from a CDN
        redoc_url=None,
        telemetry=settings.telemetry(),
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.read_pool = read_pool
    app.state.projectors = None  # set while the app runs
    app.state.committer = None  # likewise (ABPARTS_COMMITTERS)
    app.state.deadlines = None  # likewise: the bound of the waits for the committers (deadlines.py)
    app.state.ledger = PostgresLedger(settings.policy())
    app.state.principals = principals = PrincipalCache(settings.principal_cache_seconds)
    # Off with a read replica: a NOTIFY from the primary may come before the replica has the change.
    app.state.page_cache = PageCache(database_url if read_pool is None else None)
    app.state.metrics = metrics = Metrics(pool, watched(feed=settings.nats_url is not None))
    stamp_request_ids()
    problems.install(app)
    openapi.install(app, [module.router for module in ROUTERS], routes_stock.LEDGER_KEPT)
    docs_routes.install(app)
    routes_ui.install(app)
    # Added last is outermost: the request id is set (RequestMiddleware) before anything else runs.
    app.add_middleware(StorableTextMiddleware)
    # Past the longest a request can hold its connection (a read's wait included), a claim is stale.
    takeover = max(15.0, settings.database_timeout + settings.read_wait_timeout + 5)
    app.add_middleware(
        IdempotencyMiddleware, pool=pool, takeover=takeover, ledger_kept=routes_stock.LEDGER_KEPT
    )
    app.add_middleware(PrincipalCacheMiddleware, cache=principals)
    app.add_middleware(RequestMiddleware, metrics=metrics, access_log=settings.access_log)
    # Matched in this order, one route after another: the hot paths first (GET /inventory was the
    # 45th of 79 routes, and matching the 44 before it cost a cached page a quarter of its time),
    # and ahead of the docs' and the page's routes and mounts, which none of them shadows.
    ordered = (*HOT, *(m for m in ROUTERS if m not in HOT))
    _add_routes(app, [route for module in ordered for route in module.router.routes])
    fast_path.install(app)  # POST /transactions' common case without FastAPI's handler
    return app


def _add_routes(app: FastAPI, routes: list[BaseRoute]) -> None:
    # The routers' own routes on the app's router, as the app's `@app.get` routes are, rather than
    # include_router(): FastAPI 0.165 matches an included router twice per request and recounts its
    # routes' version each time, which was a fifth of GET /health's time in-process (49 -> 36 us,
    # the bare app's 30). Our routers have no prefix, dependencies or other inclusion settings, and
    # their tags are set on each route when it is made, so nothing else changes (the OpenAPI
    # document is the same; tests/api/test_routes_flat.py).
    app.router.routes[:0] = routes


def _api_pool(settings: Settings, url: str) -> WatchedPool:
    # Autocommit: a request's writes are explicit transactions, committed before the response is sent.
    # Bounded holds: a database that stops answering costs a request at most `database_timeout` (then 503).
    return WatchedPool(
        api_conninfo(url, settings.database_timeout),
        hold_timeout=settings.database_timeout,
        min_size=2,
        max_size=settings.pool_size,
        kwargs={"autocommit": True},
        timeout=settings.pool_timeout,
        open=False,
    )


def _committer(ledger: PostgresLedger, settings: Settings, url: str) -> Committers | None:
    """The group committers of this process, on connections of their own with the pool's bounds."""
    if settings.committers == 0:
        return None
    conninfo = committer_conninfo(api_conninfo(url, settings.database_timeout))
    return Committers(
        lambda: psycopg.connect(conninfo, autocommit=True),
        ledger,
        count=settings.committers,
        linger=settings.committer_linger,
    )


def committer_conninfo(conninfo: str) -> str:
    """A committer's connection: the API's, its prepared statements always on their generic plans.

    Once `ledger_idempotency` holds a day's keys, the ledger's read-and-lock statement (context.py)
    was planned anew for every batch under the default plan_cache_mode: each custom plan, its arrays
    known (no key, mostly), looks cheaper than the generic one, which assumes ten keys to look up, so
    PostgreSQL never switched (pg_prepared_statements: 0 generic plans in 35, against 30 in a fresh
    database). A committer runs only the ledger's own statements, lookups by key whose generic plans
    are the same index scans: one worker, no projectors, 1 connection, 300,000 kept keys, 6
    interleaved rounds: PostgreSQL CPU 1.24 -> 0.79 ms a command, keyed 1.39 -> 0.89.
    """
    given = str(conninfo_to_dict(conninfo).get("options") or "")
    return make_conninfo(conninfo, options=f"{given} -c plan_cache_mode=force_generic_plan".strip())


def _lifespan(
    pool: WatchedPool, read_pool: WatchedPool | None, settings: Settings, database_url: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the pool and start the projectors on the first start; stop both when the last one ends."""
    running = 0  # lifespans entered and not yet left: an app served by two clients starts once

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal running
        if running == 0:
            pool.open(wait=True, timeout=30)
            if read_pool is not None:
                # Not waited for: the API starts without its replica, and the reads answer 503 meanwhile.
                read_pool.open(wait=False)
            app.state.projectors = InProcessProjectors(settings, database_url)
            app.state.projectors.start()
            app.state.committer = _committer(app.state.ledger, settings, database_url)
            app.state.deadlines = Deadlines(asyncio.get_running_loop(), settings.database_timeout)
            app.state.pruner = IdempotencyPruner(
                database_url, settings.idempotency_retention, settings.idempotency_prune_interval
            )
            app.state.pruner.start()
            app.state.page_cache.start()
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
                app.state.page_cache.stop()
                app.state.deadlines.close()
                app.state.deadlines = None
                if app.state.committer is not None:
                    # The queued commands run first; only a database that stopped answering fails them.
                    app.state.committer.close(timeout=settings.database_timeout)
                    app.state.committer = None
                pool.close()
                if read_pool is not None:
                    read_pool.close()

    return lifespan
