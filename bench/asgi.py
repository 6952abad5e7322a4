"""An app factory for `uvicorn --factory bench.asgi:create --workers N` (settings from the environment).

`abparts serve` runs one process with no --workers option; this runs the same
app (api.http.app.create_app) in N worker processes. The database must already be
migrated (bench/service.py bootstraps it, which migrates).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.http.app import create_app
from api.runtime.logs import configure
from api.runtime.settings import Settings


def create() -> FastAPI:
    """The service's app for DATABASE_URL, with the service's own logging set-up."""
    settings = Settings()
    if settings.database_url is None:
        raise RuntimeError("bench.asgi needs DATABASE_URL")
    configure(json_lines=settings.log_json)
    return create_app(settings, settings.database_url)
