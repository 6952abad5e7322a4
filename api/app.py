"""The FastAPI application factory: wiring of settings, the connection pool and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from api import routes_health
from api.projectors import InProcessProjectors
from api.settings import Settings


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """Build the HTTP app for an already migrated database at `database_url`."""
    pool = ConnectionPool(database_url, min_size=1, max_size=16, open=False)
    projectors = InProcessProjectors(settings, database_url) if settings.run_projectors else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        if projectors is not None:
            projectors.start()
        try:
            yield
        finally:
            if projectors is not None:
                projectors.stop()
            pool.close()

    app = FastAPI(title="ABParts Ledger", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.state.projectors = projectors
    app.include_router(routes_health.router)
    return app
