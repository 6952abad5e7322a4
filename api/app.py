"""The FastAPI application factory: wiring of settings, the connection pool and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from api import routes_health
from api.settings import Settings


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """Build the HTTP app for an already migrated database at `database_url`."""
    pool = ConnectionPool(database_url, min_size=1, max_size=16, open=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="ABParts Ledger", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.include_router(routes_health.router)
    return app
